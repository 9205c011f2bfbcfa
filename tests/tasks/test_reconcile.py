"""Reconciliation of the real staging database with a real DuckDB warehouse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import duckdb
import psycopg
import pytest

from election.contracts import RegistrationEvent, VoteEvent
from election.settings import Settings
from tasks.ingest import Positioned, write_registrations, write_votes
from tasks.reconcile import TableDifference, reconcile_tables
from tasks.sync import sync_tables
from warehouse.duckdb_target import DuckDBWarehouse
from warehouse.tables import RAW_TABLES, VOTERS

pytestmark = pytest.mark.slow

MakeRegistration = Callable[..., RegistrationEvent]
MakeVote = Callable[..., VoteEvent]


def by_table(differences: list[TableDifference]) -> dict[str, TableDifference]:
    return {d.table: d for d in differences}


@pytest.fixture
def synced(
    postgres: Settings,
    db: psycopg.Connection,
    registration: MakeRegistration,
    vote: MakeVote,
    tmp_path: Path,
) -> tuple[Path, list[RegistrationEvent]]:
    """Five voters and their votes, written and synced into a DuckDB file."""
    voters = [registration() for _ in range(5)]
    with db.transaction():
        write_registrations(db, [Positioned(v) for v in voters])
        write_votes(db, [Positioned(vote(v)) for v in voters])
    path = tmp_path / "warehouse.duckdb"
    warehouse = DuckDBWarehouse(path)
    sync_tables(postgres, warehouse, RAW_TABLES, tmp_path)
    warehouse.close()
    return path, voters


def reconcile(settings: Settings, path: Path) -> dict[str, TableDifference]:
    warehouse = DuckDBWarehouse(path)
    try:
        return by_table(reconcile_tables(settings, warehouse, RAW_TABLES))
    finally:
        warehouse.close()


def test_a_fresh_sync_reconciles_equal(
    postgres: Settings, synced: tuple[Path, list[RegistrationEvent]]
) -> None:
    path, _ = synced

    differences = reconcile(postgres, path)

    assert all(d.equal for d in differences.values())
    assert differences["voters"].source_rows == 5
    assert differences["votes"].target_rows == 5


def test_a_row_lost_from_the_warehouse_is_reported_missing(
    postgres: Settings, synced: tuple[Path, list[RegistrationEvent]]
) -> None:
    path, voters = synced
    lost = str(voters[0].voter_id)
    with duckdb.connect(str(path)) as conn:
        conn.execute("delete from raw.voters where voter_id = ?", [lost])

    voters_diff = reconcile(postgres, path)["voters"]

    assert not voters_diff.equal
    assert (voters_diff.missing, voters_diff.extra, voters_diff.stale) == (1, 0, 0)
    assert voters_diff.examples == (lost,)
    assert "--full-refresh --table voters" in voters_diff.describe()


def test_a_change_not_yet_synced_is_pending_not_different(
    postgres: Settings,
    db: psycopg.Connection,
    registration: MakeRegistration,
    synced: tuple[Path, list[RegistrationEvent]],
) -> None:
    path, voters = synced
    moved = registration(
        voter_id=voters[1].voter_id,
        action="update",
        occurred_at=voters[1].occurred_at + timedelta(days=1),
        last_name="Moved",
    )
    with db.transaction():
        write_registrations(db, [Positioned(moved)])

    voters_diff = reconcile(postgres, path)["voters"]

    assert voters_diff.equal
    assert voters_diff.pending == 1


def test_a_stale_version_in_the_warehouse_is_reported(
    postgres: Settings, synced: tuple[Path, list[RegistrationEvent]]
) -> None:
    path, voters = synced
    with duckdb.connect(str(path)) as conn:
        conn.execute(
            "update raw.voters set updated_at = updated_at - interval 1 second "
            "where voter_id = ?",
            [str(voters[2].voter_id)],
        )

    voters_diff = reconcile(postgres, path)[VOTERS.name]

    assert voters_diff.stale == 1
    assert not voters_diff.equal
