"""`make deploy` on the session's Prefect server, and a worker running a deployment."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from uuid import UUID

import pytest
import yaml
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.events import Event
from prefect.events.clients import get_events_client
from prefect.states import Cancelled, Pending

from election.settings import PROJECT_ROOT, Settings
from services.worker import WORK_POOL, WorkerService

pytestmark = pytest.mark.slow

PREFECT_FILE = PROJECT_ROOT / "prefect.yaml"

DEPLOYMENTS = {
    "consume-registrations/follow",
    "consume-registrations/every-minute",
    "consume-votes/follow",
    "consume-votes/every-minute",
    "sync-warehouse/every-minute",
    "dbt-build/after-sync",
    "election-pipeline/by-hand",
    "reconcile-warehouse/hourly",
}
DBT_TRIGGER = "build the marts after a sync that moved rows"
RUN_TIMEOUT_S = 180
"""Longest wait for a run from its creation to its end, on a loaded 2-core machine."""


def ours(name: str) -> bool:
    """Whether an automation was made by deployments/setup.py."""
    triggers = {
        trigger["name"]
        for deployment in yaml.safe_load(PREFECT_FILE.read_text())["deployments"]
        for trigger in deployment.get("triggers", [])
    }
    return name.startswith("election: ") or name in triggers


async def switch_off(client: PrefectClient) -> None:
    """Pause every deployment and automation; delete the runs already scheduled."""
    for deployment in await client.read_deployments():
        if deployment.work_pool_name == WORK_POOL:
            await client.pause_deployment(deployment.id)
            await delete_runs(client, deployment.id)
    for automation in await client.read_automations():
        if ours(automation.name):
            await client.pause_automation(automation.id)


async def delete_runs(client: PrefectClient, deployment_id: UUID) -> None:
    """Delete every flow run of a deployment."""
    only = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
    for run in await client.read_flow_runs(deployment_filter=only):
        await client.delete_flow_run(run.id)


async def remove_deployed(client: PrefectClient) -> None:
    """Delete the deployments, their runs and automations, and the pool."""
    for deployment in await client.read_deployments():
        if deployment.work_pool_name == WORK_POOL:
            await delete_runs(client, deployment.id)
            await client.delete_deployment(deployment.id)
    for automation in await client.read_automations():
        if ours(automation.name):
            await client.delete_automation(automation.id)
    await client.delete_work_pool(WORK_POOL)


async def call(action: object) -> object:
    """Run `action(client)` with a client of the session's server."""
    async with get_client() as client:
        return await action(client)  # type: ignore[operator]


