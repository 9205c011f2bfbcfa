"""Whole-job benchmark: the main flow per ratio, its stages, memory and scale-out.

`python -m benchmarks.pipeline [--ratios 10000 3000 1000] [--quick]` runs, for
each ratio and on a fresh stack of its own, `python -m flows.pipeline --json` as
a user does, and records:

- the wall time from the services being up to the process's exit, and the time
  of each stage (the pipeline's tasks and subflows, read from the Prefect API);
- events per second, overall and per stage;
- the peak memory of every process: the pipeline (its own rusage), the API's
  gunicorn workers, the Kafka JVM, PostgreSQL and the Prefect server (VmHWM of
  each process, sampled every half second).

Each ratio's stack then runs `dbt build` alone, for comparison. On the stack
of the scale-out's ratio (1:1,000 by default), after the job, it measures on
the backlog the job left in Kafka, in alternating rounds, one against two
consumer processes in one group, then one against two workers of the
`election-process` pool running prefect.yaml's bounded consumer deployments.
Prints tables, writes bench-results/pipeline.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.common import (
    BenchStack,
    MemorySampler,
    flow_runs,
    header,
    load_average,
    log,
    print_table,
    private_stack,
    rate,
    ratio,
    task_runs,
    write_results,
)
from benchmarks.ingest import build_events, raw_produce, truncate_staging
from election.contracts import REGISTRATION_TOPIC, VOTE_TOPIC, encode_event
from election.scenario import load_scenario
from election.settings import PROJECT_ROOT, Settings
from services.prefect_server import prefect_executable
from services.process import launch, process_alive, wait_until
from services.worker import (
    WORK_POOL,
    online_workers,
    stop_worker,
    worker_environment,
)

NAME = "pipeline"
TARGETS_S = {10_000: 60.0, 1_000: 300.0}
"""Longest wall time from the services being up to the result, per ratio."""
STAGES = (
    ("produce registrations", "task", "produce-registrations", "registrations"),
    ("produce votes", "task", "produce-votes", "votes"),
    ("consume registrations", "flow", "consume-registrations", "registrations"),
    ("consume votes", "flow", "consume-votes", "votes"),
    ("count staging rows", "task", "count-staging-rows", None),
    ("sync to warehouse", "flow", "sync-warehouse", "events"),
    ("count warehouse rows", "task", "count-raw-rows", None),
    ("dbt build", "flow", "dbt-build", "events"),
)
"""Stage name, kind of Prefect run, its name, and what its events are."""
CONSUMER_DEPLOYMENTS = {
    REGISTRATION_TOPIC: "consume-registrations/every-minute",
    VOTE_TOPIC: "consume-votes/every-minute",
}
"""The bounded consumer deployments of prefect.yaml that the worker rounds run."""
WORKER_ROUND_TIMEOUT_S = 1800.0
"""Longest wait for a worker round's two flow runs to end."""
WORKERS_NOTE = (
    "each round asks for one run of each consumer deployment; a worker takes one "
    "flow run at a time (--limit 1), so with one worker the two runs queue one "
    "after the other, and with two they run side by side on the machine's cores. "
    "A second worker adds no consumer to a topic: each deployment allows one run "
    "at a time."
)


