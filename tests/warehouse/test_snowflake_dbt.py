"""An election synced from PostgreSQL into fakesnow, built by dbt, read as results."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from election.contracts import RegistrationEvent, VoteEvent
from election.settings import PROJECT_ROOT, Settings
from flows.dbt import DBT_DIR, dbt_environment
from tasks.ingest import Positioned, write_registrations, write_votes
from tasks.sync import sync_tables
from warehouse.results import read_results
from warehouse.snowflake_target import SnowflakeWarehouse
from warehouse.tables import RAW_TABLES

pytestmark = pytest.mark.slow

MakeRegistration = Callable[..., RegistrationEvent]
MakeVote = Callable[..., VoteEvent]

DBT_BIN = Path(sys.executable).parent / "dbt"


def run_dbt_build(
    settings: Settings, work_dir: Path
) -> subprocess.CompletedProcess[str]:
    """`dbt build` in the environment the dbt flow gives it; fails with dbt's output."""
    result = subprocess.run(
        [
            str(DBT_BIN),
            "build",
            "--project-dir",
            str(DBT_DIR),
            "--profiles-dir",
            str(DBT_DIR),
            "--target-path",
            str(work_dir / "target"),
            "--log-path",
            str(work_dir / "logs"),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, **dbt_environment(settings)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        pytest.fail(
            f"dbt build on fakesnow failed with code {result.returncode}:\n"
            f"{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
        )
    return result


def test_dbt_build_on_synced_rows_gives_the_results(
    postgres: Settings,
    emulator: Callable[[], dict[str, Any]],
    db: psycopg.Connection,
    registration: MakeRegistration,
    vote: MakeVote,
    tmp_path: Path,
) -> None:
    settings = postgres.model_copy(update=emulator())
    pa_voters = [registration(state="PA") for _ in range(5)]
    de_voters = [registration(state="DE") for _ in range(2)]
    with db.transaction():
        write_registrations(db, [Positioned(v) for v in pa_voters + de_voters])
    ballots = [vote(v, "dem") for v in pa_voters[:3]]
    ballots += [vote(pa_voters[3], "rep"), vote(de_voters[0], "rep")]
    with db.transaction():
        write_votes(db, [Positioned(b) for b in ballots])
    target = SnowflakeWarehouse.from_settings(settings, credentials_block=None)
    try:
        sync_tables(settings, target, RAW_TABLES, tmp_path)
    finally:
        target.close()

    run_dbt_build(settings, tmp_path / "dbt")
    # no Prefect server runs here, so no credentials block is looked up
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        results = read_results(settings, pa_voters[0].election_id)

    assert results["winners"]["PA"] == "DEM"
    assert results["winners"]["DE"] == "REP"
    assert results["turnout"]["PA"]["eligible"] == 5
    assert results["turnout"]["PA"]["voted"] == 4
    assert results["national"]["votes"] == 5
    assert results["electoral_votes"]["DEM"] == 20
    assert results["electoral_votes"]["REP"] == 3
