"""The watermark sync from the staging database into the warehouse's raw schema.

The watermark is a transaction id, not a clock. Every staging row carries
`change_xid`, the id of the transaction that last wrote it. A run reads all
tables in one REPEATABLE READ snapshot and takes that snapshot's `xmin`: every
transaction with a smaller id had finished when the snapshot was taken, so its
rows are in this run. The next run reads from `change_xid >= xmin` again, which
picks up every transaction that was still open (however late it commits) and
re-reads some rows already copied, which the upsert by key makes harmless.

No clock, time zone or timestamp tie can skip a row this way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from election.settings import Settings
from warehouse.base import Extract, Warehouse
from warehouse.tables import RawTable

logger = logging.getLogger(__name__)


@dataclass
class SyncResult:
    """What one sync run moved."""

    watermark: int
    previous: dict[str, int]
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Rows moved over all tables."""
        return sum(self.rows.values())


def extract_changes(
    settings: Settings,
    tables: Sequence[RawTable],
    watermarks: dict[str, int],
    folder: Path,
) -> tuple[list[Extract], int]:
    """Read the rows each table changed since its watermark, in one snapshot.

    Returns:
        One CSV extract per table, and the snapshot's xmin: the next watermark.
    """
    extracts = []
    with psycopg.connect(settings.postgres_dsn, options="-c TimeZone=UTC") as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.cursor() as cur:
            # the first statement fixes the snapshot every later one reads
            cur.execute("select pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            snapshot_xmin = int(cur.fetchone()[0])
            for table in tables:
                since = watermarks.get(table.name, 0)
                path = folder / f"{table.name}.csv"
                with (
                    path.open("wb") as out,
                    cur.copy(
                        f"copy ({table.source_query()}) to stdout "
                        "with (format csv, header true)",
                        (str(since),),
                    ) as copy,
                ):
                    for chunk in copy:
                        out.write(chunk)
                extracts.append(Extract(table, path, cur.rowcount))
                logger.debug("read %d rows of %s", cur.rowcount, table.name)
        conn.rollback()
    return extracts, snapshot_xmin


def sync_tables(
    settings: Settings,
    warehouse: Warehouse,
    tables: Sequence[RawTable],
    folder: Path,
) -> SyncResult:
    """Copy what changed in `tables` into `warehouse`, with its new watermark.

    The caller holds whatever the warehouse needs for writing (for DuckDB, the
    writer lock); the rows and the watermark land in one warehouse transaction.
    """
    warehouse.ensure_tables(tables)
    previous = warehouse.watermarks()
    extracts, watermark = extract_changes(settings, tables, previous, folder)
    rows = warehouse.load(extracts, watermark)
    return SyncResult(watermark=watermark, previous=previous, rows=rows)
