"""Warehouses the sync writes into: DuckDB (the embedded default) and Snowflake."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from election.settings import Settings
from warehouse.base import Warehouse


@contextmanager
def open_warehouse(settings: Settings) -> Iterator[Warehouse]:
    """The configured warehouse, ready for writing, closed after the block.

    For DuckDB the block holds the file's writer lock, so the sync and dbt never
    write the file at once.
    """
    if settings.warehouse == "duckdb":
        from warehouse.duckdb_target import DuckDBWarehouse, writing

        with writing(settings.warehouse_path):
            warehouse = DuckDBWarehouse(
                settings.warehouse_path, settings.duckdb_memory_limit
            )
            try:
                yield warehouse
            finally:
                warehouse.close()
    else:
        from warehouse.snowflake_target import SnowflakeWarehouse

        warehouse = SnowflakeWarehouse.from_settings(settings)
        try:
            yield warehouse
        finally:
            warehouse.close()
