"""Prefect flow that compares PostgreSQL with the warehouse and can repair it."""

from __future__ import annotations

import argparse
import asyncio
import sys

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.events import emit_event

from election.settings import get_settings
from flows.sync import sync
from tasks.reconcile import TableDifference, reconcile_tables
from warehouse import open_warehouse
from warehouse.tables import RAW_TABLE_NAMES, raw_table


def _compare(tables: list[str]) -> list[TableDifference]:
    settings = get_settings()
    with open_warehouse(settings) as warehouse:
        warehouse.ensure_tables([raw_table(name) for name in tables])
        return reconcile_tables(
            settings, warehouse, [raw_table(name) for name in tables]
        )


@flow(name="reconcile-warehouse")
def reconcile(tables: list[str] | None = None, repair: bool = False) -> dict[str, bool]:
    """Compare each table's rows in PostgreSQL and the warehouse, key by key.

    Counts and a checksum of the keys and update times are compared up to the
    warehouse's watermark; what changed since is pending, not a difference.

    Args:
        tables: which of elections, candidates, voters, votes; all by default.
        repair: copy each differing table whole (a full resync) and compare again.

    Returns:
        Whether each table is equal, after the repair when one was asked for.
    """
    logger = get_run_logger()
    tables = list(tables or RAW_TABLE_NAMES)
    differences = _compare(tables)
    for difference in differences:
        log = logger.info if difference.equal else logger.warning
        log(difference.describe())

    unequal = [d.table for d in differences if not d.equal]
    if unequal and repair:
        logger.info("resyncing %s in full", ", ".join(unequal))
        asyncio.run(sync(tables=unequal, full_refresh=True))
        differences = _compare(tables)

    create_table_artifact(
        key="reconciliation",
        table=[
            {
                "table": d.table,
                "equal": d.equal,
                "postgres rows": d.source_rows,
                "warehouse rows": d.target_rows,
                "pending": d.pending,
                "missing": d.missing,
                "extra": d.extra,
                "out of date": d.stale,
            }
            for d in differences
        ],
        description="PostgreSQL against the warehouse, up to its watermark",
    )
    emit_event(
        event="election.reconcile.completed",
        resource={
            "prefect.resource.id": f"election.warehouse.{get_settings().warehouse}"
        },
        payload={"unequal": [d.table for d in differences if not d.equal]},
    )
    return {d.table: d.equal for d in differences}


def main() -> None:
    """`python -m flows.reconcile [--table NAME] [--repair]`: exit 1 on a difference."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--table", action="append", choices=RAW_TABLE_NAMES)
    parser.add_argument("--repair", action="store_true")
    args = parser.parse_args()
    equal = reconcile(tables=args.table, repair=args.repair)
    for table, same in equal.items():
        print(f"{table:<12}{'equal' if same else 'DIFFERENT'}")
    sys.exit(0 if all(equal.values()) else 1)


if __name__ == "__main__":
    main()
