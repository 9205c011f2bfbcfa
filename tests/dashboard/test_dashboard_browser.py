"""The dashboard in headless Chromium: it loads cleanly, shows the marts, draws the map.

Runs Debian's Chromium through Playwright, against `python -m dashboard` serving
a warehouse built by the real dbt project. Set ELECTION_UPDATE_DOCS_SCREENSHOT=1
to copy the national page's screenshot to docs/dashboard.png.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest
from dashboard_harness import WatchedPage, publish_file, serve_dashboard, settings_for

from dashboard.report import write_report
from election.settings import PROJECT_ROOT, Settings
from warehouse.duckdb_target import published_path

if TYPE_CHECKING:
    from playwright.sync_api import FloatRect

pytestmark = pytest.mark.slow

DEM_BLUE = "rgb(33, 102, 172)"
"""#2166ac, the fill of a state the Democratic candidate carried."""
REP_RED = "rgb(198, 40, 40)"
"""#c62828, the fill of a state the Republican candidate carried."""
NO_DATA_GREY = "rgb(227, 230, 234)"
"""#e3e6ea, the fill of a state without ballots."""
DOCS_SCREENSHOT = PROJECT_ROOT / "docs" / "dashboard.png"
NEWEST = "us2024-r10000"
SYNTHETIC = "us2020-r10000"

Serve = Callable[..., AbstractContextManager[str]]


