"""Builders of the warehouse's raw schema for the dbt tests, and a dbt CLI runner."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    from snowflake.connector import SnowflakeConnection

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = PROJECT_ROOT / "dbt"
DBT_BIN = PROJECT_ROOT / ".venv" / "bin" / "dbt"
SEEDS_DIR = DBT_DIR / "seeds"

ELECTION_DAY = datetime(2020, 11, 3, 14, 0, tzinfo=UTC)
FIRST_SYNC_AT = datetime(2020, 11, 3, 20, 0, tzinfo=UTC)
SYNTHETIC_ELECTION_ID = "us2020-r10000"
DISTRICT_STATES = ("ME", "NE")

RAW_COLUMNS: dict[str, str] = {
    "elections": """
        election_id varchar primary key, year integer, ratio integer,
        name varchar, election_day date""",
    "candidates": """
        candidate_id varchar primary key, election_id varchar, party varchar,
        name varchar""",
    "voters": """
        voter_id varchar primary key, election_id varchar, state varchar,
        district integer, birth_year integer, gender varchar,
        registered_date date, removed_at timestamptz""",
    "votes": """
        vote_id varchar primary key, election_id varchar, voter_id varchar,
        candidate_id varchar, state varchar, district integer,
        cast_at timestamptz""",
}
"""Columns of each raw table before the three timestamps every table ends with."""

CANDIDATE_NAMES = {
    2020: {"DEM": "Joseph R. Biden Jr.", "REP": "Donald J. Trump"},
    2024: {"DEM": "Kamala D. Harris", "REP": "Donald J. Trump"},
}


def create_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw tables the sync writes, empty."""
    con.execute("create schema if not exists raw")
    for table, columns in RAW_COLUMNS.items():
        con.execute(
            f"create table raw.{table} ({columns}, created_at timestamptz, "
            "updated_at timestamptz, _synced_at timestamptz)"
        )


def add_election(con: duckdb.DuckDBPyConnection, year: int, ratio: int = 10_000) -> str:
    """Insert an election and its three candidates; return the election id."""
    election_id = f"us{year}-r{ratio}"
    day = ELECTION_DAY.replace(year=year)
    stamps = [day, day, FIRST_SYNC_AT]
    con.execute(
        "insert into raw.elections values (?, ?, ?, ?, ?, ?, ?, ?)",
        [election_id, year, ratio, f"{year} at 1:{ratio}", day.date(), *stamps],
    )
    names = {**CANDIDATE_NAMES[year], "OTH": "Other candidates"}
    con.executemany(
        "insert into raw.candidates values (?, ?, ?, ?, ?, ?, ?)",
        [
            [f"{election_id}-{party.lower()}", election_id, party, name, *stamps]
            for party, name in names.items()
        ],
    )
    return election_id


@dataclass
class RawElection:
    """Writes voters and ballots of one election into the raw tables."""

    con: duckdb.DuckDBPyConnection
    election_id: str

    def register(
        self,
        state: str,
        count: int,
        district: int | None = None,
        removed: bool = False,
    ) -> list[str]:
        """Register `count` voters in a state; return their ids."""
        voter_ids = [str(uuid.uuid4()) for _ in range(count)]
        removed_at = FIRST_SYNC_AT - timedelta(hours=1) if removed else None
        registered_date = ELECTION_DAY.date() - timedelta(days=400)
        self.con.executemany(
            "insert into raw.voters values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [voter_id, self.election_id, state, district, 1980, "female"]
                + [registered_date, removed_at]
                + [ELECTION_DAY, ELECTION_DAY, FIRST_SYNC_AT]
                for voter_id in voter_ids
            ],
        )
        return voter_ids

    def vote(
        self,
        state: str,
        party: str,
        count: int,
        district: int | None = None,
        synced_at: datetime = FIRST_SYNC_AT,
        removed: bool = False,
    ) -> list[str]:
        """Register `count` voters, each casting a ballot for `party` on election day.

        `synced_at` stamps the ballots as the sync would; `removed` purges the
        voters' registrations after they voted. Returns the ballots' ids.
        """
        candidate_id = f"{self.election_id}-{party.lower()}"
        voter_ids = self.register(state, count, district, removed=removed)
        vote_ids = [str(uuid.uuid4()) for _ in voter_ids]
        self.con.executemany(
            "insert into raw.votes values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [vote_id, self.election_id, voter_id, candidate_id, state, district]
                + [ELECTION_DAY, ELECTION_DAY, ELECTION_DAY, synced_at]
                for vote_id, voter_id in zip(vote_ids, voter_ids, strict=True)
            ],
        )
        return vote_ids


