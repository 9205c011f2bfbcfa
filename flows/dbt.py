"""Prefect flow that builds the dbt project with prefect-dbt and reports the results."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

from election.settings import PROJECT_ROOT, Settings, get_settings
from warehouse.results import MARTS, results_query

DBT_DIR = PROJECT_ROOT / "dbt"


def dbt_environment(settings: Settings) -> dict[str, str]:
    """The variables `dbt/profiles.yml` reads, from the pipeline's settings."""
    env = {
        "ELECTION_DBT_TARGET": settings.warehouse,
        "ELECTION_DUCKDB_PATH": str(settings.warehouse_path),
        "ELECTION_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
        "DO_NOT_TRACK": "1",
    }
    if settings.warehouse == "snowflake":
        env |= {
            "ELECTION_SNOWFLAKE_ACCOUNT": settings.snowflake_account,
            "ELECTION_SNOWFLAKE_USER": settings.snowflake_user,
            "ELECTION_SNOWFLAKE_ROLE": settings.snowflake_role,
            "ELECTION_SNOWFLAKE_WAREHOUSE": settings.snowflake_warehouse,
            "ELECTION_SNOWFLAKE_DATABASE": settings.snowflake_database,
        }
        if settings.snowflake_password is not None:
            env["ELECTION_SNOWFLAKE_PASSWORD"] = (
                settings.snowflake_password.get_secret_value()
            )
        for name in ("host", "port", "protocol"):
            value = getattr(settings, f"snowflake_{name}")
            if value is not None:
                env[f"ELECTION_SNOWFLAKE_{name.upper()}"] = str(value)
    return env


@contextmanager
def _warehouse_turn(settings: Settings) -> Iterator[None]:
    """Hold the warehouse for dbt: the DuckDB writer lock, then publish a copy."""
    if settings.warehouse != "duckdb":
        yield
        return
    from warehouse.duckdb_target import publish, writing

    with writing(settings.warehouse_path):
        yield
        publish(settings.warehouse_path)


@flow(name="dbt-build")
def dbt_build(
    select: str | None = None, full_refresh: bool = False, node_tasks: bool = False
) -> dict[str, int]:
    """Build and test the dbt project against the configured warehouse.

    A failing model or test fails the flow, naming it. The run logs each node's
    status; a build of the `national_summary` mart leaves the national result of
    every election as the `national-results` artifact.

    Args:
        select: a dbt selection such as `marts`; everything by default.
        full_refresh: rebuild incremental models from scratch.
        node_tasks: show each model, seed and test as a task of its own in the
            Prefect UI; the build then takes about four times as long here.

    Returns:
        Nodes per status (success, pass, warn, ...).
    """
    logger = get_run_logger()
    settings = get_settings()
    os.environ.update(dbt_environment(settings))
    args = ["build"]
    if select:
        args += ["--select", select]
    if full_refresh:
        args.append("--full-refresh")

    runner = PrefectDbtRunner(
        settings=PrefectDbtSettings(
            project_dir=DBT_DIR,
            profiles_dir=DBT_DIR,
            target_path=settings.data_dir / "dbt-target",
        ),
        # NOTE: asset events on top of the node tasks cost about a sixth of the
        # build's time on this machine, for no reader.
        disable_assets=True,
        # NOTE: without callbacks prefect-dbt makes no task per node. Each node
        # task rebuilds Prefect's settings in a thread of its own, and with 165
        # nodes they queue on one lock: 38 s against dbt's own 10 s at 1:10,000.
        _disable_callbacks=not node_tasks,
    )
    with _warehouse_turn(settings):
        result = runner.invoke(args)

    statuses: dict[str, int] = {}
    for node in result.result.results:
        status = str(node.status)
        statuses[status] = statuses.get(status, 0) + 1
        if not node_tasks:
            logger.log(
                logging.WARNING if status in ("warn", "skipped") else logging.DEBUG,
                "%s %s: %s in %.2f s%s",
                node.node.resource_type,
                node.node.name,
                status,
                node.execution_time,
                f" ({node.message})" if node.message else "",
            )
    logger.info(
        "dbt build on %s finished: %s",
        settings.warehouse,
        ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())),
    )
    built = {node.node.name for node in result.result.results}
    if "national_summary" in built:
        _leave_results(settings)
    return statuses


def _leave_results(settings: Settings) -> None:
    """The national result of every election in the marts, as an artifact."""
    query, close = results_query(settings)
    try:
        rows = query(
            f"select election_id, winner_party, dem_electoral_votes, "
            f"rep_electoral_votes, oth_electoral_votes, unassigned_electoral_votes, "
            f"total_votes, turnout_rate from {MARTS}.national_summary "
            f"order by election_id",
            (),
        )
    finally:
        close()
    columns = (
        "election",
        "winner",
        "DEM electoral votes",
        "REP electoral votes",
        "OTH electoral votes",
        "unassigned electoral votes",
        "votes",
        "turnout",
    )
    create_table_artifact(
        key="national-results",
        table=[dict(zip(columns, _plain(row), strict=True)) for row in rows],
        description="National result of every election after the last dbt build",
    )


def _plain(row: tuple[object, ...]) -> list[object]:
    """JSON-ready values: numbers from the warehouse may be Decimals."""
    return [
        value if value is None or isinstance(value, str | int) else float(value)
        for value in row
    ]


def main() -> None:
    """`python -m flows.dbt [--select SELECTION] [--full-refresh]`: one dbt build."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--select")
    parser.add_argument("--full-refresh", action="store_true")
    parser.add_argument(
        "--node-tasks", action="store_true", help="one Prefect task per dbt node"
    )
    args = parser.parse_args()
    print(
        dbt_build(
            select=args.select,
            full_refresh=args.full_refresh,
            node_tasks=args.node_tasks,
        )
    )


if __name__ == "__main__":
    main()