@pytest.fixture(scope="module")
def server(
    dbt_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`python -m dashboard` on the real dbt build; yields its address."""
    log = tmp_path_factory.mktemp("dashboard_server") / "dashboard.log"
    with serve_dashboard(dbt_settings, refresh_s=2.0, log=log) as url:
        yield url


def _marts(settings: Settings, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    path = published_path(settings.warehouse_path)
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def _number(text: str) -> int:
    return int(text.replace(",", "").strip())


def _fill(watched: WatchedPage, selector: str) -> str:
    return str(
        watched.page.eval_on_selector(selector, "node => getComputedStyle(node).fill")
    )


def _assert_clean(watched: WatchedPage, *origins: str) -> None:
    assert watched.errors == [], "console errors"
    assert watched.foreign_requests(*origins) == [], "requests off the machine"


class TestNationalPage:
    def test_page_loads_without_console_errors_and_shows_the_marts(
        self,
        server: str,
        dbt_settings: Settings,
        watched_page: WatchedPage,
        tmp_path: Path,
    ) -> None:
        page = watched_page.open(f"{server}/")
        page.wait_for_timeout(700)  # the bars' widths ease in
        screenshot = tmp_path / "national.png"
        page.screenshot(path=screenshot, full_page=True)
        if os.environ.get("ELECTION_UPDATE_DOCS_SCREENSHOT") == "1":
            DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=DOCS_SCREENSHOT, full_page=True, clip=_docs_clip())

        college = dict(
            _marts(
                dbt_settings,
                "select party, electoral_votes from analytics.electoral_college "
                "where election_id = ?",
                [NEWEST],
            )
        )
        dem, rep, oth, total = _marts(
            dbt_settings,
            "select dem_votes, rep_votes, oth_votes, total_votes "
            "from analytics.national_summary where election_id = ?",
            [NEWEST],
        )[0]
        shown = {
            name: _number(page.inner_text(f"#{name}"))
            for name in ("ev-DEM", "ev-REP", "pv-DEM", "pv-REP", "pv-OTH", "pv-total")
        }
        assert shown == {
            "ev-DEM": college["DEM"],
            "ev-REP": college["REP"],
            "pv-DEM": dem,
            "pv-REP": rep,
            "pv-OTH": oth,
            "pv-total": total,
        }
        assert screenshot.stat().st_size > 50_000
        _assert_clean(watched_page, server)

    def test_map_draws_every_state_in_its_winners_colour(
        self, server: str, dbt_settings: Settings, watched_page: WatchedPage
    ) -> None:
        page = watched_page.open(f"{server}/")
        winners = dict(
            _marts(
                dbt_settings,
                "select unit_code, winner_party from analytics.state_winners "
                "where election_id = ?",
                [NEWEST],
            )
        )

        assert page.locator("#us-map path[data-unit]").count() == 51
        assert page.locator("#us-map [data-winner='none']").count() == 0
        assert (winners["CA"], winners["TX"]) == ("DEM", "REP")
        assert _fill(watched_page, "#us-map path[data-unit='CA']") == DEM_BLUE
        assert _fill(watched_page, "#us-map path[data-unit='TX']") == REP_RED
        for unit, party in winners.items():
            drawn = page.get_attribute(f"#us-map [data-unit='{unit}']", "data-winner")
            assert drawn == party.lower(), unit
        assert page.locator("#timeline polyline").count() == 3
        _assert_clean(watched_page, server)

    def test_tie_districts_and_empty_states_show_on_the_map(
        self, server: str, watched_page: WatchedPage
    ) -> None:
        watched_page.open(f"{server}/")
        page = watched_page.page
        page.select_option("#election-picker", SYNTHETIC)
        page.wait_for_url(f"**/?election={SYNTHETIC}")
        page.wait_for_selector("body[data-rendered='true']")

        assert "tie-stripes" in _fill(watched_page, "#us-map [data-unit='GA']")
        assert _fill(watched_page, "#us-map [data-unit='OH']") == NO_DATA_GREY
        districts = {
            unit: _fill(watched_page, f"#us-map rect[data-unit='{unit}']")
            for unit in ("ME-1", "ME-2", "NE-1", "NE-2", "NE-3")
        }
        assert districts == {
            "ME-1": DEM_BLUE,
            "ME-2": REP_RED,
            "NE-1": REP_RED,
            "NE-2": DEM_BLUE,
            "NE-3": REP_RED,
        }
        assert page.inner_text("#ev-unassigned") == "436"
        _assert_clean(watched_page, server)

    def test_clicking_a_state_opens_its_page(
        self, server: str, watched_page: WatchedPage
    ) -> None:
        page = watched_page.open(f"{server}/")

        page.click("#us-map path[data-unit='CO']")
        page.wait_for_url(f"**/state/CO?election={NEWEST}")
        page.wait_for_selector("body[data-rendered='true']")

        assert "Colorado" in page.inner_text("#headline")
        _assert_clean(watched_page, server)


class TestStatePage:
    def test_state_page_shows_candidates_and_districts_of_the_marts(
        self, server: str, dbt_settings: Settings, watched_page: WatchedPage
    ) -> None:
        page = watched_page.open(f"{server}/state/NE?election={SYNTHETIC}")
        votes = dict(
            _marts(
                dbt_settings,
                "select party, votes from analytics.election_results "
                "where election_id = ? and state = 'NE'",
                [SYNTHETIC],
            )
        )

        rows = page.locator("#candidates tbody tr")
        shown = {
            rows.nth(i).get_attribute("data-party"): _number(
                rows.nth(i).locator("td").nth(2).inner_text()
            )
            for i in range(rows.count())
        }
        assert shown == votes
        assert page.locator("#units-table tbody tr").count() == 4
        assert _fill(watched_page, ".state-shape path") == REP_RED
        _assert_clean(watched_page, server)


class TestLive:
    def test_page_refreshes_itself_when_a_new_build_is_published(
        self,
        serve: Serve,
        dbt_marts_file: Path,
        watched_page: WatchedPage,
        tmp_path: Path,
    ) -> None:
        settings = settings_for(tmp_path / "live")
        publish_file(dbt_marts_file, settings)
        with serve(settings, refresh_s=0.5) as url:
            page = watched_page.open(f"{url}/")
            page.evaluate("window.stillTheSamePage = true")
            before = _number(page.inner_text("#pv-total"))

            # a dbt run publishes a build with 500 more Democratic ballots
            with duckdb.connect(str(settings.warehouse_path)) as con:
                con.execute(
                    "update analytics.national_summary set "
                    "dem_votes = dem_votes + 500, total_votes = total_votes + 500 "
                    "where election_id = ?",
                    [NEWEST],
                )
            publish_file(settings.warehouse_path, settings)

            page.wait_for_function(
                f"document.getElementById('pv-total').textContent"
                f".replace(/,/g, '') === '{before + 500}'",
                timeout=15_000,
            )
            assert page.evaluate("window.stillTheSamePage") is True
            _assert_clean(watched_page, url)

    def test_page_before_any_build_says_no_results_yet(
        self, serve: Serve, watched_page: WatchedPage, tmp_path: Path
    ) -> None:
        with serve(settings_for(tmp_path / "empty")) as url:
            watched_page.page.goto(f"{url}/")

            assert "No results yet" in watched_page.page.inner_text("#no-results")
            _assert_clean(watched_page, url)


class TestReport:
    def test_report_opens_from_disk_and_draws_without_any_request_out(
        self, dbt_settings: Settings, watched_page: WatchedPage, tmp_path: Path
    ) -> None:
        path = write_report(dbt_settings, NEWEST, tmp_path / "report.html")

        page = watched_page.open(path.as_uri())
        page.screenshot(path=tmp_path / "report.png", full_page=True)

        college = dict(
            _marts(
                dbt_settings,
                "select party, electoral_votes from analytics.electoral_college "
                "where election_id = ?",
                [NEWEST],
            )
        )
        assert _number(page.inner_text("#ev-DEM")) == college["DEM"]
        assert _number(page.inner_text("#ev-REP")) == college["REP"]
        assert _fill(watched_page, "#us-map path[data-unit='CA']") == DEM_BLUE
        assert page.locator("#timeline polyline").count() == 3
        assert watched_page.requests == [path.as_uri()]
        _assert_clean(watched_page, "file://")


def _docs_clip() -> FloatRect:
    """The part of the national page the README shows: tally, map, popular vote."""
    return {"x": 0, "y": 0, "width": 1360, "height": 930}
