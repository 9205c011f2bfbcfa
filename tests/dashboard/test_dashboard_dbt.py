"""The dashboard on marts built by the real dbt project: same columns, same numbers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from flask.testing import FlaskClient
from known_marts import MART_COLUMNS, write_known_marts

from dashboard import MARTS_EXTENSION, create_app
from dashboard.mapshapes import state_names
from election.settings import Settings
from warehouse.duckdb_target import published_path

pytestmark = pytest.mark.slow

ELECTIONS = ["us2020-r10000", "us2024-r10000"]


def _columns(path: Path) -> dict[str, list[tuple[str, str]]]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'analytics' order by table_name, ordinal_position"
        ).fetchall()
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        columns.setdefault(table, []).append((column, data_type))
    return columns


def _marts(settings: Settings, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    path = published_path(settings.warehouse_path)
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def dbt_client(dbt_settings: Settings) -> Iterator[FlaskClient]:
    """A test client of the dashboard on the real dbt build."""
    app = create_app(dbt_settings, {"TESTING": True})
    yield app.test_client()
    app.extensions[MARTS_EXTENSION].close()


def test_known_marts_have_the_columns_of_the_dbt_marts(
    dbt_marts_file: Path, tmp_path: Path
) -> None:
    built = _columns(dbt_marts_file)
    known = _columns(write_known_marts(tmp_path / "known.duckdb"))

    assert set(known) == set(MART_COLUMNS)
    for table in MART_COLUMNS:
        assert known[table] == built[table], table


@pytest.mark.parametrize("election_id", ELECTIONS)
def test_national_feed_equals_the_marts(
    dbt_client: FlaskClient, dbt_settings: Settings, election_id: str
) -> None:
    body = dbt_client.get(f"/api/national?election={election_id}").get_json()
    college = dict(
        _marts(
            dbt_settings,
            "select party, electoral_votes from analytics.electoral_college "
            "where election_id = ?",
            [election_id],
        )
    )
    dem, rep, oth, total, voted = _marts(
        dbt_settings,
        "select dem_votes, rep_votes, oth_votes, total_votes, voted "
        "from analytics.national_summary where election_id = ?",
        [election_id],
    )[0]

    shown = {p["party"]: p["electoral_votes"] for p in body["electoral"]["parties"]}
    assert shown | {"UNASSIGNED": body["electoral"]["unassigned"]} == college
    assert [p["votes"] for p in body["popular"]["parties"]] == [dem, rep, oth]
    assert body["popular"]["total"] == total
    assert body["turnout"]["voted"] == voted


@pytest.mark.parametrize("election_id", ELECTIONS)
def test_every_state_of_the_map_has_a_unit_and_a_turnout_row(
    dbt_client: FlaskClient, election_id: str
) -> None:
    body = dbt_client.get(f"/api/national?election={election_id}").get_json()

    statewide = {u["unit"] for u in body["units"] if u["district"] is None}
    districts = {u["unit"] for u in body["units"] if u["district"] is not None}
    assert statewide == set(state_names())
    assert districts == {"ME-1", "ME-2", "NE-1", "NE-2", "NE-3"}
    assert {s["code"] for s in body["states"]} == set(state_names())
    assert sum(u["electoral_votes"] for u in body["units"]) == 538


@pytest.mark.parametrize("by", ["synced", "cast"])
def test_timeline_ends_at_the_national_total(
    dbt_client: FlaskClient, dbt_settings: Settings, by: str
) -> None:
    body = dbt_client.get(f"/api/timeline?election=us2024-r10000&by={by}").get_json()
    total = _marts(
        dbt_settings,
        "select total_votes from analytics.national_summary where election_id = ?",
        ["us2024-r10000"],
    )[0][0]

    assert body["points"][-1]["total"] == total
    assert len(body["points"]) > 5


def test_default_election_is_the_one_synced_last(dbt_client: FlaskClient) -> None:
    assert dbt_client.get("/api/elections").get_json()["default"] == "us2024-r10000"
