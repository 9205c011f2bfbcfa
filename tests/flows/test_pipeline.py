"""The main job end to end, on the real stack of the test session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psycopg
import pytest

from election.settings import Settings
from flows.pipeline import run_election
from warehouse.duckdb_target import published_path

pytestmark = pytest.mark.slow

OFFICIAL_2020 = {"DEM": 306, "REP": 232, "OTH": 0}
SPLIT_UNITS_2020 = {
    "ME": "DEM",
    "ME-1": "DEM",
    "ME-2": "REP",
    "NE": "REP",
    "NE-1": "REP",
    "NE-2": "DEM",
    "NE-3": "REP",
}


@pytest.fixture(scope="module")
def first_and_second_run(stack: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The 2020 election at 1:100,000 run twice through the whole pipeline."""
    first = run_election(scenario=2020, ratio=100_000)
    second = run_election(scenario=2020, ratio=100_000)
    return first, second


def test_2020_gives_the_official_electoral_college(
    first_and_second_run: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    first, _ = first_and_second_run

    assert first["electoral_votes"] == OFFICIAL_2020
    assert first["winner"] == "DEM"
    assert first["winners_differing_from_official"] == []
    assert {unit: first["winners"][unit] for unit in SPLIT_UNITS_2020} == (
        SPLIT_UNITS_2020
    )
    assert len(first["winners"]) == 56


def test_every_stage_counts_every_event_once(
    first_and_second_run: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    first, _ = first_and_second_run
    expected = first["expected"]

    for kind, stages in first["counts"].items():
        assert set(stages.values()) == {expected[kind]}, (kind, stages)
    assert expected["registrations"] > 2_000
    assert expected["votes"] > 1_500


def test_a_second_run_changes_nothing(
    stack: Settings,
    first_and_second_run: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    first, second = first_and_second_run

    assert second["counts"] == first["counts"]
    assert second["winners"] == first["winners"]
    assert second["turnout"] == first["turnout"]
    election = first["election_id"]
    with psycopg.connect(stack.postgres_dsn) as conn:
        held = conn.execute(
            "select count(*) from held_events where payload like %s",
            (f"%{election}%",),
        ).fetchone()[0]
        voters = conn.execute(
            "select count(*) from voters where election_id = %s", (election,)
        ).fetchone()[0]
    assert held == 0
    assert voters == first["expected"]["registrations"]


def test_the_marts_are_published_for_readers(
    stack: Settings,
    first_and_second_run: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    assert published_path(stack.warehouse_path).exists()


def test_the_run_leaves_the_warehouse_file_closed(
    stack: Settings,
    first_and_second_run: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    # NOTE: a process holding the file keeps the sync of a worker's flow runs
    # out, and DuckDB cannot tell it: copying the file to publish it drops the
    # process's lock on it, so their commits fail instead of their connects.
    warehouse = str(stack.warehouse_path)
    held = [
        target
        for fd in Path("/proc/self/fd").iterdir()
        if (target := _target(fd)).startswith(warehouse)
    ]

    assert held == []


def _target(fd: Path) -> str:
    try:
        return str(fd.readlink())
    except OSError:
        return ""


def test_the_run_leaves_a_static_report(
    first_and_second_run: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    first, _ = first_and_second_run
    report = Path(urlparse(first["report"]).path)

    assert report.exists()
    assert "Joseph R. Biden Jr." in report.read_text()


def test_the_dbt_build_leaves_the_national_results(
    first_and_second_run: tuple[dict[str, Any], dict[str, Any]],
    read_table_artifact: Callable[[str], list[dict[str, Any]]],
) -> None:
    rows = read_table_artifact("national-results")
    (row,) = [r for r in rows if r["election"] == "us2020-r100000"]
    assert row["winner"] == "DEM"
    assert row["DEM electoral votes"] == OFFICIAL_2020["DEM"]
    assert row["REP electoral votes"] == OFFICIAL_2020["REP"]
