"""Sync benchmark: staging into DuckDB, initial and incremental, and a raw baseline.

`python -m benchmarks.sync [--ratio 1000] [--quick]` starts PostgreSQL and a Prefect
server of its own, loads a scenario's voters and votes straight into staging (not
measured), and measures in one run:

1. the raw baseline: `COPY (the sync's own query) TO STDOUT` per table, loaded
   straight into a fresh DuckDB file with `read_csv`, no sync logic;
2. the initial sync as users run it, the Prefect flow `flows.sync.sync()`, from
   its call to its return;
3. after 1% of voters changed their registration and 1% more votes came in,
   the incremental sync flow, from its call to its return.

`sync_tables` alone (no Prefect) runs beside each flow into a DuckDB file of its
own, to tell the sync's work from Prefect's. Prints a table, writes
bench-results/sync.json.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb
import psycopg

from benchmarks.common import (
    flow_runs,
    header,
    load_average,
    log,
    met,
    print_table,
    private_stack,
    profiling,
    rate,
    ratio,
    task_runs,
    write_results,
)
from election.contracts import DISTRICTS, RegistrationEvent, VoteEvent, stable_id
from election.scenario import Ballot, Scenario, iter_voters, load_scenario
from election.settings import PROJECT_ROOT, Settings
from producers.identities import LAST_NAMES
from producers.registrations import iter_registration_events
from producers.votes import iter_vote_events, vote_event
from tasks.ingest import Positioned, write_registrations, write_votes
from tasks.sync import sync_tables
from warehouse.duckdb_target import DuckDBWarehouse
from warehouse.tables import RAW_TABLES

NAME = "sync"
INITIAL_TARGET = 0.7
"""Share of the raw baseline's rows per second the initial sync should reach."""
INCREMENTAL_TARGET_S = 2.0
"""Longest the incremental sync flow should take, call to return."""
LOAD_BATCH = 5_000


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """`items` in slices of `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_staging(
    settings: Settings, events: Sequence[RegistrationEvent] | Sequence[VoteEvent]
) -> None:
    """Write `events` with the consumers' writers, a transaction per 5,000."""
    writer = (
        write_registrations if isinstance(events[0], RegistrationEvent) else write_votes
    )
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        for batch in chunks(events, LOAD_BATCH):
            with conn.transaction():
                writer(conn, [Positioned(event) for event in batch])


def staging_sizes(settings: Settings) -> dict[str, dict[str, int | float]]:
    """Rows, heap and index bytes of voters and votes, for the scaling estimates."""
    sizes = {}
    with psycopg.connect(settings.postgres_dsn) as conn:
        for table in ("voters", "votes"):
            rows, heap, indexes = conn.execute(
                f"select count(*), pg_table_size('{table}'), "
                f"pg_indexes_size('{table}') from {table}"
            ).fetchone()
            sizes[table] = {
                "rows": rows,
                "table_bytes": heap,
                "index_bytes": indexes,
                "bytes_per_row": round((heap + indexes) / rows, 1) if rows else 0.0,
            }
    return sizes


def registration_updates(
    registrations: Sequence[RegistrationEvent], share: float
) -> list[RegistrationEvent]:
    """`update` events of `share` of the voters, evenly spread, each a day newer.

    A voter of ME or NE moves to the next district of the state; any other voter
    takes another last name.
    """
    step = max(1, round(1 / share))
    updates = []
    for index in range(0, len(registrations), step):
        event = registrations[index]
        changes: dict[str, Any] = {
            "event_id": stable_id("benchmark-update", event.voter_id),
            "action": "update",
            "occurred_at": event.occurred_at + timedelta(days=1),
        }
        if event.state in DISTRICTS:
            districts = DISTRICTS[event.state]
            position = districts.index(event.district)
            changes["district"] = districts[(position + 1) % len(districts)]
        else:
            position = (
                LAST_NAMES.index(event.last_name)
                if event.last_name in LAST_NAMES
                else 0
            )
            changes["last_name"] = LAST_NAMES[(position + 1) % len(LAST_NAMES)]
        updates.append(RegistrationEvent(**(event.model_dump() | changes)))
    return updates


