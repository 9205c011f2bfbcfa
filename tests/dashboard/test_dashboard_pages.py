"""The HTML pages: what they embed, the friendly empty page, and nothing from a CDN."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from known_marts import ELECTION_2020, ELECTION_2024

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "dashboard"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
URL = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)


def _initial_data(html: str) -> Any:
    match = re.search(
        r'<script type="application/json" id="initial-data">(.*?)</script>',
        html,
        re.DOTALL,
    )
    assert match, "the page embeds no initial data"
    return json.loads(match.group(1))


class TestNationalPage:
    def test_national_page_embeds_the_newest_election_and_its_timelines(
        self, client: FlaskClient
    ) -> None:
        response = client.get("/")
        data = _initial_data(response.get_data(as_text=True))

        assert response.status_code == 200
        assert data["national"]["election"]["id"] == ELECTION_2020.election_id
        assert set(data["timelines"]) == {"synced", "cast"}

    def test_national_page_draws_every_state_and_district_box(
        self, client: FlaskClient
    ) -> None:
        html = client.get("/").get_data(as_text=True)

        assert len(re.findall(r'<path class="unit party-none" data-unit="', html)) == 51
        for unit in ("ME-1", "ME-2", "NE-1", "NE-2", "NE-3", "DC", "RI"):
            assert f'data-unit="{unit}"' in html

    def test_election_picker_lists_every_election_with_the_shown_one_selected(
        self, client: FlaskClient
    ) -> None:
        html = client.get(f"/?election={ELECTION_2024.election_id}").get_data(
            as_text=True
        )

        selected = re.findall(r'<option value="([^"]+)" selected', html)
        assert selected == [ELECTION_2024.election_id]
        assert f'<option value="{ELECTION_2020.election_id}"' in html

    def test_page_polls_every_few_seconds_by_default(self, client: FlaskClient) -> None:
        html = client.get("/").get_data(as_text=True)

        assert 'data-refresh-ms="5000"' in html
        assert 'data-feed-national="/api/national"' in html


class TestStatePage:
    def test_state_page_embeds_the_state_and_links_back(
        self, client: FlaskClient
    ) -> None:
        response = client.get("/state/ME")
        html = response.get_data(as_text=True)

        assert response.status_code == 200
        assert _initial_data(html)["state"]["state"]["code"] == "ME"
        assert "Maine" in html
        assert f'href="/?election={ELECTION_2020.election_id}"' in html

    def test_unknown_state_page_is_an_html_404(self, client: FlaskClient) -> None:
        response = client.get("/state/XX")

        assert response.status_code == 404
        assert response.mimetype == "text/html"
        assert "no state &#39;XX&#39;" in response.get_data(as_text=True)


class TestNoResultsYet:
    @pytest.mark.parametrize("url", ["/", "/state/PA"])
    def test_pages_before_anything_is_published_say_run_make_demo(
        self, empty_client: FlaskClient, url: str
    ) -> None:
        response = empty_client.get(url)
        html = response.get_data(as_text=True)

        assert response.status_code == 200
        assert "No results yet" in html
        assert "make demo" in html


class TestOffline:
    @pytest.mark.parametrize(
        "path",
        sorted(
            p.relative_to(DASHBOARD_DIR).as_posix()
            for p in DASHBOARD_DIR.rglob("*")
            if p.suffix in {".html", ".js", ".css", ".svg"}
        ),
    )
    def test_no_template_or_static_file_names_another_host(self, path: str) -> None:
        text = (DASHBOARD_DIR / path).read_text().replace(SVG_NAMESPACE, "")

        assert URL.findall(text) == []

    def test_every_page_asset_is_served_by_the_dashboard(
        self, client: FlaskClient
    ) -> None:
        html = client.get("/").get_data(as_text=True)
        assets = re.findall(r'(?:<script[^>]*src|<link[^>]*href)="([^"]+)"', html)

        assert {Path(asset).name for asset in assets} == {
            "favicon.svg",
            "dashboard.css",
            "dashboard.js",
        }
        for asset in assets:
            assert asset.startswith("/"), asset
            assert client.get(asset).status_code == 200, asset