def fill_synthetic_election(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw tables and fill them with a small election of 2020.

    CA: DEM 6, REP 3, OTH 1, one DEM voter purged after voting and two
    registered voters who stayed home. TX: REP 5 to DEM 2, three stayed home.
    GA: a 4 to 4 tie. ME: DEM 4 to 3; ME-1 DEM 3 to 1, ME-2 REP 2 to 1.
    NE: REP 6 to 3; NE-1 REP 2 to 1, NE-2 DEM 2 to 1, NE-3 REP 3 to 0.
    No other state has voters. Every row is stamped FIRST_SYNC_AT.
    """
    create_raw_schema(con)
    add_election(con, 2020)
    election = RawElection(con, SYNTHETIC_ELECTION_ID)

    election.vote("CA", "DEM", 5)
    election.vote("CA", "DEM", 1, removed=True)
    election.vote("CA", "REP", 3)
    election.vote("CA", "OTH", 1)
    election.register("CA", 2)

    election.vote("TX", "DEM", 2)
    election.vote("TX", "REP", 5)
    election.register("TX", 3)

    election.vote("GA", "DEM", 4)
    election.vote("GA", "REP", 4)

    election.vote("ME", "DEM", 3, district=1)
    election.vote("ME", "REP", 1, district=1)
    election.vote("ME", "DEM", 1, district=2)
    election.vote("ME", "REP", 2, district=2)

    election.vote("NE", "REP", 2, district=1)
    election.vote("NE", "DEM", 1, district=1)
    election.vote("NE", "DEM", 2, district=2)
    election.vote("NE", "REP", 1, district=2)
    election.vote("NE", "REP", 3, district=3)


def read_seed(name: str) -> list[dict[str, str]]:
    """Rows of the dbt seed `name` as read from its CSV file."""
    with (SEEDS_DIR / f"{name}.csv").open(newline="") as file:
        return list(csv.DictReader(file))


def split_by_largest_remainder(votes: dict[str, int], seats: int) -> dict[str, int]:
    """Share `seats` among parties in proportion to `votes`, by largest remainder."""
    total = sum(votes.values())
    quotas = {party: count * seats / total for party, count in votes.items()}
    shares = {party: math.floor(quota) for party, quota in quotas.items()}
    by_remainder = sorted(quotas, key=lambda p: quotas[p] - shares[p], reverse=True)
    for party in by_remainder[: seats - sum(shares.values())]:
        shares[party] += 1
    return shares


def official_ballot_counts(
    year: int, ratio: int
) -> list[tuple[str, int | None, str, int]]:
    """Ballots of `year` per state (or district of ME and NE) and party.

    The official total of each place divided by `ratio` and rounded, split
    among the parties by largest remainder: (state, district, party, ballots).
    """
    places: list[tuple[str, int | None, dict[str, str]]] = [
        (row["state_po"], None, row)
        for row in read_seed(f"pres_results_{year}")
        if row["state_po"] not in DISTRICT_STATES
    ]
    places += [
        (row["state_po"], int(row["district"]), row)
        for row in read_seed("district_results")
        if int(row["year"]) == year
    ]
    counts = []
    for state, district, row in places:
        votes = {
            "DEM": int(row["dem_votes"]),
            "REP": int(row["rep_votes"]),
            "OTH": int(row["other_votes"]),
        }
        seats = round(int(row["total_votes"]) / ratio)
        for party, ballots in split_by_largest_remainder(votes, seats).items():
            counts.append((state, district, party, ballots))
    return counts


def official_registrations(year: int, ratio: int) -> list[tuple[str, int]]:
    """Registrations of `year` per state: the eligible population over `ratio`."""
    return [
        (row["state_po"], round(int(row["vep"]) / ratio))
        for row in read_seed("vep_turnout_2020_2024")
        if int(row["year"]) == year
    ]


def fill_official_election(
    con: duckdb.DuckDBPyConnection, year: int, ratio: int
) -> None:
    """Add the election of `year` replayed at `ratio` from the official seeds.

    One voter per ballot of official_ballot_counts, each casting it, plus
    voters who stayed home up to official_registrations per state (those of
    Maine and Nebraska in district 1). Rows are generated inside DuckDB.
    """
    election_id = add_election(con, year, ratio)
    con.execute(
        "create or replace temp table ballot_counts (state varchar, "
        "district integer, party varchar, ballots integer)"
    )
    con.executemany(
        "insert into ballot_counts values (?, ?, ?, ?)",
        official_ballot_counts(year, ratio),
    )
    con.execute(
        "create or replace temp table registrations (state varchar, registered integer)"
    )
    con.executemany(
        "insert into registrations values (?, ?)",
        official_registrations(year, ratio),
    )
    params: dict[str, Any] = {
        "election": election_id,
        "day": ELECTION_DAY.replace(year=year),
        "synced": FIRST_SYNC_AT,
    }

    con.execute(
        """
        create or replace temp table ballots as
        select
            state,
            district,
            party,
            concat_ws('-', $election, state, coalesce(district, 0), party, i)
                as voter_id
        from ballot_counts, range(ballots) as numbers(i)
        """,
        {"election": election_id},
    )
    con.execute(
        """
        insert into raw.voters
        select voter_id, $election, state, district, 1980, 'female',
            date '2019-01-01', null, $day, $day, $synced
        from ballots
        """,
        params,
    )
    con.execute(
        """
        insert into raw.votes
        select 'vote-' || voter_id, $election, voter_id,
            $election || '-' || lower(party), state, district,
            $day, $day, $day, $synced
        from ballots
        """,
        params,
    )
    con.execute(
        """
        insert into raw.voters
        with voted as (
            select state, count(*) as voted from ballots group by state
        )
        select
            concat_ws('-', $election, r.state, 'home', i),
            $election,
            r.state,
            case when r.state in ('ME', 'NE') then 1 end,
            1980, 'male', date '2019-01-01', null, $day, $day, $synced
        from registrations as r
        left join voted using (state),
        range(greatest(r.registered - coalesce(voted.voted, 0), 0))
            as numbers(i)
        """,
        params,
    )


def run_dbt(
    work_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the dbt CLI with `env` added; raise with its output on a failure.

    Its target and log folders go to `work_dir`, so that runs share no state
    with each other or with the project folder.
    """
    result = subprocess.run(
        [
            str(DBT_BIN),
            *args,
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
        env={**os.environ, "DO_NOT_TRACK": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"dbt {' '.join(args)} failed with code {result.returncode}:\n"
            f"{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
        )
    return result


def run_dbt_on_duckdb(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the dbt CLI on the DuckDB warehouse at `db_path`."""
    return run_dbt(
        db_path.parent,
        *args,
        env={"ELECTION_DBT_TARGET": "duckdb", "ELECTION_DUCKDB_PATH": str(db_path)},
    )


def connect_snowflake(env: dict[str, str]) -> SnowflakeConnection:
    """A connection to the Snowflake that the ELECTION_SNOWFLAKE_* `env` names."""
    import snowflake.connector

    return snowflake.connector.connect(
        account=env["ELECTION_SNOWFLAKE_ACCOUNT"],
        user=env["ELECTION_SNOWFLAKE_USER"],
        password=env["ELECTION_SNOWFLAKE_PASSWORD"],
        database=env["ELECTION_SNOWFLAKE_DATABASE"],
        host=env["ELECTION_SNOWFLAKE_HOST"],
        port=int(env["ELECTION_SNOWFLAKE_PORT"]),
        protocol=env["ELECTION_SNOWFLAKE_PROTOCOL"],
    )


def copy_raw_to_snowflake(
    source: duckdb.DuckDBPyConnection, env: dict[str, str]
) -> None:
    """Copy the raw tables of DuckDB `source` into the Snowflake that `env` names."""
    with connect_snowflake(env) as con:
        cursor = con.cursor()
        cursor.execute("create schema if not exists raw")
        for table, columns in RAW_COLUMNS.items():
            snowflake_columns = columns.replace(" primary key", "").replace(
                "timestamptz", "timestamp_tz"
            )
            cursor.execute(
                f"create or replace table raw.{table} ({snowflake_columns}, "
                "created_at timestamp_tz, updated_at timestamp_tz, "
                "_synced_at timestamp_tz)"
            )
            rows = source.execute(f"select * from raw.{table}").fetchall()
            markers = ", ".join(["%s"] * len(rows[0]))
            cursor.executemany(f"insert into raw.{table} values ({markers})", rows)


def query(db_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    """Rows of a read-only query on the DuckDB warehouse at `db_path`."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def query_one(db_path: Path, sql: str, params: list[Any] | None = None) -> dict:
    """The single row of a read-only query, by column name."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        relation = con.execute(sql, params or [])
        columns = [column[0] for column in relation.description]
        rows = relation.fetchall()
    assert len(rows) == 1, f"expected one row, got {len(rows)} from {sql!r}"
    return dict(zip(columns, rows[0], strict=True))
