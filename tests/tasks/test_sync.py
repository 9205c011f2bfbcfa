"""The watermark sync from the real staging database into a real DuckDB file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg
import pytest

import tasks.sync
from election.contracts import RegistrationEvent, VoteEvent
from election.settings import Settings
from tasks.ingest import Positioned, write_registrations, write_votes
from tasks.sync import SyncResult, sync_tables
from warehouse.base import Extract
from warehouse.duckdb_target import DuckDBWarehouse
from warehouse.tables import RAW_TABLES, RawTable

pytestmark = pytest.mark.slow

MakeRegistration = Callable[..., RegistrationEvent]
MakeVote = Callable[..., VoteEvent]


@pytest.fixture
def warehouse_file(tmp_path: Path) -> Path:
    """Path of a DuckDB warehouse file that does not exist yet."""
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def run_sync(
    postgres: Settings, warehouse_file: Path, tmp_path: Path
) -> Iterator[Callable[[], SyncResult]]:
    """Runs one sync of every table into `warehouse_file`."""

    def run() -> SyncResult:
        warehouse = DuckDBWarehouse(warehouse_file)
        try:
            return sync_tables(postgres, warehouse, RAW_TABLES, tmp_path)
        finally:
            warehouse.close()

    yield run


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_rerun_moves_nothing_and_new_rows_move_alone(
    db: psycopg.Connection,
    registration: MakeRegistration,
    vote: MakeVote,
    run_sync: Callable[[], SyncResult],
    warehouse_file: Path,
    write_events: Callable[..., None],
) -> None:
    voters = [registration() for _ in range(3)]
    write_events(*voters)
    write_events(*(vote(v) for v in voters[:2]))

    first = run_sync()
    rerun = run_sync()
    write_events(vote(voters[2]))
    after_new_vote = run_sync()

    assert first.rows == {"elections": 1, "candidates": 3, "voters": 3, "votes": 2}
    assert rerun.total == 0
    assert after_new_vote.rows == {
        "elections": 0,
        "candidates": 0,
        "voters": 0,
        "votes": 1,
    }
    assert query(warehouse_file, "select count(*) from raw.votes") == [(3,)]


def test_no_name_or_contact_detail_reaches_the_warehouse(
    db: psycopg.Connection,
    registration: MakeRegistration,
    run_sync: Callable[[], SyncResult],
    warehouse_file: Path,
    write_events: Callable[..., None],
) -> None:
    voter = registration(
        first_name="Zenobia", last_name="Quartermaine", email="zq@example.org"
    )
    write_events(voter)

    run_sync()

    columns = {
        row[0]
        for row in query(
            warehouse_file,
            "select column_name from information_schema.columns "
            "where table_name = 'voters'",
        )
    }
    assert columns.isdisjoint({"first_name", "last_name", "email", "phone"})
    assert "birth_date" not in columns
    everything = str(query(warehouse_file, "select * from raw.voters"))
    for secret in ("Zenobia", "Quartermaine", "zq@example.org", "555"):
        assert secret not in everything
    assert query(warehouse_file, "select birth_year, state from raw.voters") == [
        (1980, "PA")
    ]


def test_transaction_that_commits_after_a_sync_is_copied_by_the_next(
    postgres: Settings,
    db: psycopg.Connection,
    registration: MakeRegistration,
    vote: MakeVote,
    run_sync: Callable[[], SyncResult],
    warehouse_file: Path,
    write_events: Callable[..., None],
) -> None:
    early, late = registration(), registration()
    write_events(early, late)
    run_sync()

    # a transaction begins (and stamps its rows) before the sync, commits after
    slow_vote = vote(late)
    with psycopg.connect(postgres.postgres_dsn) as slow:
        with slow.transaction():
            slow.execute(
                "insert into votes (vote_id, election_id, voter_id, candidate_id, "
                "state, cast_at) values (%s, %s, %s, %s, %s, %s)",
                (
                    slow_vote.event_id,
                    slow_vote.election_id,
                    slow_vote.voter_id,
                    slow_vote.candidate_id,
                    slow_vote.state,
                    slow_vote.cast_at,
                ),
            )
            write_events(vote(early))
            during = run_sync()
        after = run_sync()

    assert during.rows["votes"] == 1
    assert after.rows["votes"] >= 1
    assert query(
        warehouse_file, "select count(*), count(distinct vote_id) from raw.votes"
    ) == [(2, 2)]


def test_timestamps_keep_microseconds_whatever_the_session_time_zone(
    postgres: Settings,
    registration: MakeRegistration,
    vote: MakeVote,
    run_sync: Callable[[], SyncResult],
    warehouse_file: Path,
    db: psycopg.Connection,
) -> None:
    voter = registration()
    cast_at = datetime(2020, 11, 3, 23, 59, 59, 999_999, tzinfo=UTC)
    with (
        psycopg.connect(
            postgres.postgres_dsn, options="-c TimeZone=Pacific/Chatham"
        ) as other_zone,
        other_zone.transaction(),
    ):
        write_registrations(other_zone, [Positioned(voter)])
        write_votes(other_zone, [Positioned(vote(voter, cast_at=cast_at))])

    run_sync()

    copied = query(warehouse_file, "select cast_at from raw.votes")[0][0]
    assert copied == cast_at
    created = db.execute("select created_at from votes").fetchone()[0]
    assert query(warehouse_file, "select created_at from raw.votes")[0][0] == created


def test_crash_between_load_and_watermark_is_repaired_without_duplicates(
    db: psycopg.Connection,
    registration: MakeRegistration,
    vote: MakeVote,
    run_sync: Callable[[], SyncResult],
    warehouse_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    write_events: Callable[..., None],
) -> None:
    voters = [registration() for _ in range(4)]
    write_events(*voters)
    write_events(*(vote(v) for v in voters))
    real_merge = DuckDBWarehouse._merge

    def crash_on_votes(
        self: DuckDBWarehouse, extract: Extract, synced_at: datetime
    ) -> int:
        written = real_merge(self, extract, synced_at)
        if extract.table.name == "votes":
            raise RuntimeError("killed after loading votes, before the commit")
        return written

    monkeypatch.setattr(DuckDBWarehouse, "_merge", crash_on_votes)
    with pytest.raises(RuntimeError, match="killed"):
        run_sync()
    monkeypatch.undo()
    repaired = run_sync()

    assert repaired.rows["voters"] == 4
    assert query(
        warehouse_file, "select count(*), count(distinct vote_id) from raw.votes"
    ) == [(4, 4)]
    assert query(warehouse_file, "select count(*) from raw._sync_state") == [(4,)]


def test_one_snapshot_never_copies_a_vote_without_its_voter(
    db: psycopg.Connection,
    registration: MakeRegistration,
    vote: MakeVote,
    run_sync: Callable[[], SyncResult],
    warehouse_file: Path,
    write_events: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_events(registration())
    newcomer = registration()
    real_extract = tasks.sync.Extract

    def voter_and_vote_arrive_after_voters_were_read(
        table: RawTable, *args: object
    ) -> Extract:
        if table.name == "voters":
            # committed between reading voters and reading votes
            write_events(newcomer)
            write_events(vote(newcomer))
        return real_extract(table, *args)

    monkeypatch.setattr(
        tasks.sync, "Extract", voter_and_vote_arrive_after_voters_were_read
    )
    during = run_sync()
    monkeypatch.undo()
    after = run_sync()

    orphans = (
        "select count(*) from raw.votes as v "
        "left join raw.voters as r using (voter_id) where r.voter_id is null"
    )
    newcomer_rows = (
        "select (select count(*) from raw.voters where voter_id = ?), "
        "(select count(*) from raw.votes where voter_id = ?)"
    )
    assert during.rows["votes"] == 0
    assert after.rows["voters"] >= 1 and after.rows["votes"] >= 1
    assert query(warehouse_file, orphans) == [(0,)]
    with duckdb.connect(str(warehouse_file), read_only=True) as conn:
        voter = str(newcomer.voter_id)
        assert conn.execute(newcomer_rows, [voter, voter]).fetchall() == [(1, 1)]
