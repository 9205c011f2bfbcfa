"""Prefect flow of the incremental sync from PostgreSQL into the warehouse.

The flow is a coroutine, though its work blocks, for one reason: at the end of a
synchronous flow Prefect's engine joins the flow's heartbeat thread, which sleeps
in whole seconds, so every run of a plain `def` flow ends up to a second after
its work did. The sync runs every minute and dbt waits for it. Call it with
`asyncio.run(sync())`, or `await sync()` from a coroutine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

from election.settings import get_settings
from tasks.sync import SyncResult, sync_tables
from warehouse import open_warehouse
from warehouse.tables import RAW_TABLE_NAMES, raw_table


@task(name="sync-tables", cache_policy=NO_CACHE)
def sync_changed_rows(tables: list[str], full_refresh: bool) -> SyncResult:
    """Copy the rows changed since each table's watermark into the warehouse."""
    logger = get_run_logger()
    settings = get_settings()
    specs = [raw_table(name) for name in tables]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with (
        open_warehouse(settings) as warehouse,
        tempfile.TemporaryDirectory(dir=settings.data_dir, prefix="sync-") as folder,
    ):
        if full_refresh:
            warehouse.ensure_tables(specs)
            warehouse.truncate(specs)
            logger.info("emptied %s for a full resync", ", ".join(tables))
        result = sync_tables(settings, warehouse, specs, Path(folder))
    for name in tables:
        logger.info(
            "synced %s rows of %s into %s up to transaction %s (was %s)",
            f"{result.rows.get(name, 0):,}",
            name,
            settings.warehouse,
            result.watermark,
            result.previous.get(name, "never synced"),
        )
    return result


@flow(name="sync-warehouse")
async def sync(
    tables: list[str] | None = None, full_refresh: bool = False
) -> dict[str, int]:
    """Copy what changed in the staging tables into the warehouse's raw schema.

    Args:
        tables: which of elections, candidates, voters, votes; all by default.
        full_refresh: empty the tables in the warehouse and copy them whole.

    Returns:
        Rows moved per table.
    """
    tables = list(tables or RAW_TABLE_NAMES)
    result = sync_changed_rows(tables, full_refresh)

    await acreate_table_artifact(
        key="sync-report",
        table=[
            {
                "table": name,
                "rows": result.rows.get(name, 0),
                "watermark": result.watermark,
                "previous watermark": result.previous.get(name),
            }
            for name in tables
        ],
        description="Rows moved per table by the last sync, and the new watermark",
    )
    resource = {"prefect.resource.id": f"election.warehouse.{get_settings().warehouse}"}
    payload = {
        "rows": result.rows,
        "total": result.total,
        "watermark": result.watermark,
    }
    emit_event(event="election.sync.completed", resource=resource, payload=payload)
    if result.total > 0:
        # the dbt deployment's trigger: Prefect cannot filter on the payload
        emit_event(event="election.sync.rows-moved", resource=resource, payload=payload)
    return result.rows


def main() -> None:
    """`python -m flows.sync [--table NAME ...] [--full-refresh]`: one sync run."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--table", action="append", choices=RAW_TABLE_NAMES)
    parser.add_argument("--full-refresh", action="store_true")
    args = parser.parse_args()
    rows = asyncio.run(sync(tables=args.table, full_refresh=args.full_refresh))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
