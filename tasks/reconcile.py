"""Compares each staging table with its copy in the warehouse, key by key.

Only what the warehouse's watermark covers is compared: a row written in
PostgreSQL since the last sync is pending, not a difference, on either side.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from election.settings import Settings
from warehouse.base import Warehouse
from warehouse.tables import RawTable

EXAMPLES = 5
"""How many differing keys a report names."""


@dataclass(frozen=True)
class TableDifference:
    """How the warehouse's copy of a table differs from staging."""

    table: str
    source_rows: int
    target_rows: int
    pending: int
    missing: int
    extra: int
    stale: int
    examples: tuple[str, ...]
    source_checksum: str
    target_checksum: str

    @property
    def equal(self) -> bool:
        """Whether both sides hold the same keys at the same versions."""
        return self.source_checksum == self.target_checksum

    def describe(self) -> str:
        """One line a person can act on."""
        counts = (
            f"{self.source_rows:,} rows in PostgreSQL and {self.target_rows:,} in "
            f"the warehouse up to its watermark, {self.pending:,} pending"
        )
        if self.equal:
            return f"{self.table}: equal: {counts}"
        return (
            f"{self.table}: DIFFERENT: {counts}; {self.missing} missing, "
            f"{self.extra} extra, {self.stale} out of date (such as "
            f"{', '.join(self.examples)}); run `python -m flows.sync --full-refresh "
            f"--table {self.table}` to copy it whole"
        )


def checksum(versions: dict[str, int]) -> str:
    """A checksum of key → update time pairs, independent of their order."""
    digest = hashlib.sha256()
    for key in sorted(versions):
        digest.update(f"{key}|{versions[key]}\n".encode())
    return digest.hexdigest()


def versions_of(rows: Iterable[tuple[object, datetime]]) -> dict[str, int]:
    """Key → update time in microseconds since the epoch, whatever the time zone."""
    return {str(key): _micros(updated_at) for key, updated_at in rows}


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def source_versions(
    settings: Settings, table: RawTable, watermark: int
) -> tuple[dict[str, int], set[str]]:
    """Versions of the rows settled before `watermark`, and the pending keys."""
    with psycopg.connect(settings.postgres_dsn) as conn, conn.cursor() as cur:
        cur.execute(
            f"select {table.key}::text, updated_at, change_xid < %s::text::xid8 "
            f"from {table.name}",
            (str(watermark),),
        )
        settled: dict[str, int] = {}
        pending: set[str] = set()
        for key, updated_at, is_settled in cur:
            if is_settled:
                settled[key] = _micros(updated_at)
            else:
                pending.add(key)
    return settled, pending


def reconcile_table(
    settings: Settings, warehouse: Warehouse, table: RawTable
) -> TableDifference:
    """Compare `table` in PostgreSQL with its copy in `warehouse`."""
    watermark = warehouse.watermarks().get(table.name, 0)
    ours, pending = source_versions(settings, table, watermark)
    theirs = {
        key: micros
        for key, micros in versions_of(warehouse.key_versions(table)).items()
        if key not in pending
    }
    missing = sorted(set(ours) - set(theirs))
    extra = sorted(set(theirs) - set(ours))
    stale = sorted(k for k in set(ours) & set(theirs) if ours[k] != theirs[k])
    return TableDifference(
        table=table.name,
        source_rows=len(ours),
        target_rows=len(theirs),
        pending=len(pending),
        missing=len(missing),
        extra=len(extra),
        stale=len(stale),
        examples=tuple((missing + extra + stale)[:EXAMPLES]),
        source_checksum=checksum(ours),
        target_checksum=checksum(theirs),
    )


def reconcile_tables(
    settings: Settings, warehouse: Warehouse, tables: Sequence[RawTable]
) -> list[TableDifference]:
    """Compare each of `tables`; the caller holds the warehouse for the run."""
    return [reconcile_table(settings, warehouse, table) for table in tables]
