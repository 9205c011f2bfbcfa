"""Prefect flow that builds the dbt project: every model and test becomes a task."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager

from prefect import flow, get_run_logger
from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

from election.settings import PROJECT_ROOT, Settings, get_settings

DBT_DIR = PROJECT_ROOT / "dbt"


def dbt_environment(settings: Settings) -> dict[str, str]:
    """The variables `dbt/profiles.yml` reads, from the pipeline's settings."""
    env = {
        "ELECTION_DBT_TARGET": settings.warehouse,
        "ELECTION_DUCKDB_PATH": str(settings.warehouse_path),
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
def dbt_build(select: str | None = None, full_refresh: bool = False) -> dict[str, int]:
    """Build and test the dbt project against the configured warehouse.

    Each model, seed and test shows as a task in the Prefect UI; a failing test
    fails the flow.

    Args:
        select: a dbt selection such as `marts`; everything by default.
        full_refresh: rebuild incremental models from scratch.

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
        # NOTE: every node still shows as a task; asset events on top of them cost
        # about a sixth of the build's time on this machine for no reader.
        disable_assets=True,
    )
    with _warehouse_turn(settings):
        result = runner.invoke(args)

    statuses: dict[str, int] = {}
    for node in result.result.results:
        status = str(node.status)
        statuses[status] = statuses.get(status, 0) + 1
    logger.info(
        "dbt build on %s finished: %s",
        settings.warehouse,
        ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())),
    )
    return statuses


def main() -> None:
    """`python -m flows.dbt [--select SELECTION] [--full-refresh]`: one dbt build."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--select")
    parser.add_argument("--full-refresh", action="store_true")
    args = parser.parse_args()
    print(dbt_build(select=args.select, full_refresh=args.full_refresh))


if __name__ == "__main__":
    main()
