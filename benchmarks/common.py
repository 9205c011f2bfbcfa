"""What every benchmark shares: a private stack, the machine, memory and the results."""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from election.settings import PROJECT_ROOT, Settings, get_settings
from services.stack import private_settings, stack_environment

RESULTS_DIR = PROJECT_ROOT / "bench-results"
"""Where each benchmark writes `<name>.json`; git-ignored."""

PACKAGES = (
    "prefect",
    "prefect-dbt",
    "confluent-kafka",
    "psycopg",
    "duckdb",
    "dbt-core",
    "flask",
    "gunicorn",
    "pydantic",
)


def log(message: str) -> None:
    """Print a progress line with the time and the load average on stderr."""
    one, _, _ = os.getloadavg()
    stamp = datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp} load {one:.2f}] {message}", file=sys.stderr, flush=True)


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded."""
    return [round(value, 2) for value in os.getloadavg()]


def machine() -> dict[str, Any]:
    """The machine and software the figures come from."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    models = [
        line.split(":", 1)[1].strip()
        for line in cpuinfo.splitlines()
        if line.startswith("model name")
    ]
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kb = next(int(line.split()[1]) for line in meminfo if "MemTotal" in line)
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return {
        "hostname": socket.gethostname(),
        "nproc": os.cpu_count(),
        "cpu_model": models[0] if models else platform.processor(),
        "ram_gib": round(total_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": versions,
    }


@dataclass
class BenchStack:
    """A running private stack: its settings and how long it took to come up."""

    settings: Settings
    up_seconds: float
    services: tuple[str, ...]

    def pids(self) -> dict[str, int]:
        """Pid of the root process of each local service that runs."""
        from services.postgres import PostgresServer
        from services.process import read_pid

        data = self.settings.data_dir
        found = {
            "api": read_pid(data / "api" / "api.pid"),
            "kafka": read_pid(data / "kafka" / "kafka.pid"),
            "prefect-server": read_pid(data / "prefect" / "server.pid"),
            "postgres": PostgresServer(self.settings).running_pid(),
        }
        return {role: pid for role, pid in found.items() if pid is not None}


@contextmanager
def private_stack(
    services: Sequence[str] | None = None, *, keep: bool = False
) -> Iterator[BenchStack]:
    """Start `services` (all by default) on free ports in a fresh folder.

    For the block, ELECTION_* and PREFECT_* point this process, `get_settings()`
    and every child process at that stack; the services stop afterwards and the
    folder goes unless `keep`. A watchdog stops them should this process die.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    from services import Stack
    from services.watchdog import watch

    base = Path(tempfile.mkdtemp(prefix="election-bench-"))
    base.chmod(0o711)  # the postgres user must pass through to its cluster
    watch(os.getpid(), base)
    data_dir = base / "stack"
    data_dir.mkdir()
    data_dir.chmod(0o711)
    settings = private_settings(data_dir)
    variables = stack_environment(settings)
    saved = {name: os.environ.get(name) for name in variables}
    dropped = {
        name: os.environ.pop(name)
        for name in ("ELECTION_DATABASE_URL", "ELECTION_KAFKA_BOOTSTRAP")
        if name in os.environ
    }
    os.environ.update(variables)
    get_settings.cache_clear()
    stack = Stack(settings, only=services, ui=False)
    names = tuple(service.name for service in stack.services)
    try:
        with temporary_settings(
            updates={
                PREFECT_API_URL: settings.prefect_api_url,
                PREFECT_HOME: settings.data_dir / "prefect",
            }
        ):
            log(f"starting {', '.join(names)} in {data_dir}")
            started = time.perf_counter()
            stack.up()
            up_seconds = time.perf_counter() - started
            log(f"services up in {up_seconds:.1f} s")
            if "prefect" in names:
                warm_up_prefect()
            yield BenchStack(settings, up_seconds, names)
    finally:
        stack.down()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        os.environ.update(dropped)
        get_settings.cache_clear()
        if keep:
            log(f"kept the stack's data in {data_dir}")
        else:
            shutil.rmtree(base, ignore_errors=True)


def _status_kb(pid: int, fields: Iterable[str]) -> dict[str, int]:
    """The `fields` (VmHWM, VmRSS) of /proc/<pid>/status in kB; {} if it is gone."""
    wanted = set(fields)
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name = line.split(":", 1)[0]
            if name in wanted:
                values[name] = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
        return {}
    return values


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc/<pid>/stat."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(pid: int, tree: dict[int, list[int]]) -> list[int]:
    """`pid` and every process below it."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


@dataclass
class MemorySampler:
    """Samples the memory of process trees, by role, on a thread of its own.

    For each role it keeps the largest peak resident set (VmHWM) of any one of
    its processes, and the largest sum of their current resident sets (VmRSS).
    Shared memory (PostgreSQL's shared buffers, say) counts in every process
    that touched it, so a sum over PostgreSQL's processes overstates.
    """

    roots: dict[str, int]
    interval_s: float = 0.5
    peak_process_kb: dict[str, int] = field(default_factory=dict)
    peak_total_kb: dict[str, int] = field(default_factory=dict)
    processes: dict[str, set[int]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def add(self, role: str, pid: int) -> None:
        """Watch the tree of `pid` as `role` from now on."""
        self.roots[role] = pid

    def sample(self) -> None:
        """Read the memory of every watched process once."""
        tree = _children()
        for role, root in list(self.roots.items()):
            total = 0
            for pid in descendants(root, tree):
                values = _status_kb(pid, ("VmHWM", "VmRSS"))
                if not values:
                    continue
                self.processes.setdefault(role, set()).add(pid)
                total += values.get("VmRSS", 0)
                self.peak_process_kb[role] = max(
                    self.peak_process_kb.get(role, 0), values.get("VmHWM", 0)
                )
            self.peak_total_kb[role] = max(self.peak_total_kb.get(role, 0), total)

    def __enter__(self) -> MemorySampler:
        def loop() -> None:
            while not self._stop.wait(self.interval_s):
                self.sample()

        self.sample()
        self._thread = threading.Thread(target=loop, name="memory-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def peaks(self) -> dict[str, dict[str, float]]:
        """Per role: peak of one process and peak of all together, in MiB."""
        return {
            role: {
                "peak_process_mib": round(self.peak_process_kb.get(role, 0) / 1024, 1),
                "peak_total_rss_mib": round(self.peak_total_kb.get(role, 0) / 1024, 1),
                "processes_seen": len(self.processes.get(role, ())),
            }
            for role in self.roots
        }


@contextmanager
def timed(into: dict[str, float], key: str) -> Iterator[None]:
    """Store the wall-clock seconds the block took in `into[key]`."""
    started = time.perf_counter()
    try:
        yield
    finally:
        into[key] = time.perf_counter() - started


def rate(count: float, seconds: float) -> float:
    """`count` per second, 0 for no time."""
    return round(count / seconds, 1) if seconds > 0 else 0.0


def ratio(value: float, baseline: float) -> float:
    """`value` / `baseline`, rounded; 0 when there is no baseline."""
    return round(value / baseline, 3) if baseline else 0.0


def met(flag: bool) -> str:
    """How a table says whether a target was met."""
    return "met" if flag else "MISSED"


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """The command that reproduces this run."""
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join([".venv/bin/python -m", module, *args])


def write_results(
    name: str, document: dict[str, Any], folder: Path = RESULTS_DIR
) -> Path:
    """Write `document` to `folder`/<name>.json (bench-results/) and return the path."""
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path


def header(name: str, module: str, argv: Sequence[str] | None) -> dict[str, Any]:
    """The part of every result document that says when, where and how."""
    return {
        "benchmark": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command_line(module, argv),
        "machine": machine(),
        "load_average_start": load_average(),
    }


def print_table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Print `rows` under `columns`, numbers right-aligned with thousands separators."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [
        max([len(column), *(len(row[i]) for row in cells)])
        for i, column in enumerate(columns)
    ]
    print(f"\n{title}")
    print(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(columns, widths, strict=True))
        )
    )
    for row in cells:
        print(
            "  ".join(
                value.ljust(width) if i == 0 else value.rjust(width)
                for i, (value, width) in enumerate(zip(row, widths, strict=True))
            )
        )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def flow_runs(flow_name: str | None = None) -> list[dict[str, Any]]:
    """Flow runs on the current Prefect server, oldest first, with their seconds."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(limit=200)
        names = {run.flow_id: client.read_flow(run.flow_id).name for run in runs}
    found = [
        {
            "id": str(run.id),
            "flow": names[run.flow_id],
            "state": run.state_name,
            "start": run.start_time,
            "end": run.end_time,
            "seconds": _seconds(run.start_time, run.end_time),
            "parent_task_run_id": str(run.parent_task_run_id or "") or None,
        }
        for run in runs
        if flow_name is None or names[run.flow_id] == flow_name
    ]
    return sorted(
        found, key=lambda run: run["start"] or datetime.max.replace(tzinfo=UTC)
    )


def task_runs(flow_run_id: str) -> list[dict[str, Any]]:
    """Task runs of one flow run, oldest first, with their seconds."""
    from uuid import UUID

    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run_id)])),
            limit=200,
        )
    found = [
        {
            "id": str(run.id),
            "task": run.task_key.rsplit("-", 1)[0] if run.task_key else run.name,
            "name": run.name,
            "state": run.state_name,
            "start": run.start_time,
            "end": run.end_time,
            "seconds": _seconds(run.start_time, run.end_time),
        }
        for run in runs
    ]
    return sorted(
        found, key=lambda run: run["start"] or datetime.max.replace(tzinfo=UTC)
    )


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def warm_up_prefect() -> None:
    """Run one empty flow, so that no figure holds a first-use cost.

    The first flow run against a new Prefect server waits about a second for the
    server, and the first in a process imports what Prefect loads lazily and
    checks the server's API version. A server that runs for real has served
    runs before; imports are in no figure.
    """
    from prefect import flow

    @flow(name="benchmark-warm-up")
    def warm_up(names: list[str] | None = None) -> None:
        """Nothing: the flow run's own work, with a parameter as the measured have."""

    started = time.perf_counter()
    warm_up(["warm-up"])
    seconds = time.perf_counter() - started
    log(f"warmed Prefect up with one empty flow run in {seconds:.1f} s")


@contextmanager
def profiling(enabled: bool, name: str) -> Iterator[None]:
    """Profile the block with pyinstrument into bench-results/<name>.txt if `enabled`.

    pyinstrument is not a dependency of the project: install it into the venv
    (`.venv/bin/uv pip install --python .venv/bin/python pyinstrument`).
    """
    if not enabled:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.002)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / f"{name}.txt"
        path.write_text(
            profiler.output_text(unicode=False, color=False, show_all=False)
        )
        log(f"wrote the profile to {path}")
