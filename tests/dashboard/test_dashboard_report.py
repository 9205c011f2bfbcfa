"""The static report of a finished run: one file, nothing fetched, the marts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from known_marts import ELECTION_2020, ELECTION_2024

from dashboard.exceptions import NoResultsYet, UnknownElection
from dashboard.report import write_report
from election.settings import Settings

SVG_NAMESPACE = "http://www.w3.org/2000/svg"


@pytest.fixture
def report(known_settings: Settings, tmp_path: Path) -> str:
    """The report of the known 2024 election, as written to disk."""
    path = write_report(
        known_settings, ELECTION_2024.election_id, tmp_path / "out" / "report.html"
    )
    return path.read_text()


class TestWriteReport:
    def test_report_is_written_where_asked_and_its_path_returned(
        self, known_settings: Settings, tmp_path: Path
    ) -> None:
        target = tmp_path / "runs" / "report.html"

        path = write_report(known_settings, ELECTION_2020.election_id, target)

        assert path == target.resolve()
        assert path.stat().st_size > 50_000
        assert [p.name for p in path.parent.iterdir()] == ["report.html"]

    def test_report_inlines_its_styles_script_and_map(self, report: str) -> None:
        assert "<style>" in report
        assert "function renderNational" in report
        assert report.count('<path class="unit party-none" data-unit="') == 51
        assert not re.search(r"<script[^>]+src=", report)
        assert not re.search(r"<link[^>]+stylesheet", report)

    def test_report_names_no_other_host(self, report: str) -> None:
        text = report.replace(SVG_NAMESPACE, "")

        assert not re.search(r"https?://", text)

    def test_report_embeds_the_asked_election_and_does_not_refresh(
        self, report: str
    ) -> None:
        match = re.search(r'id="initial-data">(.*?)</script>', report, re.DOTALL)
        assert match
        data = json.loads(match.group(1))

        assert data["national"]["election"]["id"] == ELECTION_2024.election_id
        assert data["national"]["popular"]["total"] == ELECTION_2024.total_votes
        assert 'data-refresh-ms="0"' in report
        assert "/state/" not in report

    def test_unknown_election_raises(
        self, known_settings: Settings, tmp_path: Path
    ) -> None:
        with pytest.raises(UnknownElection, match="us1860"):
            write_report(known_settings, "us1860-r1", tmp_path / "r.html")

    def test_nothing_published_raises_no_results_yet(
        self, empty_settings: Settings, tmp_path: Path
    ) -> None:
        with pytest.raises(NoResultsYet):
            write_report(empty_settings, "us2020-r10000", tmp_path / "r.html")
