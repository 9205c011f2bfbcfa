"""Fixtures of the Snowflake warehouse tests: a fakesnow server, warehouses, CSVs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from election.contracts import RegistrationEvent, VoteEvent, candidate_id
from election.settings import Settings
from warehouse.base import Extract
from warehouse.snowflake_target import SnowflakeWarehouse
from warehouse.tables import RAW_TABLES, RawTable

ELECTION = "us2020-r10000"
T0 = datetime(2020, 10, 1, 12, 0, 0, 123456, tzinfo=UTC)
STARTUP_TIMEOUT_S = 30.0

MakeRegistration = Callable[..., RegistrationEvent]
MakeVote = Callable[..., VoteEvent]
MakeSettings = Callable[..., Settings]
WriteExtract = Callable[[RawTable, Sequence[Mapping[str, Any]]], Extract]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_listening(
    port: int, process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"fakesnow exited with code {process.returncode} before listening on "
                f"port {port}: read {log}"
            )
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(
        f"fakesnow did not listen on port {port} within {STARTUP_TIMEOUT_S:.0f} s: "
        f"read {log}"
    )


@pytest.fixture(scope="session")
def fakesnow_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A fakesnow server in HTTP mode on a free port, for the session; yields the port.

    Its log, and the files PUT into its stages, are in the session's `fakesnow`
    temporary folder.
    """
    port = _free_port()
    folder = tmp_path_factory.mktemp("fakesnow")
    log = folder / "fakesnow.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "fakesnow", "-s", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            # fakesnow keeps staged files in a temporary folder it never removes
            env={**os.environ, "TMPDIR": str(folder)},
        )
    try:
        _wait_until_listening(port, process, log)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def emulator(fakesnow_port: int) -> Callable[[], dict[str, Any]]:
    """Makes settings fields that point the Snowflake target at a new fakesnow database.

    fakesnow makes a database the first time a session names it, so each call
    gives a warehouse that shares nothing with the others.
    """

    def fields() -> dict[str, Any]:
        return {
            "warehouse": "snowflake",
            "snowflake_account": "fakesnow",
            "snowflake_user": "fake",
            "snowflake_password": SecretStr("snow"),
            "snowflake_database": f"TEST_{uuid.uuid4().hex[:12].upper()}",
            "snowflake_host": "127.0.0.1",
            "snowflake_port": fakesnow_port,
            "snowflake_protocol": "http",
        }

    return fields


@pytest.fixture
def make_snowflake_settings(
    emulator: Callable[[], dict[str, Any]], tmp_path: Path
) -> MakeSettings:
    """Makes settings of a new fakesnow database; keyword arguments override fields."""

    def make(**overrides: Any) -> Settings:
        return Settings(data_dir=tmp_path, **{**emulator(), **overrides})

    return make


@pytest.fixture
def snowflake_settings(make_snowflake_settings: MakeSettings) -> Settings:
    """Settings of a fresh fakesnow database, credentials in the settings."""
    return make_snowflake_settings()


@pytest.fixture
def warehouse(snowflake_settings: Settings) -> Iterator[SnowflakeWarehouse]:
    """A SnowflakeWarehouse on a fresh fakesnow database, its raw tables created."""
    target = SnowflakeWarehouse.from_settings(snowflake_settings, None)
    target.ensure_tables(RAW_TABLES)
    yield target
    target.close()


def csv_field(value: object) -> str:
    """`value` as PostgreSQL's `COPY ... (FORMAT csv)` writes it.

    NULL is an empty unquoted field; an empty string, or text holding a comma,
    quote or line break, is quoted with quotes doubled; timestamps are in UTC
    with a `+00` offset and no trailing zeros in the fraction.
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        if value.microsecond:
            text += f".{value.microsecond:06d}".rstrip("0")
        return f"{text}+00"
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text == "" or any(char in text for char in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


@pytest.fixture
def write_extract(tmp_path: Path) -> WriteExtract:
    """Writes rows of a raw table into a CSV extract as `tasks.sync` makes them.

    Each row maps column names to values; missing columns are NULL.
    """
    written = 0

    def write(table: RawTable, rows: Sequence[Mapping[str, Any]]) -> Extract:
        nonlocal written
        written += 1
        path = tmp_path / f"{table.name}-{written}.csv"
        lines = [",".join(table.column_names)]
        lines += [
            ",".join(csv_field(row.get(name)) for name in table.column_names)
            for row in rows
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return Extract(table, path, len(rows))

    return write


@pytest.fixture
def db(postgres: Settings) -> Iterator[psycopg.Connection]:
    """A connection to an emptied staging database (autocommit)."""
    with psycopg.connect(postgres.postgres_dsn, autocommit=True) as conn:
        conn.execute(
            "truncate elections, candidates, voters, votes, held_events cascade"
        )
        yield conn


@pytest.fixture
def registration() -> MakeRegistration:
    """Makes a valid registration event; keyword arguments override its fields."""

    def make(**overrides: object) -> RegistrationEvent:
        fields: dict[str, object] = {
            "event_id": uuid.uuid4(),
            "voter_id": uuid.uuid4(),
            "election_id": ELECTION,
            "state": "PA",
            "district": None,
            "occurred_at": T0,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "phone": "(215)-555-0100",
            "gender": "female",
            "birth_date": date(1980, 5, 17),
            "registered_at": T0,
        }
        fields.update(overrides)
        return RegistrationEvent(**fields)

    return make


@pytest.fixture
def vote() -> MakeVote:
    """Makes a valid vote event for DEM; keyword arguments override its fields."""

    def make(
        voter: RegistrationEvent, party: str = "dem", **overrides: object
    ) -> VoteEvent:
        fields: dict[str, object] = {
            "event_id": uuid.uuid4(),
            "voter_id": voter.voter_id,
            "election_id": voter.election_id,
            "state": voter.state,
            "district": voter.district,
            "candidate_id": candidate_id(voter.election_id, party),
            "cast_at": T0 + timedelta(days=30),
        }
        fields.update(overrides)
        return VoteEvent(**fields)

    return make
