"""The watermark sync from the real staging database into fakesnow, end to end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from election.contracts import RegistrationEvent, VoteEvent
from election.settings import Settings
from tasks.reconcile import reconcile_tables
from tasks.sync import SyncResult, sync_tables
from warehouse import open_warehouse
from warehouse.duckdb_target import DuckDBWarehouse
from warehouse.snowflake_target import SnowflakeWarehouse
from warehouse.tables import RAW_TABLES, VOTES, RawTable

pytestmark = pytest.mark.slow

MakeRegistration = Callable[..., RegistrationEvent]
MakeVote = Callable[..., VoteEvent]
RunSync = Callable[[], SyncResult]


@pytest.fixture
def sync_settings(
    postgres: Settings, emulator: Callable[[], dict[str, Any]]
) -> Settings:
    """The session's settings with the Snowflake target on a new fakesnow database."""
    return postgres.model_copy(update=emulator())


@pytest.fixture
def run_sync(sync_settings: Settings, tmp_path: Path) -> RunSync:
    """Runs one sync of every table into the fakesnow database of `sync_settings`."""

    def run() -> SyncResult:
        target = SnowflakeWarehouse.from_settings(sync_settings, credentials_block=None)
        try:
            return sync_tables(sync_settings, target, RAW_TABLES, tmp_path)
        finally:
            target.close()

    return run


def snowflake_rows(settings: Settings, table: RawTable) -> list[tuple[Any, ...]]:
    """Rows of a raw table but `_synced_at`, by key, with NULL timestamps as None.

    NOTE: fakesnow's server sends a NULL timestamp to the client as 1970-01-01
    (it drops the null mask when it encodes timestamps for the connector), though
    the table holds NULL; `is null` tells the two apart.
    """
    items = [
        f"{c.name}, {c.name} is null" if c.type == "timestamptz" else c.name
        for c in table.columns
    ]
    target = SnowflakeWarehouse.from_settings(settings, credentials_block=None)
    try:
        with target.conn.cursor() as cursor:
            fetched = cursor.execute(
                f"select {', '.join(items)} from raw.{table.name} order by {table.key}"
            ).fetchall()
    finally:
        target.close()

    rows = []
    for row in fetched:
        values = list(row)
        cleaned = []
        for column in table.columns:
            value = values.pop(0)
            if column.type == "timestamptz" and values.pop(0):
                value = None
            cleaned.append(value)
        rows.append(tuple(cleaned))
    return rows


def test_sync_lands_the_same_rows_as_the_duckdb_warehouse(
    db: psycopg.Connection,
    registration: MakeRegistration,
    vote: MakeVote,
    run_sync: RunSync,
    sync_settings: Settings,
    tmp_path: Path,
    write_events: Callable[..., None],
) -> None:
    voters = [registration(), registration(state="NE", district=2), registration()]
    write_events(*voters)
    cast_at = datetime(2020, 11, 3, 23, 59, 59, 999_999, tzinfo=UTC)
    write_events(vote(voters[0]), vote(voters[1], "rep", cast_at=cast_at))

    result = run_sync()
    duckdb_file = tmp_path / "reference" / "warehouse.duckdb"
    duckdb_file.parent.mkdir()
    reference = DuckDBWarehouse(duckdb_file)
    try:
        sync_tables(sync_settings, reference, RAW_TABLES, duckdb_file.parent)
        expected = {
            table.name: reference.conn.execute(
                f"select * exclude (_synced_at) from raw.{table.name} "
                f"order by {table.key}"
            ).fetchall()
            for table in RAW_TABLES
        }
    finally:
        reference.close()

    assert result.rows == {"elections": 1, "candidates": 3, "voters": 3, "votes": 2}
    for table in RAW_TABLES:
        assert snowflake_rows(sync_settings, table) == expected[table.name], table.name


def test_rerun_moves_nothing_and_new_rows_move_alone(
    db: psycopg.Connection,
    registration: MakeRegistration,
    vote: MakeVote,
    run_sync: RunSync,
    sync_settings: Settings,
    write_events: Callable[..., None],
) -> None:
    voters = [registration() for _ in range(3)]
    write_events(*voters)
    write_events(*(vote(v) for v in voters[:2]))

    first = run_sync()
    rerun = run_sync()
    write_events(vote(voters[2]))
    after_new_vote = run_sync()

    assert first.total == 9
    assert rerun.total == 0
    assert after_new_vote.rows == {
        "elections": 0,
        "candidates": 0,
        "voters": 0,
        "votes": 1,
    }
    assert len(snowflake_rows(sync_settings, VOTES)) == 3
    assert rerun.previous == {table.name: first.watermark for table in RAW_TABLES}


def test_open_warehouse_gives_the_snowflake_target_of_the_settings(
    db: psycopg.Connection,
    registration: MakeRegistration,
    sync_settings: Settings,
    tmp_path: Path,
    write_events: Callable[..., None],
) -> None:
    write_events(registration(), registration())

    with open_warehouse(sync_settings) as target:
        result = sync_tables(sync_settings, target, RAW_TABLES, tmp_path)
        counts = target.counts(RAW_TABLES)

    assert target.name == "snowflake"
    assert result.rows["voters"] == 2
    assert counts == {"elections": 1, "candidates": 3, "voters": 2, "votes": 0}


def test_reconciliation_finds_snowflake_equal_after_a_sync(
    sync_settings: Settings,
    db: psycopg.Connection,
    registration: MakeRegistration,
    vote: MakeVote,
    run_sync: RunSync,
    write_events: Callable[..., None],
) -> None:
    voters = [registration() for _ in range(3)]
    write_events(*voters)
    write_events(*(vote(v) for v in voters))
    run_sync()

    target = SnowflakeWarehouse.from_settings(sync_settings, credentials_block=None)
    try:
        differences = reconcile_tables(sync_settings, target, RAW_TABLES)
    finally:
        target.close()

    assert [(d.table, d.equal) for d in differences] == [
        (table.name, True) for table in RAW_TABLES
    ]
    assert differences[-1].target_rows == 3
