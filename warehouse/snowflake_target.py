"""The Snowflake warehouse: CSV extracts staged by PUT and COPY, upserted atomically."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import snowflake.connector
from prefect.settings import get_current_settings
from prefect_snowflake import SnowflakeConnector, SnowflakeCredentials
from pydantic import ValidationError
from snowflake.connector import SnowflakeConnection

from election.settings import Settings
from warehouse.base import RAW_SCHEMA, STATE_TABLE, Extract
from warehouse.tables import Column, RawTable

logger = logging.getLogger(__name__)

CREDENTIALS_BLOCK = "election-snowflake"
"""Name of the `SnowflakeCredentials` block that, when saved, overrides the settings."""

SNOWFLAKE_TYPES = {
    "varchar": "VARCHAR",
    "integer": "NUMBER(38, 0)",
    "bigint": "NUMBER(38, 0)",
    "date": "DATE",
    "timestamptz": "TIMESTAMP_TZ",
}
"""Snowflake type of each column type that `warehouse.tables` uses."""

CSV_FORMAT = (
    "type = csv skip_header = 1 field_optionally_enclosed_by = '\"' "
    "empty_field_as_null = true null_if = ()"
)
"""How the extracts that Postgres `COPY ... CSV HEADER` wrote are read."""

NOT_FOUND = 2003
"""Snowflake's error number for an object that does not exist."""

STAGE = "sync_extracts"
"""Temporary stage in the raw schema that the extracts are PUT into."""


def load_credentials(
    settings: Settings, block_name: str | None = CREDENTIALS_BLOCK
) -> SnowflakeCredentials:
    """The credentials of the block `block_name` if saved, else those of `settings`.

    The block is looked up only when a Prefect API is configured, so that a
    process without one does not start a temporary Prefect server; a block that
    is missing or unreachable falls back to the settings.

    Args:
        settings: the pipeline settings, whose `snowflake_*` fields are the fallback.
        block_name: name of a `SnowflakeCredentials` block; None skips the lookup.

    Raises:
        ValueError: neither a block nor the settings give an account and a password.
    """
    if block_name is not None and get_current_settings().api.url:
        try:
            # NOTE: _sync forces the blocking call even where an event loop runs
            credentials = SnowflakeCredentials.load(block_name, _sync=True)
        except (ValueError, httpx.HTTPError) as error:
            logger.debug("no Snowflake credentials block %r: %s", block_name, error)
        else:
            logger.info("using the Snowflake credentials block %r", block_name)
            if credentials.role is None:
                credentials = credentials.model_copy(
                    update={"role": settings.snowflake_role}
                )
            return credentials

    if not settings.snowflake_account or settings.snowflake_password is None:
        raise ValueError(
            "Snowflake credentials are incomplete: account is "
            f"{settings.snowflake_account!r} and the password is "
            f"{'unset' if settings.snowflake_password is None else 'set'}; set "
            "ELECTION_SNOWFLAKE_ACCOUNT, ELECTION_SNOWFLAKE_USER and "
            "ELECTION_SNOWFLAKE_PASSWORD, or save a SnowflakeCredentials block "
            f"named {block_name or CREDENTIALS_BLOCK!r}"
        )
    try:
        return SnowflakeCredentials(
            account=settings.snowflake_account,
            user=settings.snowflake_user or None,
            password=settings.snowflake_password,
            role=settings.snowflake_role,
        )
    except ValidationError as error:
        raise ValueError(
            f"Snowflake settings of account {settings.snowflake_account!r} are not "
            f"valid credentials ({error.error_count()} errors): fix the "
            f"ELECTION_SNOWFLAKE_* variables named in\n{error}"
        ) from error


def endpoint_overrides(settings: Settings) -> dict[str, Any]:
    """Host, port and protocol from `settings` that are set, for an emulator."""
    overrides = {
        "host": settings.snowflake_host,
        "port": settings.snowflake_port,
        "protocol": settings.snowflake_protocol,
    }
    return {name: value for name, value in overrides.items() if value is not None}


def connect_snowflake(
    settings: Settings,
    schema: str = RAW_SCHEMA,
    credentials_block: str | None = CREDENTIALS_BLOCK,
) -> SnowflakeConnection:
    """A connection to the pipeline's Snowflake database, in the UTC time zone.

    The credentials come from `load_credentials`; the database, virtual
    warehouse and schema go through prefect-snowflake's `SnowflakeConnector`,
    which hands its extra arguments to `snowflake.connector.connect`: that is
    how the host, port and protocol of an emulator such as fakesnow get there.

    Args:
        settings: the pipeline settings.
        schema: the session's current schema.
        credentials_block: name of a `SnowflakeCredentials` block to prefer over
            the settings; None uses the settings alone.
    """
    connector = SnowflakeConnector(
        credentials=load_credentials(settings, credentials_block),
        database=settings.snowflake_database,
        warehouse=settings.snowflake_warehouse,
        schema=schema,
    )
    return connector.get_connection(
        session_parameters={"TIMEZONE": "UTC"}, **endpoint_overrides(settings)
    )


