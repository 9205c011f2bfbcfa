"""Fixtures of the Snowflake warehouse tests: a fakesnow server, warehouses, CSVs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from election.contracts import RegistrationEvent, VoteEvent
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
