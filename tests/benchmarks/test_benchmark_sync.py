"""Smoke test of the sync benchmark: a tiny run against the session's services."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from benchmarks.common import write_results
from benchmarks.sync import measure, parse_args
from election.settings import Settings, get_settings

pytestmark = pytest.mark.slow

TINY_RATIO = 1_000_000
ELECTION = f"us2020-r{TINY_RATIO}"


@pytest.fixture
def tiny_run_settings(
    postgres: Settings,
    prefect_api: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    """The session's services with a warehouse file of this test's own.

    The tiny election's rows leave the staging database afterwards.
    """
    monkeypatch.setenv("ELECTION_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    get_settings.cache_clear()
    yield get_settings()
    with psycopg.connect(postgres.postgres_dsn, autocommit=True) as conn:
        for table in ("votes", "voters", "candidates", "elections"):
            conn.execute(f"delete from {table} where election_id = %s", (ELECTION,))
    monkeypatch.undo()
    get_settings.cache_clear()


def test_sync_benchmark_on_a_tiny_election_writes_figures_of_both_syncs(
    tiny_run_settings: Settings, tmp_path: Path
) -> None:
    args = parse_args(["--ratio", str(TINY_RATIO), "--no-cli"])

    document = measure(tiny_run_settings, args, {"benchmark": "sync"})
    path = write_results("sync", document, tmp_path / "results")

    written = json.loads(path.read_text())
    changed = (
        written["parameters"]["voters_changed"] + written["parameters"]["votes_added"]
    )
    assert written["rows"]["initial_flow"] == written["rows"]["raw"]
    assert written["rows"]["initial_direct"] == written["rows"]["raw"]
    assert written["rows"]["incremental_flow"] >= changed > 0
    assert written["results"]["raw_rows_per_s"] > 0
    assert isinstance(written["results"]["incremental_target_met"], bool)
