"""The Prefect worker that runs the deployments of the `election-process` pool.

`python -m services.worker` runs one in the foreground (`make worker`); the
`WorkerService` class starts, checks and stops one in the background like the
other local services, with its log in `data_dir/worker`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

from pydantic import SecretStr

from election.alerts import HEARTBEAT_S
from election.settings import PROJECT_ROOT, Settings, get_settings
from services.base import ServiceStatus
from services.exceptions import ServiceError
from services.prefect_server import prefect_executable, prefect_home
from services.process import (
    launch,
    process_alive,
    running_pid,
    stop_process,
    tail,
    wait_until,
)

logger = logging.getLogger(__name__)

WORK_POOL = "election-process"
"""The process work pool that every deployment in prefect.yaml runs on."""
QUERY_S = 5
"""Seconds between the worker's polls for runs: a triggered dbt build starts soon."""

_MARKER = f"worker start --pool {WORK_POOL}"


def worker_name() -> str:
    """The worker's name in the pool: one worker per machine."""
    return f"election-worker-{socket.gethostname()}"


def worker_environment(settings: Settings) -> dict[str, str]:
    """Environment of the worker and so of its flow runs.

    The worker's own environment, the Prefect server and PREFECT_HOME of the
    stack of `settings`, and every non-secret setting as its `ELECTION_*`
    variable, so that flow runs reach the same services. Secrets come from
    blocks or the inherited environment.
    """
    env = dict(os.environ)
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is None or isinstance(value, SecretStr):
            continue
        env[f"ELECTION_{name.upper()}"] = str(value)
    env.update(
        PREFECT_API_URL=settings.prefect_api_url,
        PREFECT_HOME=str(prefect_home(settings)),
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY=str(HEARTBEAT_S),
        PREFECT_WORKER_QUERY_SECONDS=str(QUERY_S),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    return env


def worker_command(pool: str = WORK_POOL) -> list[str]:
    """The command that runs a process worker of `pool`."""
    return [
        str(prefect_executable()),
        "worker",
        "start",
        "--pool",
        pool,
        "--type",
        "process",
        "--name",
        worker_name(),
    ]


def online_workers(
    api_url: str, pool: str = WORK_POOL, timeout: float = 3.0
) -> set[str]:
    """Names of the workers of `pool` that the Prefect server sees online."""
    request = urllib.request.Request(
        f"{api_url}/work_pools/{pool}/workers/filter",
        data=b"{}",
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            workers = json.load(reply)
    except (urllib.error.URLError, OSError, ValueError):
        return set()
    return {worker["name"] for worker in workers if worker.get("status") == "ONLINE"}


def child_pids(pid: int) -> list[int]:
    """Processes whose parent is `pid`: the flow runs of a worker."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _terminate_group(pid: int) -> None:
    """SIGTERM to the process group `pid` leads (a flow run's), else to `pid`."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def stop_worker(pid: int, timeout: float) -> None:
    """Stop the worker `pid` once its flow runs ended, or after `timeout` seconds.

    Each flow run process gets SIGTERM first and `timeout` seconds to end its
    run: a follower commits its batch and completes. The worker alone would kill
    them at once and leave their runs "Running" until the zombie automation
    marks them crashed.
    """
    runs = child_pids(pid)
    for child in runs:
        _terminate_group(child)
    if runs and not wait_until(
        lambda: not any(process_alive(child) for child in runs), timeout
    ):
        logger.warning(
            "%d flow runs of the worker did not end within %.0f s of SIGTERM: "
            "stopping the worker kills them",
            len(runs),
            timeout,
        )
    stop_process("worker", pid, _MARKER, 30.0)
    logger.info("stopped worker (pid %d) after %d flow runs", pid, len(runs))


class WorkerService:
    """A process worker of the `election-process` pool; `data_dir/worker` holds its log.

    Its flow runs are its child processes and write their output to the same
    log; it needs the Prefect server to be up.
    """

    name = "worker"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.data_dir / "worker"
        self.pid_file = self.home / "worker.pid"
        self.log_file = self.home / "worker.log"

    @property
    def address(self) -> str:
        """The pool it polls and the server it polls."""
        return f"{WORK_POOL} at {self.settings.prefect_api_url}"

    def start(self, timeout: float | None = None) -> None:
        """Start the worker unless it runs, and wait until the server sees it online.

        Raises:
            ServiceError: when the worker exits or the server does not see it.
        """
        timeout = 90.0 if timeout is None else timeout
        pid = running_pid(self.pid_file, _MARKER)
        if pid is None:
            pid = self._launch()
        if wait_until(
            self._online,
            timeout,
            still_starting=lambda: process_alive(pid, _MARKER),
        ):
            logger.info("worker %s polls %s", worker_name(), self.address)
            return
        raise ServiceError(
            self.name,
            f"the worker (pid {pid}) is not online in pool {WORK_POOL} at "
            f"{self.settings.prefect_api_url} after {timeout:.0f} s: check that "
            f"the Prefect server is up (`make status`) and read {self.log_file}",
            log_tail=tail(self.log_file),
        )

    def stop(self, timeout: float | None = None) -> None:
        """Let the worker's flow runs finish, then stop the worker (`stop_worker`)."""
        pid = running_pid(self.pid_file, _MARKER)
        if pid is not None:
            stop_worker(pid, 60.0 if timeout is None else timeout)
        self.pid_file.unlink(missing_ok=True)

    def status(self) -> ServiceStatus:
        """Whether the worker runs and the server sees it online."""
        pid = running_pid(self.pid_file, _MARKER)
        if pid is None:
            return ServiceStatus(self.name, "not running", self.address)
        if self._online():
            return ServiceStatus(self.name, "healthy", self.address, pid)
        return ServiceStatus(
            self.name, "unhealthy", self.address, pid, "not online in its pool"
        )

    def remove_data(self) -> None:
        """Delete the worker's folder: its log."""
        if self.home.exists():
            shutil.rmtree(self.home)
            logger.info("deleted the worker's log in %s", self.home)

    def _online(self) -> bool:
        return worker_name() in online_workers(self.settings.prefect_api_url)

    def _launch(self) -> int:
        self.home.mkdir(parents=True, exist_ok=True)
        pid = launch(
            worker_command(),
            log_file=self.log_file,
            pid_file=self.pid_file,
            env=worker_environment(self.settings),
            cwd=PROJECT_ROOT,
        )
        logger.info("started worker (pid %d) for %s", pid, self.address)
        return pid


def main() -> int:
    """`python -m services.worker`: run a worker of the pool until Ctrl-C or SIGTERM.

    The worker runs in a session of its own, so that Ctrl-C reaches this
    process only, which then stops it as `stop_worker` does.
    """
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    worker = subprocess.Popen(
        worker_command(),
        env=worker_environment(get_settings()),
        cwd=PROJECT_ROOT,
        start_new_session=True,
    )
    while not stop.is_set() and worker.poll() is None:
        stop.wait(1.0)
    if worker.poll() is None:
        logger.info("stopping the worker: its flow runs finish first")
        stop_worker(worker.pid, 60.0)
    return worker.wait()


if __name__ == "__main__":
    sys.exit(main())