def new_votes(scenario: Scenario, count: int, skip: set[Any]) -> list[VoteEvent]:
    """Votes of `count` voters who have not voted, evenly spread over the roll.

    Voters in `skip` (those whose registration changed) are left out.
    """
    voted = {(c.state, c.district): c.total_votes for c in scenario.cells}
    idle = [
        voter
        for voter in iter_voters(scenario)
        if voter.index >= voted[(voter.state, voter.district)]
        and voter.voter_id not in skip
    ]
    step = max(1, len(idle) // max(1, count))
    chosen = list(islice(idle[::step], count))
    parties = ("DEM", "REP", "OTH")
    return [
        vote_event(scenario, Ballot(voter, parties[i % 3]))
        for i, voter in enumerate(chosen)
    ]


def raw_baseline(settings: Settings, folder: Path) -> tuple[float, int]:
    """Seconds and rows of COPY TO STDOUT per table, read into a new DuckDB file.

    The same query the sync runs (its columns, from watermark 0), the same CSV
    reader settings, but no watermark, no merge and no Prefect.
    """
    target = folder / "raw-baseline.duckdb"
    rows = 0
    started = time.perf_counter()
    with (
        psycopg.connect(settings.postgres_dsn, options="-c TimeZone=UTC") as conn,
        duckdb.connect(str(target)) as warehouse,
    ):
        warehouse.execute("set timezone = 'UTC'")
        for table in RAW_TABLES:
            path = folder / f"raw-{table.name}.csv"
            with (
                path.open("wb") as out,
                conn.cursor().copy(
                    f"copy ({table.source_query()}) to stdout "
                    "with (format csv, header true)",
                    ("0",),
                ) as copy,
            ):
                for chunk in copy:
                    out.write(chunk)
            types = ", ".join(f"'{c.name}': '{c.type}'" for c in table.columns)
            warehouse.execute(
                f"create table {table.name} as select * from read_csv(?, "
                f"header = true, columns = {{{types}}}, allow_quoted_nulls = false, "
                "timestampformat = 'ISO')",
                [str(path)],
            )
            rows += warehouse.execute(f"select count(*) from {table.name}").fetchone()[
                0
            ]
    return time.perf_counter() - started, rows


def direct_sync(settings: Settings, path: Path, folder: Path) -> tuple[float, int]:
    """Seconds and rows of `sync_tables` into the DuckDB file at `path`, no Prefect."""
    started = time.perf_counter()
    warehouse = DuckDBWarehouse(path)
    try:
        result = sync_tables(settings, warehouse, RAW_TABLES, folder)
    finally:
        warehouse.close()
    return time.perf_counter() - started, result.total


def flow_sync(profile: str | None = None) -> tuple[float, int, dict[str, Any]]:
    """Seconds and rows of the sync flow, call to return, and its runs' timings."""
    from flows.sync import sync

    with profiling(profile is not None, profile or ""):
        started = time.perf_counter()
        rows = asyncio.run(sync())
        seconds = time.perf_counter() - started
    run = flow_runs("sync-warehouse")[-1]
    tasks = task_runs(run["id"])
    timing = {
        "flow_run_seconds": run["seconds"],
        "task_seconds": {task["name"]: task["seconds"] for task in tasks},
    }
    return seconds, sum(rows.values()), timing


def cli_sync() -> float:
    """Wall seconds of `python -m flows.sync` with nothing to move, start to exit."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "flows.sync"],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of the sync benchmark."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sync", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--year", type=int, default=2020, choices=(2020, 2024))
    parser.add_argument("--ratio", type=int, default=1_000)
    parser.add_argument("--change-share", type=float, default=0.01)
    parser.add_argument("--quick", action="store_true", help="1:10,000")
    parser.add_argument(
        "--no-cli", action="store_true", help="skip the `python -m flows.sync` run"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile both sync flows with pyinstrument (slows them)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the stack's data")
    args = parser.parse_args(argv)
    if args.quick:
        args.ratio = 10_000
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the sync benchmark on a stack of its own; print and write its figures."""
    args = parse_args(argv)
    document = header(NAME, "benchmarks.sync", argv)
    with private_stack(("postgres", "prefect"), keep=args.keep) as stack:
        document["services_up_s"] = round(stack.up_seconds, 1)
        measure(stack.settings, args, document)
    document["load_average_end"] = load_average()
    _print(document)
    path = write_results(NAME, document)
    print(f"\nwrote {path}")
    return document


def measure(
    settings: Settings, args: argparse.Namespace, document: dict[str, Any]
) -> dict[str, Any]:
    """Load staging, time the baseline and both syncs; add the figures to `document`.

    `settings` and `get_settings()` must point at the same running PostgreSQL
    and Prefect server; the scenario's rows are written into that staging
    database and synced into `settings.warehouse_path`.
    """
    scenario = load_scenario(args.year, args.ratio)
    log(f"building the events of {scenario.election_id}")
    registrations = list(iter_registration_events(scenario))
    votes = list(iter_vote_events(scenario))
    updates = registration_updates(registrations, args.change_share)
    extra = new_votes(
        scenario,
        round(len(votes) * args.change_share),
        {event.voter_id for event in updates},
    )
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    timings: dict[str, Any] = {}
    load: dict[str, list[float]] = {}
    import flows.sync  # noqa: F401  (imports are not part of any figure)

    with tempfile.TemporaryDirectory(dir=settings.data_dir) as scratch:
        folder = Path(scratch)

        log(f"loading {len(registrations):,} voters and {len(votes):,} votes")
        started = time.perf_counter()
        load_staging(settings, registrations)
        load_staging(settings, votes)
        seconds["load_staging"] = time.perf_counter() - started
        document["staging_sizes"] = staging_sizes(settings)

        log("raw baseline: COPY TO STDOUT into a new DuckDB file")
        seconds["raw"], rows["raw"] = raw_baseline(settings, folder)
        load["raw"] = load_average()

        log("initial sync flow")
        profile = f"{NAME}-profile-initial" if args.profile else None
        seconds["initial_flow"], rows["initial_flow"], timings["initial_flow"] = (
            flow_sync(profile)
        )
        load["initial_flow"] = load_average()
        log("initial sync_tables without Prefect")
        direct = folder / "direct.duckdb"
        seconds["initial_direct"], rows["initial_direct"] = direct_sync(
            settings, direct, folder
        )

        log(f"changing {len(updates):,} voters and adding {len(extra):,} votes")
        load_staging(settings, updates)
        load_staging(settings, extra)

        log("incremental sync flow")
        profile = f"{NAME}-profile-incremental" if args.profile else None
        incremental = flow_sync(profile)
        seconds["incremental_flow"], rows["incremental_flow"] = incremental[:2]
        timings["incremental_flow"] = incremental[2]
        load["incremental_flow"] = load_average()
        log("incremental sync_tables without Prefect")
        seconds["incremental_direct"], rows["incremental_direct"] = direct_sync(
            settings, direct, folder
        )
        if not args.no_cli:
            log("`python -m flows.sync` with nothing to move")
            seconds["cli_nothing_to_move"] = cli_sync()

    document.update(
        parameters=vars(args)
        | {
            "election_id": scenario.election_id,
            "voters": len(registrations),
            "votes": len(votes),
            "voters_changed": len(updates),
            "votes_added": len(extra),
        },
        seconds={key: round(value, 3) for key, value in seconds.items()},
        rows=rows,
        prefect_timings=timings,
        results=_results(seconds, rows),
        load_average_by_stage=load,
    )
    return document


def _results(seconds: dict[str, float], rows: dict[str, int]) -> dict[str, Any]:
    raw_rate = rate(rows["raw"], seconds["raw"])
    flow_rate = rate(rows["initial_flow"], seconds["initial_flow"])
    return {
        "raw_rows_per_s": raw_rate,
        "initial_flow_rows_per_s": flow_rate,
        "initial_direct_rows_per_s": rate(
            rows["initial_direct"], seconds["initial_direct"]
        ),
        "initial_ratio_to_raw": ratio(flow_rate, raw_rate),
        "initial_target_ratio": INITIAL_TARGET,
        "initial_target_met": flow_rate >= INITIAL_TARGET * raw_rate,
        "incremental_flow_s": round(seconds["incremental_flow"], 3),
        "incremental_direct_s": round(seconds["incremental_direct"], 3),
        "incremental_target_s": INCREMENTAL_TARGET_S,
        "incremental_target_met": seconds["incremental_flow"] <= INCREMENTAL_TARGET_S,
    }


def _print(document: dict[str, Any]) -> None:
    s, n, r = document["seconds"], document["rows"], document["results"]
    rows = [
        (
            "raw COPY TO STDOUT -> DuckDB (baseline)",
            n["raw"],
            s["raw"],
            r["raw_rows_per_s"],
            1.0,
            "",
        ),
        (
            "initial sync flow",
            n["initial_flow"],
            s["initial_flow"],
            r["initial_flow_rows_per_s"],
            r["initial_ratio_to_raw"],
            f"target 0.7x: {met(r['initial_target_met'])}",
        ),
        (
            "initial sync_tables, no Prefect",
            n["initial_direct"],
            s["initial_direct"],
            r["initial_direct_rows_per_s"],
            ratio(r["initial_direct_rows_per_s"], r["raw_rows_per_s"]),
            "",
        ),
        (
            "incremental sync flow",
            n["incremental_flow"],
            s["incremental_flow"],
            rate(n["incremental_flow"], s["incremental_flow"]),
            None,
            f"target <= 2 s: {met(r['incremental_target_met'])}",
        ),
        (
            "incremental sync_tables, no Prefect",
            n["incremental_direct"],
            s["incremental_direct"],
            rate(n["incremental_direct"], s["incremental_direct"]),
            None,
            "",
        ),
    ]
    if "cli_nothing_to_move" in s:
        rows.append(
            (
                "python -m flows.sync, nothing to move",
                0,
                s["cli_nothing_to_move"],
                None,
                None,
                "process start to exit",
            )
        )
    print_table(
        f"sync, {document['parameters']['election_id']}, load average "
        f"{document['load_average_start']} -> {document['load_average_end']}",
        ("stage", "rows", "seconds", "rows/s", "vs baseline", "note"),
        rows,
    )


if __name__ == "__main__":
    main()