def snowflake_type(column: Column) -> str:
    """The Snowflake type of a raw column."""
    try:
        return SNOWFLAKE_TYPES[column.type]
    except KeyError:
        raise ValueError(
            f"column {column.name!r} has type {column.type!r}, which has no Snowflake "
            f"type: use one of {sorted(SNOWFLAKE_TYPES)} or add it to SNOWFLAKE_TYPES"
        ) from None


def staging_table(table: RawTable) -> str:
    """Name of the temporary table that an extract of `table` is copied into."""
    return f"sync_incoming_{table.name}"


def typed(column: Column, alias: str) -> str:
    """SQL that turns the text of `column` in the staging table `alias` into its type.

    NOTE: Postgres writes a UTC offset as `+00`. Snowflake's automatic timestamp
    formats want `+00:00`, and the file-format option that would name another
    format (TIMESTAMP_FORMAT) is not supported by fakesnow, so the offset is
    completed here, where both read it the same way.
    """
    value = f"{alias}.{column.name}"
    if column.type == "timestamptz":
        value = f"regexp_replace({value}, '([+-][0-9]{{2}})$', '\\\\1:00')"
    if column.type == "varchar":
        return value
    return f"cast({value} as {snowflake_type(column)})"


class SnowflakeWarehouse:
    """The raw schema of the pipeline's Snowflake database.

    `load` stages every extract first: PUT of the CSV file into a temporary
    stage, then COPY INTO a temporary table of VARCHAR columns. Then one
    transaction replaces the rows of every incoming key (DELETE of the keys, then
    INSERT of the newest version of each key, typed) and saves the watermarks.

    NOTE: the upsert is DELETE + INSERT rather than MERGE. Inside a transaction
    fakesnow 0.12 cannot run MERGE: it emulates it with a temporary table whose
    bookkeeping writes a second DuckDB database, which DuckDB refuses in one
    transaction. Both statements in one Snowflake transaction give the rows and
    the atomicity a MERGE would, and this one code path runs on both.
    """

    name = "snowflake"

    def __init__(self, conn: SnowflakeConnection) -> None:
        self.conn = conn

    @classmethod
    def from_settings(
        cls, settings: Settings, credentials_block: str | None = CREDENTIALS_BLOCK
    ) -> SnowflakeWarehouse:
        """The raw schema of the settings' database, reached by `connect_snowflake`.

        Args:
            settings: the pipeline settings.
            credentials_block: as in `connect_snowflake`.
        """
        return cls(connect_snowflake(settings, RAW_SCHEMA, credentials_block))

    def _execute(
        self, sql: str, params: Sequence[Any] | None = None
    ) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def ensure_tables(self, tables: Sequence[RawTable]) -> None:
        """Create the raw schema and tables, and add columns they lack."""
        self._execute(f"create schema if not exists {RAW_SCHEMA}")
        self._execute(f"use schema {RAW_SCHEMA}")
        self._execute(
            f"""
            create table if not exists {RAW_SCHEMA}.{STATE_TABLE} (
                table_name varchar not null,
                watermark number(38, 0) not null,
                synced_at timestamp_tz not null
            )
            """
        )
        for table in tables:
            columns = ", ".join(f"{c.name} {snowflake_type(c)}" for c in table.columns)
            self._execute(
                f"create table if not exists {RAW_SCHEMA}.{table.name} "
                f"({columns}, _synced_at timestamp_tz)"
            )
            existing = {
                row[0].lower()
                for row in self._execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = %s and table_name = %s",
                    [RAW_SCHEMA.upper(), table.name.upper()],
                )
            }
            for column in table.columns:
                if column.name.lower() not in existing:
                    logger.info("adding column %s to raw.%s", column.name, table.name)
                    self._execute(
                        f"alter table {RAW_SCHEMA}.{table.name} "
                        f"add column {column.name} {snowflake_type(column)}"
                    )

    def watermarks(self) -> dict[str, int]:
        """The saved watermark of each table synced so far."""
        rows = self._execute(
            f"select table_name, watermark from {RAW_SCHEMA}.{STATE_TABLE}"
        )
        return {name: int(watermark) for name, watermark in rows}

    def load(self, extracts: Sequence[Extract], watermark: int) -> dict[str, int]:
        """Upsert `extracts` by key and save `watermark`, in one transaction.

        The staging tables are made and filled before the transaction begins,
        since Snowflake commits the open transaction before any DDL.

        Returns:
            Rows written per table: the distinct keys of its extract.
        """
        synced_at = datetime.now(UTC)
        self._execute(f"use schema {RAW_SCHEMA}")
        self._execute(f"create or replace temporary stage {STAGE}")
        staged = [extract for extract in extracts if extract.rows > 0]
        written: dict[str, int] = {}
        try:
            for extract in staged:
                self._stage(extract)
            self._execute("begin")
            try:
                for extract in extracts:
                    name = extract.table.name
                    written[name] = self._upsert(extract, synced_at)
                    self._save_watermark(name, watermark, synced_at)
                self._execute("commit")
            except BaseException:
                self._rollback()
                raise
        finally:
            self._drop_staging(staged)
        logger.info(
            "loaded %s into Snowflake up to watermark %d",
            ", ".join(f"{count:,} rows of {name}" for name, count in written.items()),
            watermark,
        )
        return written

    def _stage(self, extract: Extract) -> None:
        """Copy an extract's CSV file into a new temporary table of text columns."""
        table = extract.table
        staging = staging_table(table)
        columns = ", ".join(f"{name} varchar" for name in table.column_names)
        self._execute(f"create or replace temporary table {staging} ({columns})")
        path = extract.path.resolve().as_posix().replace("'", "\\'")
        self._execute(
            f"put 'file://{path}' @{STAGE}/{table.name} "
            "auto_compress = true overwrite = true"
        )
        self._execute(
            f"copy into {staging} from @{STAGE}/{table.name}/ "
            f"file_format = ({CSV_FORMAT}) purge = true"
        )
        logger.debug("staged %d rows of %s", extract.rows, table.name)

    def _drop_staging(self, extracts: Sequence[Extract]) -> None:
        """Drop the staging tables, which the session's end would drop too.

        The stage stays: COPY purged its files, and the next load replaces it.
        """
        for extract in extracts:
            staging = staging_table(extract.table)
            try:
                self._execute(f"drop table if exists {staging}")
            except snowflake.connector.Error as error:
                logger.warning(
                    "could not drop the staging table %s (%s); it ends with the "
                    "session",
                    staging,
                    error,
                )

    def _upsert(self, extract: Extract, synced_at: datetime) -> int:
        """Replace the rows of the staged keys with their newest version."""
        table = extract.table
        if extract.rows == 0:
            return 0
        staging = staging_table(table)
        target = f"{RAW_SCHEMA}.{table.name}"
        key = next(c for c in table.columns if c.name == table.key)
        updated_at = next(c for c in table.columns if c.name == "updated_at")
        names = ", ".join(table.column_names)
        values = ", ".join(typed(column, "s") for column in table.columns)

        self._execute(
            f"delete from {target} where {table.key} in "
            f"(select {typed(key, 's')} from {staging} as s)"
        )
        with self.conn.cursor() as cursor:
            # the newest version of a key wins when the extract holds it twice
            cursor.execute(
                f"""
                insert into {target} ({names}, _synced_at)
                select {values}, cast(%s as timestamp_tz)
                from {staging} as s
                qualify row_number() over (
                    partition by s.{table.key}
                    order by {typed(updated_at, "s")} desc nulls last
                ) = 1
                """,
                [synced_at.isoformat()],
            )
            return int(cursor.rowcount or 0)

    def _save_watermark(self, table: str, watermark: int, synced_at: datetime) -> None:
        self._execute(
            f"delete from {RAW_SCHEMA}.{STATE_TABLE} where table_name = %s", [table]
        )
        self._execute(
            f"insert into {RAW_SCHEMA}.{STATE_TABLE} "
            "(table_name, watermark, synced_at) "
            "values (%s, %s, cast(%s as timestamp_tz))",
            [table, watermark, synced_at.isoformat()],
        )

    def _rollback(self) -> None:
        try:
            self._execute("rollback")
        except snowflake.connector.Error as error:
            logger.warning(
                "rolling back the Snowflake load failed (%s); Snowflake rolls the "
                "transaction back when the session ends",
                error,
            )

    def counts(self, tables: Sequence[RawTable]) -> dict[str, int]:
        """Rows per raw table; a table not created yet counts 0."""
        result = {}
        for table in tables:
            try:
                rows = self._execute(f"select count(*) from {RAW_SCHEMA}.{table.name}")
            except snowflake.connector.ProgrammingError as error:
                if error.errno != NOT_FOUND:
                    raise
                rows = [(0,)]
            result[table.name] = int(rows[0][0])
        return result

    def key_versions(self, table: RawTable) -> list[tuple[object, datetime]]:
        """Each row's key and `updated_at`, for reconciliation."""
        return self._execute(
            f"select {table.key}, updated_at from {RAW_SCHEMA}.{table.name}", []
        )

    def election_counts(self, election_id: str) -> dict[str, int]:
        """Voters and votes of one election in the raw tables."""
        return {
            table: int(
                self._execute(
                    f"select count(*) from {RAW_SCHEMA}.{table} where election_id = %s",
                    [election_id],
                )[0][0]
            )
            for table in ("voters", "votes")
        }

    def truncate(self, tables: Sequence[RawTable]) -> None:
        """Empty `tables` and forget their watermarks, for a full resync."""
        self._execute("begin")
        try:
            for table in tables:
                self._execute(f"delete from {RAW_SCHEMA}.{table.name}")
                self._execute(
                    f"delete from {RAW_SCHEMA}.{STATE_TABLE} where table_name = %s",
                    [table.name],
                )
            self._execute("commit")
        except BaseException:
            self._rollback()
            raise

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()
