"""The embedded default warehouse: a DuckDB file, written by one process at a time.

DuckDB lets one process open a file for writing. Every writer (the sync and dbt)
takes the file lock beside the database first, so they take turns instead of
failing; readers such as the dashboard read the copy that `publish` makes after
each dbt run, so they never hold the file a writer needs.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from warehouse.base import RAW_SCHEMA, STATE_TABLE, Extract
from warehouse.tables import RawTable

logger = logging.getLogger(__name__)

LOCK_TIMEOUT_S = 600


def writer_lock(path: Path, timeout: float = LOCK_TIMEOUT_S) -> FileLock:
    """The lock every process that writes the DuckDB file at `path` holds."""
    return FileLock(f"{path}.lock", timeout=timeout)


def published_path(path: Path) -> Path:
    """Where the read-only copy of the warehouse at `path` is published."""
    return path.with_name(f"{path.stem}.published{path.suffix}")


@contextmanager
def writing(path: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the writer lock of the warehouse at `path` for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = writer_lock(path, timeout)
    try:
        lock.acquire(blocking=False)
    except Timeout:
        logger.info("waiting for the writer lock of %s", path)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def publish(path: Path) -> Path:
    """Copy the warehouse to its published file atomically; call holding the lock.

    A checkpoint first moves everything in the write-ahead log into the file, so
    the copy holds every committed change.
    """
    with duckdb.connect(str(path)) as conn:
        conn.execute("checkpoint")
    target = published_path(path)
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(path, partial)
    os.replace(partial, target)
    return target


class DuckDBWarehouse:
    """The raw schema in a DuckDB file; hold `writing(path)` while using it."""

    name = "duckdb"

    def __init__(self, path: Path, memory_limit: str | None = None) -> None:
        self.path = path
        # NOTE: set, not given to connect(): a process may hold the file open
        # already (dbt, a reader), and DuckDB refuses a second configuration
        self.conn = duckdb.connect(str(path))
        self.conn.execute("set timezone = 'UTC'")
        if memory_limit:
            self.conn.execute(f"set memory_limit = '{memory_limit}'")

    def ensure_tables(self, tables: Sequence[RawTable]) -> None:
        """Create the raw schema and tables, and add columns they lack."""
        self.conn.execute(f"create schema if not exists {RAW_SCHEMA}")
        self.conn.execute(
            f"""
            create table if not exists {RAW_SCHEMA}.{STATE_TABLE} (
                table_name varchar primary key,
                watermark bigint not null,
                synced_at timestamptz not null
            )
            """
        )
        for table in tables:
            columns = ", ".join(f"{c.name} {c.type}" for c in table.columns)
            self.conn.execute(
                f"create table if not exists {RAW_SCHEMA}.{table.name} "
                f"({columns}, _synced_at timestamptz)"
            )
            existing = {
                row[0]
                for row in self.conn.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ?",
                    [RAW_SCHEMA, table.name],
                ).fetchall()
            }
            for column in table.columns:
                if column.name not in existing:
                    logger.info("adding column %s to raw.%s", column.name, table.name)
                    self.conn.execute(
                        f"alter table {RAW_SCHEMA}.{table.name} "
                        f"add column {column.name} {column.type}"
                    )

    def watermarks(self) -> dict[str, int]:
        """The saved watermark of each table synced so far."""
        rows = self.conn.execute(
            f"select table_name, watermark from {RAW_SCHEMA}.{STATE_TABLE}"
        ).fetchall()
        return dict(rows)

    def load(self, extracts: Sequence[Extract], watermark: int) -> dict[str, int]:
        """Upsert `extracts` by key and save `watermark`, in one transaction."""
        synced_at = datetime.now(UTC)
        written: dict[str, int] = {}
        self.conn.execute("begin")
        try:
            for extract in extracts:
                written[extract.table.name] = self._merge(extract, synced_at)
                # a watermark only moves forward, whichever run commits last
                self.conn.execute(
                    f"insert into {RAW_SCHEMA}.{STATE_TABLE} as s values (?, ?, ?) "
                    "on conflict (table_name) do update set "
                    "watermark = greatest(s.watermark, excluded.watermark), "
                    "synced_at = excluded.synced_at",
                    [extract.table.name, watermark, synced_at],
                )
            self.conn.execute("commit")
        except BaseException:
            self._rollback()
            raise
        return written

    def _rollback(self) -> None:
        """Roll the open transaction back, if a failed statement left one open.

        A failed COMMIT ends its transaction itself; the error that matters is the
        one being handled, not DuckDB's complaint that nothing is left to undo.
        """
        try:
            self.conn.execute("rollback")
        except duckdb.TransactionException as error:
            logger.debug("nothing to roll back: %s", error)

    def _merge(self, extract: Extract, synced_at: datetime) -> int:
        table = extract.table
        if extract.rows == 0:
            return 0
        types = ", ".join(f"'{c.name}': '{c.type}'" for c in table.columns)
        names = ", ".join(table.column_names)
        # the newest version of a key wins when the extract holds it twice
        self.conn.execute(
            f"""
            create or replace temp table incoming as
            select * from read_csv(
                ?, header = true, columns = {{{types}}},
                allow_quoted_nulls = false, timestampformat = 'ISO'
            )
            qualify row_number() over (
                partition by {table.key} order by updated_at desc
            ) = 1
            """,
            [str(extract.path)],
        )
        # NOTE: a version never replaces a newer one, so even two syncs that got
        # past the writer lock could not bring an old row back
        self.conn.execute(
            f"delete from {RAW_SCHEMA}.{table.name} as t using incoming as i "
            f"where t.{table.key} = i.{table.key} and t.updated_at <= i.updated_at"
        )
        written = self.conn.execute(
            f"insert into {RAW_SCHEMA}.{table.name} ({names}, _synced_at) "
            f"select {names}, ? from incoming as i where not exists ("
            f"select 1 from {RAW_SCHEMA}.{table.name} as t "
            f"where t.{table.key} = i.{table.key})",
            [synced_at],
        ).fetchall()[0][0]
        self.conn.execute("drop table incoming")
        return int(written)

    def counts(self, tables: Sequence[RawTable]) -> dict[str, int]:
        """Rows per raw table; a table not created yet counts 0."""
        result = {}
        for table in tables:
            try:
                row = self.conn.execute(
                    f"select count(*) from {RAW_SCHEMA}.{table.name}"
                ).fetchall()[0]
            except duckdb.CatalogException:
                row = (0,)
            result[table.name] = int(row[0])
        return result

    def key_versions(self, table: RawTable) -> list[tuple[object, datetime]]:
        """Each row's key and `updated_at`, for reconciliation."""
        return self.conn.execute(
            f"select {table.key}, updated_at from {RAW_SCHEMA}.{table.name}"
        ).fetchall()

    def election_counts(self, election_id: str) -> dict[str, int]:
        """Voters and votes of one election in the raw tables."""
        return {
            table: int(
                self.conn.execute(
                    f"select count(*) from {RAW_SCHEMA}.{table} where election_id = ?",
                    [election_id],
                ).fetchall()[0][0]
            )
            for table in ("voters", "votes")
        }

    def truncate(self, tables: Sequence[RawTable]) -> None:
        """Empty `tables` and forget their watermarks, for a full resync."""
        self.conn.execute("begin")
        for table in tables:
            self.conn.execute(f"delete from {RAW_SCHEMA}.{table.name}")
            self.conn.execute(
                f"delete from {RAW_SCHEMA}.{STATE_TABLE} where table_name = ?",
                [table.name],
            )
        self.conn.execute("commit")

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()
