"""Tests of the worker as a service of the stack: `up --worker`, status and down."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import WorkerStatus

from election.settings import PROJECT_ROOT, Settings
from services import SERVICE_NAMES, Stack, WorkerService
from services.process import process_alive
from services.worker import WORK_POOL, worker_name


def run_services(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m services ARGS` for the stack of `settings`.

    The caller's PREFECT_API_URL and PREFECT_HOME point elsewhere on purpose:
    the worker must get those of the stack, as the Prefect server does.
    """
    env = dict(os.environ)
    for name in ("ELECTION_DATABASE_URL", "ELECTION_KAFKA_BOOTSTRAP"):
        env.pop(name, None)
    env.update(
        ELECTION_DATA_DIR=str(settings.data_dir),
        ELECTION_PREFECT_PORT=str(settings.prefect_port),
        PREFECT_API_URL="http://127.0.0.1:9/api",
        PREFECT_HOME=str(settings.data_dir / "not-the-stack"),
    )
    return subprocess.run(
        [sys.executable, "-m", "services", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )


def pool_workers(api_url: str) -> dict[str, WorkerStatus]:
    """Name and status of each worker of the pool, as the Prefect API reports them."""

    async def read() -> dict[str, WorkerStatus]:
        async with PrefectClient(api=api_url) as client:
            workers = await client.read_workers_for_work_pool(WORK_POOL)
        return {worker.name: worker.status for worker in workers}

    return asyncio.run(read())


def process_environment(pid: int) -> dict[str, str]:
    """The environment that process `pid` was started with."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)
    return dict(pairs)


def test_default_stack_leaves_the_worker_out_and_asking_adds_it_last(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=None, kafka_bootstrap=None)

    default = [service.name for service in Stack(settings).services]
    asked = [service.name for service in Stack(settings, worker=True).services]

    assert default == list(SERVICE_NAMES)
    assert asked == [*SERVICE_NAMES, "worker"]


@pytest.mark.slow
def test_up_with_worker_runs_one_online_in_the_pool_until_down(
    make_service_settings: Callable[[], Settings],
) -> None:
    settings = make_service_settings()
    worker = WorkerService(settings)
    try:
        up = run_services(settings, "up", "--only", "prefect", "--worker", "--no-ui")
        assert up.returncode == 0, up.stderr[-4000:]
        pid = worker.status().pid
        assert pid is not None and process_alive(pid)
        workers = pool_workers(settings.prefect_api_url)
        environment = process_environment(pid)
        status = run_services(settings, "status", "--only", "prefect,worker")
    finally:
        down = run_services(settings, "down")

    assert [line.split()[:2] for line in up.stdout.splitlines()[:2]] == [
        ["prefect", "healthy"],
        ["worker", "healthy"],
    ]
    assert workers == {worker_name(): WorkerStatus.ONLINE}
    assert environment["PREFECT_API_URL"] == settings.prefect_api_url
    assert environment["PREFECT_HOME"] == str(settings.data_dir / "prefect")
    assert environment["ELECTION_PREFECT_PORT"] == str(settings.prefect_port)
    assert status.returncode == 0, status.stdout
    assert down.returncode == 0, down.stderr[-4000:]
    assert not process_alive(pid)
    assert worker.status().state == "not running"
