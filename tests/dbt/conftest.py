"""Fixtures that fill a warehouse's raw schema and build the dbt project on it."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from raw_warehouse import (
    ELECTION_DAY,
    FIRST_SYNC_AT,
    SYNTHETIC_ELECTION_ID,
    RawElection,
    copy_raw_to_snowflake,
    create_raw_schema,
    fill_official_election,
    fill_synthetic_election,
    run_dbt,
    run_dbt_on_duckdb,
)

LATE_SYNC_AT = FIRST_SYNC_AT + timedelta(hours=2)
OFFICIAL_RATIO = 10_000


@pytest.fixture(scope="session")
def synthetic_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DuckDB file of the synthetic election after a first `dbt build`."""
    path = tmp_path_factory.mktemp("synthetic_build") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        fill_synthetic_election(con)
    run_dbt_on_duckdb(path, "build")
    return path


@pytest.fixture(scope="session")
def late_ballots_build(
    synthetic_build: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A copy of synthetic_build after late ballots arrived and a second build.

    Two Georgia ballots for DEM cast on election morning arrive late: one
    stamped with the same `_synced_at` as the newest row already built, one
    stamped later. One Texas REP ballot is synced again, changed to DEM.
    """
    path = tmp_path_factory.mktemp("late_ballots_build") / "warehouse.duckdb"
    shutil.copy(synthetic_build, path)
    with duckdb.connect(str(path)) as con:
        election = RawElection(con, SYNTHETIC_ELECTION_ID)
        election.vote("GA", "DEM", 1, synced_at=FIRST_SYNC_AT)
        election.vote("GA", "DEM", 1, synced_at=LATE_SYNC_AT)
        con.execute(
            """
            update raw.votes
            set candidate_id = $dem, updated_at = $updated, _synced_at = $synced
            where vote_id = (
                select min(vote_id) from raw.votes
                where state = 'TX' and candidate_id = $rep
            )
            """,
            {
                "dem": f"{SYNTHETIC_ELECTION_ID}-dem",
                "rep": f"{SYNTHETIC_ELECTION_ID}-rep",
                "updated": ELECTION_DAY + timedelta(hours=3),
                "synced": LATE_SYNC_AT,
            },
        )
    run_dbt_on_duckdb(path, "build")
    return path


@pytest.fixture(scope="session")
def official_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DuckDB file of the 2020 and 2024 elections replayed at 1:10,000, built."""
    path = tmp_path_factory.mktemp("official_build") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        create_raw_schema(con)
        for year in (2020, 2024):
            fill_official_election(con, year, OFFICIAL_RATIO)
    run_dbt_on_duckdb(path, "build")
    return path


@pytest.fixture(scope="session")
def snowflake_emulator(fakesnow_port: int) -> dict[str, str]:
    """The session's fakesnow server as the ELECTION_SNOWFLAKE_* variables."""
    return {
        "ELECTION_DBT_TARGET": "snowflake",
        "ELECTION_SNOWFLAKE_ACCOUNT": "fakesnow",
        "ELECTION_SNOWFLAKE_USER": "fake",
        "ELECTION_SNOWFLAKE_PASSWORD": "snow",
        "ELECTION_SNOWFLAKE_DATABASE": "ELECTION",
        "ELECTION_SNOWFLAKE_HOST": "127.0.0.1",
        "ELECTION_SNOWFLAKE_PORT": str(fakesnow_port),
        "ELECTION_SNOWFLAKE_PROTOCOL": "http",
    }


@pytest.fixture(scope="session")
def snowflake_build(
    snowflake_emulator: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The synthetic election copied into the emulator's raw schema, then built.

    Returns the emulator's variables, for connect_snowflake.
    """
    with duckdb.connect() as local:
        fill_synthetic_election(local)
        copy_raw_to_snowflake(local, snowflake_emulator)
    run_dbt(tmp_path_factory.mktemp("snowflake_build"), "build", env=snowflake_emulator)
    return snowflake_emulator
