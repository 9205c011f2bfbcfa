"""Loads into the DuckDB warehouse: the newest version wins, whatever the order."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from raw_rows import CREATED, a_vote

from warehouse.base import Extract
from warehouse.duckdb_target import DuckDBWarehouse
from warehouse.tables import VOTES, RawTable

WriteExtract = Callable[[RawTable, Sequence[Mapping[str, Any]]], Extract]

LATER = CREATED + timedelta(minutes=5, microseconds=1)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


def load(path: Path, extract: Extract, watermark: int) -> dict[str, int]:
    warehouse = DuckDBWarehouse(path)
    try:
        warehouse.ensure_tables([VOTES])
        return warehouse.load([extract], watermark)
    finally:
        warehouse.close()


def state(path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        rows = conn.execute(
            "select vote_id, candidate_id from raw.votes order by vote_id"
        ).fetchall()
        marks = conn.execute("select table_name, watermark from raw._sync_state")
        return rows, marks.fetchall()


def test_same_key_twice_in_one_extract_keeps_the_newest(
    path: Path, write_extract: WriteExtract
) -> None:
    extract = write_extract(
        VOTES,
        [
            a_vote("v1", candidate_id="us2020-r10000-oth", updated_at=CREATED),
            a_vote("v1", candidate_id="us2020-r10000-rep", updated_at=LATER),
            a_vote("v1", candidate_id="us2020-r10000-dem", updated_at=CREATED),
        ],
    )

    assert load(path, extract, watermark=7) == {"votes": 1}
    assert state(path) == ([("v1", "us2020-r10000-rep")], [("votes", 7)])


def test_a_run_that_commits_last_with_older_rows_changes_nothing(
    path: Path, write_extract: WriteExtract
) -> None:
    # two runs that got past the writer lock: the one that read later commits
    # first, then the one that read earlier commits its older versions
    newer = write_extract(
        VOTES, [a_vote("v1", candidate_id="us2020-r10000-rep", updated_at=LATER)]
    )
    older = write_extract(VOTES, [a_vote("v1"), a_vote("v2")])

    load(path, newer, watermark=200)
    load(path, older, watermark=100)

    assert state(path) == (
        [("v1", "us2020-r10000-rep"), ("v2", "us2020-r10000-dem")],
        [("votes", 200)],
    )


def test_two_loads_at_once_leave_every_key_once(
    path: Path, write_extract: WriteExtract
) -> None:
    # two connections of one process write the file at the same time: DuckDB
    # lets one transaction commit and aborts the other, or orders both
    ids = [f"v{i}" for i in range(2_000)]
    first = write_extract(VOTES, [a_vote(i) for i in ids])
    second = write_extract(
        VOTES,
        [a_vote(i, candidate_id="us2020-r10000-rep", updated_at=LATER) for i in ids],
    )
    load(path, write_extract(VOTES, []), watermark=1)
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def run(extract: Extract, watermark: int) -> None:
        start.wait()
        try:
            load(path, extract, watermark)
        except duckdb.TransactionException as error:
            failures.append(error)

    threads = [
        threading.Thread(target=run, args=(first, 100)),
        threading.Thread(target=run, args=(second, 200)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    rows, marks = state(path)
    assert len(failures) <= 1
    assert sorted(vote_id for vote_id, _ in rows) == sorted(ids)
    # what committed is whole: one run's rows, or the newest of both
    assert len({candidate for _, candidate in rows}) == 1
    if not failures:
        assert {candidate for _, candidate in rows} == {"us2020-r10000-rep"}
        assert marks == [("votes", 200)]