@pytest.fixture(scope="module")
def deployed(stack: Settings) -> Iterator[Settings]:
    """Every deployment of prefect.yaml on the session's server, switched off.

    `deployments/setup.py` runs as `make deploy` runs it; then schedules and
    automations are paused so that only what a test starts runs. At the end the
    deployments, their runs, the automations and the pool are deleted.
    """
    result = subprocess.run(
        [sys.executable, "deployments/setup.py", "--no-followers"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    asyncio.run(call(switch_off))
    yield stack
    asyncio.run(call(remove_deployed))


def test_deploy_creates_every_deployment_with_its_limits(deployed: Settings) -> None:
    async def read(client: PrefectClient) -> dict[str, object]:
        flows = {flow.id: flow.name for flow in await client.read_flows()}
        return {
            f"{flows[d.flow_id]}/{d.name}": d for d in await client.read_deployments()
        }

    deployed_here = asyncio.run(call(read))
    deployments = {name: deployed_here[name] for name in DEPLOYMENTS}
    sync = deployments["sync-warehouse/every-minute"]

    assert {d.work_pool_name for d in deployments.values()} == {WORK_POOL}
    assert all(d.enforce_parameter_schema for d in deployments.values())
    assert sync.global_concurrency_limit.limit == 1
    assert sync.concurrency_options.collision_strategy == "CANCEL_NEW"
    assert sync.pull_steps == [
        {
            "prefect.deployments.steps.set_working_directory": {
                "directory": str(PROJECT_ROOT)
            }
        }
    ]


def test_a_second_sync_run_is_cancelled_while_one_holds_the_slot(
    deployed: Settings,
) -> None:
    async def collide(client: PrefectClient) -> tuple[str, str]:
        sync = await client.read_deployment_by_name("sync-warehouse/every-minute")
        first = await client.create_flow_run_from_deployment(sync.id)
        second = await client.create_flow_run_from_deployment(sync.id)
        holding = await client.set_flow_run_state(first.id, Pending())
        refused = await client.set_flow_run_state(second.id, Pending())
        await client.set_flow_run_state(first.id, Cancelled(), force=True)
        return holding.state.type.value, refused.state.type.value

    holding, refused = asyncio.run(call(collide))

    assert (holding, refused) == ("PENDING", "CANCELLED")


def test_rows_moved_event_starts_a_build_of_the_marts(deployed: Settings) -> None:
    async def trigger(client: PrefectClient) -> list[FlowRun]:
        dbt = await client.read_deployment_by_name("dbt-build/after-sync")
        (automation,) = await client.read_automations_by_name(DBT_TRIGGER)
        await client.resume_automation(automation.id)
        # the server applies the change to its loaded triggers after answering
        await asyncio.sleep(3)
        try:
            async with get_events_client() as events:
                await events.emit(
                    Event(
                        event="election.sync.rows-moved",
                        resource={"prefect.resource.id": "election.warehouse.duckdb"},
                        payload={"rows": {"votes": 3}, "total": 3, "watermark": 1},
                    )
                )
            runs = await wait_for_runs(client, dbt.id, timeout=120)
        finally:
            await client.pause_automation(automation.id)
        for run in runs:
            await client.delete_flow_run(run.id)
        return runs

    runs = asyncio.run(call(trigger))

    assert len(runs) == 1
    assert runs[0].state_type.value == "SCHEDULED"
    assert runs[0].parameters == {"select": "marts"}


async def wait_for_runs(
    client: PrefectClient, deployment_id: UUID, timeout: float
) -> list[FlowRun]:
    """The runs of a deployment, once there is one or `timeout` seconds passed."""
    deadline = time.monotonic() + timeout
    only = FlowRunFilter(deployment_id={"any_": [deployment_id]})
    while True:
        runs = await client.read_flow_runs(flow_run_filter=only)
        if runs or time.monotonic() > deadline:
            return runs
        await asyncio.sleep(1)


async def wait_for_logs(
    client: PrefectClient, flow_run_id: UUID, prefix: str, timeout: float
) -> list[str]:
    """A flow run's log messages, once one starts with `prefix` or at `timeout`."""
    only = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
    deadline = time.monotonic() + timeout
    while True:
        messages = [log.message for log in await client.read_logs(log_filter=only)]
        if any(m.startswith(prefix) for m in messages) or time.monotonic() > deadline:
            return messages
        await asyncio.sleep(1)


def test_worker_runs_the_sync_deployment_to_completion(deployed: Settings) -> None:
    worker = WorkerService(deployed)
    worker.start(timeout=120)
    try:
        flow_run = run_deployment(
            "sync-warehouse/every-minute", timeout=RUN_TIMEOUT_S, poll_interval=2
        )
        # NOTE: a flow run sends its last logs as its process exits, just after
        # its state says Completed; stopping the worker sooner sends that
        # process SIGTERM, and the logs are lost. So the worker runs on until
        # they arrived.
        messages = asyncio.run(
            call(lambda client: wait_for_logs(client, flow_run.id, "synced ", 60))
        )
    finally:
        worker.stop(timeout=30)

    assert flow_run.state is not None and flow_run.state.is_completed(), (
        flow_run.state,
        worker.log_file.read_text()[-3000:],
    )
    assert "Executing deployment step: set_working_directory" in messages
    assert any(message.startswith("synced ") for message in messages), messages