def run_pipeline(stack: BenchStack, year: int, ratio_: int) -> dict[str, Any]:
    """Run `python -m flows.pipeline --json` once; its wall time, memory and result."""
    folder = stack.settings.data_dir
    out_path, err_path = (
        folder / f"pipeline-{ratio_}.out",
        folder / f"pipeline-{ratio_}.log",
    )
    command = [
        sys.executable,
        "-m",
        "flows.pipeline",
        "--scenario",
        str(year),
        "--ratio",
        str(ratio_),
        "--json",
    ]
    with (
        MemorySampler(stack.pids()) as sampler,
        out_path.open("wb") as out,
        err_path.open("wb") as err,
    ):
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=PROJECT_ROOT)
        sampler.add("pipeline", process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(command[1:])}` exited with {process.returncode}; its log "
            f"is {err_path}:\n{err_path.read_text()[-3000:]}"
        )
    memory = sampler.peaks()
    memory["pipeline"]["peak_process_mib"] = round(usage.ru_maxrss / 1024, 1)
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "result": _last_json(out_path.read_text()),
        "memory": memory,
    }


def _last_json(text: str) -> dict[str, Any]:
    """The JSON document the pipeline printed last."""
    lines = text.splitlines()
    start = max(i for i, line in enumerate(lines) if line == "{")
    return json.loads("\n".join(lines[start:]))


def stage_times(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Seconds and events per second of each stage, from the Prefect API."""
    runs = flow_runs()
    pipeline = next(run for run in runs if run["flow"] == "election-pipeline")
    tasks = task_runs(pipeline["id"])
    stages = []
    for label, kind, name, what in STAGES:
        found = (
            [r for r in runs if r["flow"] == name]
            if kind == "flow"
            else [t for t in tasks if t["name"].rsplit("-", 1)[0] == name]
        )
        seconds = sum(run["seconds"] or 0.0 for run in found)
        events = counts.get(what) if what else None
        stages.append(
            {
                "stage": label,
                "seconds": round(seconds, 3),
                "events": events,
                "events_per_s": rate(events, seconds) if events else None,
            }
        )
    measured = sum(stage["seconds"] for stage in stages)
    stages.append(
        {
            "stage": "rest of the flow (scenario, checks, report, artifacts)",
            "seconds": round((pipeline["seconds"] or 0.0) - measured, 3),
            "events": None,
            "events_per_s": None,
        }
    )
    stages.append(
        {
            "stage": "pipeline flow run, start to end",
            "seconds": pipeline["seconds"],
            "events": counts["events"],
            "events_per_s": rate(counts["events"], pipeline["seconds"] or 0.0),
        }
    )
    return stages


def dbt_alone(settings: Settings) -> float:
    """Seconds of `dbt build` run by dbt's own command, without Prefect."""
    from flows.dbt import DBT_DIR, dbt_environment

    started = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "build",
            "--project-dir",
            str(DBT_DIR),
            "--profiles-dir",
            str(DBT_DIR),
            "--target-path",
            str(settings.data_dir / "dbt-alone"),
        ],
        env=os.environ | dbt_environment(settings),
        cwd=DBT_DIR,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def measure_ratio(
    args: argparse.Namespace, ratio_: int
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One ratio on a fresh stack: services up, the whole job, stages, memory.

    Then `dbt build` alone on the same warehouse, and when `ratio_` is the
    scale-out's ratio, the scale-out on the backlog the job left in Kafka.
    """
    scenario = load_scenario(args.year, ratio_)
    counts = {
        "registrations": scenario.total_registrations,
        "votes": scenario.total_votes,
        "events": scenario.total_registrations + scenario.total_votes,
    }
    scale_out = None
    with private_stack(keep=args.keep) as stack:
        load_before = load_average()
        log(f"running {scenario.election_id}: {counts['events']:,} events")
        run = run_pipeline(stack, args.year, ratio_)
        stages = stage_times(counts)
        load_after = load_average()
        log("dbt build alone, by dbt's own command")
        stages.append(
            {
                "stage": "for comparison: `dbt build` alone, no Prefect",
                "seconds": round(dbt_alone(stack.settings), 3),
                "events": None,
                "events_per_s": None,
            }
        )
        if not args.no_scale_out and ratio_ == args.scale_ratio:
            scale_out = scale_out_on(stack.settings, scenario.election_id, args)
        up_seconds = stack.up_seconds
    result = run.pop("result")
    agree = all(
        set(stages_.values()) == {result["expected"][kind]}
        for kind, stages_ in result["counts"].items()
    )
    target = TARGETS_S.get(ratio_)
    return {
        "election_id": scenario.election_id,
        "ratio": ratio_,
        **counts,
        "services_up_s": round(up_seconds, 1),
        **run,
        "events_per_s": rate(counts["events"], run["wall_s"]),
        "target_s": target,
        "target_met": run["wall_s"] <= target if target else None,
        "stages": stages,
        "counts_agree": agree,
        "electoral_votes": result["electoral_votes"],
        "load_average_before": load_before,
        "load_average_after": load_after,
    }, scale_out


def _consumer_process(
    topic: str, group: str, ready: Any, go: Any, outcomes: Any
) -> None:
    """One consumer process: import, say ready, wait, run the flow to the end."""
    from flows.consume import consume_registrations, consume_votes

    run = consume_registrations if topic == REGISTRATION_TOPIC else consume_votes
    ready.release()
    go.wait()
    started = time.perf_counter()
    try:
        summary = asyncio.run(
            run(group_id=group, until_caught_up=True, idle_timeout_s=30)
        )
    except Exception as error:
        outcomes.put({"error": f"{type(error).__name__}: {error}"})
        return
    outcomes.put(summary | {"seconds": time.perf_counter() - started})


def run_consumers(
    topic: str, group: str, count: int
) -> tuple[float, list[dict[str, Any]]]:
    """Seconds for `count` consumer processes in one group to drain `topic`.

    The processes start and import before the clock starts; the clock stops
    when the last one has returned.
    """
    context = multiprocessing.get_context("spawn")
    ready, go, outcomes = context.Semaphore(0), context.Event(), context.Queue()
    processes = [
        context.Process(
            target=_consumer_process, args=(topic, group, ready, go, outcomes)
        )
        for _ in range(count)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.acquire()
    started = time.perf_counter()
    go.set()
    reports = [outcomes.get() for _ in processes]
    seconds = time.perf_counter() - started
    for process in processes:
        process.join()
    errors = [report["error"] for report in reports if "error" in report]
    if errors:
        raise RuntimeError(f"a consumer of {topic} failed: {'; '.join(errors)}")
    return seconds, reports


def staging_rows(settings: Settings) -> tuple[int, int]:
    """Rows in voters and votes."""
    with psycopg.connect(settings.postgres_dsn) as conn:
        voters = conn.execute("select count(*) from voters").fetchone()[0]
        votes = conn.execute("select count(*) from votes").fetchone()[0]
    return int(voters), int(votes)


def scale_out_on(
    settings: Settings, election_id: str, args: argparse.Namespace
) -> dict[str, Any]:
    """One against more consumer processes, then workers, on the topics' backlog.

    Each run empties the staging tables and reads both topics from their start
    in consumer groups of its own. The counts alternate for `--scale-rounds`
    rounds, so a change of the machine's load hits both alike; a round's
    speed-ups are against that round's first count.
    """
    counts, rounds = args.consumers, args.scale_rounds
    results: dict[str, Any] = {"election_id": election_id, "runs": []}
    for round_ in range(1, rounds + 1):
        for consumers in counts:
            results["runs"].append(_scale_run(settings, consumers) | {"round": round_})
    results["registrations"] = results["runs"][0][REGISTRATION_TOPIC]["messages"]
    results["votes"] = results["runs"][0][VOTE_TOPIC]["messages"]
    for run in results["runs"]:
        base = next(r for r in results["runs"] if r["round"] == run["round"])
        for topic in (REGISTRATION_TOPIC, VOTE_TOPIC):
            run[topic]["speed_up"] = ratio(
                run[topic]["events_per_s"], base[topic]["events_per_s"]
            )
    results["median_speed_up"] = {
        str(consumers): {
            topic: round(
                statistics.median(
                    r[topic]["speed_up"]
                    for r in results["runs"]
                    if r["consumers"] == consumers
                ),
                3,
            )
            for topic in (REGISTRATION_TOPIC, VOTE_TOPIC)
        }
        for consumers in counts
    }
    backlog = (results["registrations"], results["votes"])
    results["workers"] = workers_on(settings, backlog, args.workers, rounds)
    return results


def _scale_run(settings: Settings, consumers: int) -> dict[str, Any]:
    """Both topics drained by `consumers` processes into emptied staging tables."""
    truncate_staging(settings)
    group = f"bench-scale-{consumers}-{uuid.uuid4().hex[:8]}"
    run: dict[str, Any] = {"consumers": consumers, "load_before": load_average()}
    for topic in (REGISTRATION_TOPIC, VOTE_TOPIC):
        log(f"{consumers} consumer process(es) of {topic}, group {group}")
        seconds, reports = run_consumers(topic, f"{group}-{topic}", consumers)
        messages = sum(report["messages"] for report in reports)
        run[topic] = {
            "seconds": round(seconds, 3),
            "messages": messages,
            "events_per_s": rate(messages, seconds),
            "messages_per_consumer": [report["messages"] for report in reports],
        }
    run["rows"] = dict(zip(("voters", "votes"), staging_rows(settings), strict=True))
    run["load_after"] = load_average()
    return run


def workers_on(
    settings: Settings, backlog: tuple[int, int], counts: Sequence[int], rounds: int
) -> dict[str, Any]:
    """One against more workers of the pool, running both consumer deployments.

    Deploys the pool and `CONSUMER_DEPLOYMENTS` from prefect.yaml on this stack,
    then alternates `counts` for `rounds` rounds as the consumer scale-out does;
    `backlog` is the registrations and votes waiting in Kafka.
    """
    _deploy_consumers()
    results: dict[str, Any] = {
        "deployments": list(CONSUMER_DEPLOYMENTS.values()),
        "note": WORKERS_NOTE,
        "runs": [],
    }
    for round_ in range(1, rounds + 1):
        for workers in counts:
            run = _worker_run(settings, workers, backlog)
            results["runs"].append(run | {"round": round_})
    for run in results["runs"]:
        base = next(r for r in results["runs"] if r["round"] == run["round"])
        run["speed_up"] = ratio(run["events_per_s"], base["events_per_s"])
    results["median_speed_up"] = {
        str(workers): round(
            statistics.median(
                r["speed_up"] for r in results["runs"] if r["workers"] == workers
            ),
            3,
        )
        for workers in counts
    }
    return results


def _deploy_consumers() -> None:
    """The work pool and prefect.yaml's bounded consumer deployments on this stack."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.workers.process import ProcessWorker

    pool = WorkPoolCreate(
        name=WORK_POOL,
        type=ProcessWorker.type,
        base_job_template=ProcessWorker.get_default_base_job_template(),
    )
    with get_client(sync_client=True) as client:
        client.create_work_pool(pool, overwrite=True)
    names = [arg for name in CONSUMER_DEPLOYMENTS.values() for arg in ("-n", name)]
    command = [str(prefect_executable()), "--no-prompt", "deploy", *names]
    deploy = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
    if deploy.returncode != 0:
        raise RuntimeError(
            f"`prefect deploy {' '.join(names)}` exited with {deploy.returncode}:\n"
            f"{(deploy.stdout + deploy.stderr)[-3000:]}"
        )


def _start_workers(settings: Settings, count: int, tag: str) -> list[int]:
    """Start `count` workers of one flow run at a time; their pids, once online.

    They get the environment of `make worker` (`worker_environment`) and names
    of their own, so the server tells them from the previous round's.
    """
    folder = settings.data_dir / "bench-workers"
    names = [f"bench-{tag}-{index}" for index in range(1, count + 1)]
    pids = [
        launch(
            [
                *(str(prefect_executable()), "worker", "start", "--pool", WORK_POOL),
                *("--type", "process", "--name", name, "--limit", "1"),
            ],
            log_file=folder / f"{name}.log",
            pid_file=folder / f"{name}.pid",
            env=worker_environment(settings),
            cwd=PROJECT_ROOT,
        )
        for name in names
    ]
    if not wait_until(
        lambda: set(names) <= online_workers(settings.prefect_api_url),
        90.0,
        still_starting=lambda: all(process_alive(pid) for pid in pids),
    ):
        for pid in pids:
            stop_worker(pid, 5.0)
        raise RuntimeError(
            f"workers {', '.join(names)} were not online in pool {WORK_POOL} "
            f"within 90 s; read their logs in {folder}"
        )
    return pids


def _worker_run(
    settings: Settings, workers: int, backlog: tuple[int, int]
) -> dict[str, Any]:
    """One run of each consumer deployment on `workers` new workers, timed.

    The clock runs from asking for the two flow runs to the later one's end,
    as the Prefect API records it; the workers stop afterwards.
    """
    from prefect import get_client

    truncate_staging(settings)
    tag = uuid.uuid4().hex[:8]
    run: dict[str, Any] = {"workers": workers, "load_before": load_average()}
    pids = _start_workers(settings, workers, tag)
    log(f"{workers} worker(s) of {WORK_POOL} run both consumers, groups bench-{tag}-*")
    try:
        with get_client(sync_client=True) as client:
            deployments = {
                topic: client.read_deployment_by_name(name).id
                for topic, name in CONSUMER_DEPLOYMENTS.items()
            }
            started = datetime.now(UTC)
            ids = {
                topic: client.create_flow_run_from_deployment(
                    deployment, parameters={"group_id": f"bench-{tag}-{topic}"}
                ).id
                for topic, deployment in deployments.items()
            }
            runs: dict[str, Any] = {}

            def ended() -> bool:
                runs.update({t: client.read_flow_run(i) for t, i in ids.items()})
                return all(r.state and r.state.is_final() for r in runs.values())

            wait_until(
                ended,
                WORKER_ROUND_TIMEOUT_S,
                still_starting=lambda: all(process_alive(pid) for pid in pids),
            )
    finally:
        for pid in pids:
            stop_worker(pid, 60.0)
    failed = [
        f"{topic} {r.state_name}"
        for topic, r in runs.items()
        if not (r.state and r.state.is_completed())
    ]
    if failed:
        raise RuntimeError(
            f"consumer runs did not complete on {workers} worker(s) within "
            f"{WORKER_ROUND_TIMEOUT_S:.0f} s: {', '.join(failed)}; read the "
            f"workers' logs in {settings.data_dir / 'bench-workers'}"
        )
    seconds = max((r.end_time - started).total_seconds() for r in runs.values())
    events = sum(backlog)
    run |= {
        "seconds": round(seconds, 3),
        "events": events,
        "events_per_s": rate(events, seconds),
        "flow_runs": {
            topic: {
                "start_s": round((r.start_time - started).total_seconds(), 2),
                "end_s": round((r.end_time - started).total_seconds(), 2),
            }
            for topic, r in runs.items()
        },
    }
    run["rows"] = dict(zip(("voters", "votes"), staging_rows(settings), strict=True))
    run["every_event_once"] = tuple(run["rows"].values()) == backlog
    run["load_after"] = load_average()
    return run


def measure_scale_out(args: argparse.Namespace) -> dict[str, Any]:
    """The scale-out on a stack of its own, its backlog produced straight to Kafka."""
    registrations, votes = build_events(args.year, args.scale_ratio, None)
    election_id = registrations[0].election_id
    with private_stack(("postgres", "kafka", "prefect"), keep=args.keep) as stack:
        for topic, batch in ((REGISTRATION_TOPIC, registrations), (VOTE_TOPIC, votes)):
            log(f"producing a backlog of {len(batch):,} {topic} messages")
            messages = [(str(e.voter_id).encode(), encode_event(e)) for e in batch]
            raw_produce(stack.settings, topic, messages)
        del registrations, votes
        return scale_out_on(stack.settings, election_id, args)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of the whole-job benchmark."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.pipeline", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--year", type=int, default=2020, choices=(2020, 2024))
    parser.add_argument(
        "--ratios",
        type=int,
        nargs="*",
        default=[10_000, 3_000, 1_000],
        help="ratios of the whole job; none runs only the scale-out",
    )
    parser.add_argument(
        "--scale-ratio",
        type=int,
        default=1_000,
        help="scenario whose backlog the scale-out runs read; one of --ratios "
        "reuses that ratio's stack",
    )
    parser.add_argument("--consumers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="workers of the pool in the rounds of the consumer deployments",
    )
    parser.add_argument(
        "--scale-rounds",
        type=int,
        default=2,
        help="rounds of the alternating scale-out runs (default 2)",
    )
    parser.add_argument("--no-scale-out", action="store_true")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1:100,000 and 1:30,000; scale-out 1:30,000",
    )
    parser.add_argument("--keep", action="store_true", help="keep the stacks' data")
    args = parser.parse_args(argv)
    if args.quick:
        args.ratios, args.scale_ratio = [100_000, 30_000], 30_000
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the whole-job benchmark, print its tables, write its JSON."""
    args = parse_args(argv)
    document = header(NAME, "benchmarks.pipeline", argv)
    document["parameters"] = vars(args)
    document["ratios"] = []
    for ratio_ in args.ratios:
        measured, scale_out = measure_ratio(args, ratio_)
        document["ratios"].append(measured)
        if scale_out is not None:
            document["scale_out"] = scale_out
        _print_ratio(measured)
    document["memory_growth"] = _memory_growth(document["ratios"])
    if not args.no_scale_out and "scale_out" not in document:
        document["scale_out"] = measure_scale_out(args)
    document["load_average_end"] = load_average()
    _print_summary(document)
    path = write_results(NAME, document)
    print(f"\nwrote {path}")
    return document


def _memory_growth(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Peak memory of each role at the smallest and largest election, and the ratio."""
    if len(runs) < 2:
        return {}
    small, large = (
        min(runs, key=lambda r: r["events"]),
        max(runs, key=lambda r: r["events"]),
    )
    growth = {"events_ratio": ratio(large["events"], small["events"])}
    for role, peaks in large["memory"].items():
        before = small["memory"].get(role, {}).get("peak_process_mib", 0)
        after = peaks["peak_process_mib"]
        growth[role] = {
            "small_mib": before,
            "large_mib": after,
            "ratio": ratio(after, before),
        }
    return growth


def _print_ratio(run: dict[str, Any]) -> None:
    print_table(
        f"{run['election_id']}: {run['events']:,} events in {run['wall_s']:.1f} s "
        f"({run['events_per_s']:,.0f}/s), services up in {run['services_up_s']} s, "
        f"load {run['load_average_before']} -> {run['load_average_after']}",
        ("stage", "seconds", "events", "events/s"),
        [
            (s["stage"], s["seconds"], s["events"], s["events_per_s"])
            for s in run["stages"]
        ],
    )
    print_table(
        "peak memory (MiB)",
        ("process", "peak of one process", "peak of all, summed RSS", "processes"),
        [
            (role, m["peak_process_mib"], m["peak_total_rss_mib"], m["processes_seen"])
            for role, m in run["memory"].items()
        ],
    )


def _print_summary(document: dict[str, Any]) -> None:
    print_table(
        f"whole job, load average {document['load_average_start']} -> "
        f"{document['load_average_end']}",
        ("election", "events", "up s", "wall s", "events/s", "target s", "met"),
        [
            (
                r["election_id"],
                r["events"],
                r["services_up_s"],
                r["wall_s"],
                r["events_per_s"],
                r["target_s"],
                r["target_met"],
            )
            for r in document["ratios"]
        ],
    )
    growth = document.get("memory_growth")
    if growth:
        print_table(
            f"peak memory, smallest against largest election "
            f"({growth['events_ratio']}x the events)",
            ("process", "small MiB", "large MiB", "ratio"),
            [
                (role, g["small_mib"], g["large_mib"], g["ratio"])
                for role, g in growth.items()
                if role != "events_ratio"
            ],
        )
    scale = document.get("scale_out")
    if scale:
        print_table(
            f"consumer scale-out on {scale['election_id']} "
            f"({scale['registrations']:,} + {scale['votes']:,} messages)",
            (
                "round",
                "consumers",
                "registrations/s",
                "speed-up",
                "votes/s",
                "speed-up",
            ),
            [
                (
                    r["round"],
                    r["consumers"],
                    r[REGISTRATION_TOPIC]["events_per_s"],
                    r[REGISTRATION_TOPIC]["speed_up"],
                    r[VOTE_TOPIC]["events_per_s"],
                    r[VOTE_TOPIC]["speed_up"],
                )
                for r in scale["runs"]
            ],
        )
        print(f"median speed-ups: {scale['median_speed_up']}")
        _print_workers(scale)


def _print_workers(scale: dict[str, Any]) -> None:
    workers = scale["workers"]
    print_table(
        f"worker scale-out on {scale['election_id']}: one run of "
        f"{' and '.join(workers['deployments'])} per round",
        (
            "round",
            "workers",
            "seconds",
            "events/s",
            "speed-up",
            "registrations s",
            "votes s",
            "every event once",
        ),
        [
            (
                r["round"],
                r["workers"],
                r["seconds"],
                r["events_per_s"],
                r["speed_up"],
                *(
                    f"{r['flow_runs'][topic]['start_s']:.1f}"
                    f"-{r['flow_runs'][topic]['end_s']:.1f}"
                    for topic in (REGISTRATION_TOPIC, VOTE_TOPIC)
                ),
                r["every_event_once"],
            )
            for r in workers["runs"]
        ],
    )
    print(f"median speed-up: {workers['median_speed_up']}")
    print(f"runs from start to end, seconds after asking for them; {workers['note']}")


if __name__ == "__main__":
    main()
