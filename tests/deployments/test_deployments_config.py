"""prefect.yaml as a worker reads it: flows, parameters, schedules, triggers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml
from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
from prefect.flows import Flow, load_flow_from_entrypoint
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools.validation import validate

from election.settings import PROJECT_ROOT
from services.worker import WORK_POOL

PREFECT_FILE = PROJECT_ROOT / "prefect.yaml"


def load_deployments() -> list[dict[str, Any]]:
    """The deployments of prefect.yaml, anchors resolved."""
    return yaml.safe_load(PREFECT_FILE.read_text())["deployments"]


DEPLOYMENTS = load_deployments()
IDS = [f"{d['entrypoint'].split(':')[1]}/{d['name']}" for d in DEPLOYMENTS]


def deployment(flow_function: str, name: str) -> dict[str, Any]:
    """The deployment `name` of the flow whose function is `flow_function`."""
    return next(
        d
        for d in DEPLOYMENTS
        if d["name"] == name and d["entrypoint"].endswith(f":{flow_function}")
    )


@pytest.fixture(scope="module")
def flows() -> dict[str, Flow[..., Any]]:
    """Every flow of prefect.yaml, loaded from its entrypoint as a worker loads it."""
    return {
        d["entrypoint"]: load_flow_from_entrypoint(d["entrypoint"]) for d in DEPLOYMENTS
    }


def test_flow_runs_work_in_the_checkout_that_was_deployed() -> None:
    project = yaml.safe_load(PREFECT_FILE.read_text())
    (build,) = project["build"]
    (pull,) = project["pull"]

    assert build["prefect.deployments.steps.run_shell_script"]["script"] == "pwd"
    assert build["prefect.deployments.steps.run_shell_script"]["id"] == "checkout"
    assert pull == {
        "prefect.deployments.steps.set_working_directory": {
            "directory": "{{ checkout.stdout }}"
        }
    }


@pytest.mark.parametrize("spec", DEPLOYMENTS, ids=IDS)
def test_deployment_runs_on_the_pool_with_an_enforced_schema(
    spec: dict[str, Any], flows: dict[str, Flow[..., Any]]
) -> None:
    schema = parameter_schema(flows[spec["entrypoint"]]).model_dump()

    assert spec["work_pool"]["name"] == WORK_POOL
    assert spec["enforce_parameter_schema"] is True
    assert validate(spec.get("parameters", {}), schema, raise_on_error=False) == []
    undocumented = [
        name
        for name, field in schema["properties"].items()
        if not field.get("description")
    ]
    assert undocumented == [], "describe them in the flow's Args docstring"


def test_sync_runs_every_minute_and_cancels_a_second_run() -> None:
    sync = deployment("sync", "every-minute")

    assert sync["schedules"] == [{"interval": 60}]
    assert sync["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}


def test_dbt_builds_after_a_sync_that_moved_rows_and_every_five_minutes() -> None:
    dbt = deployment("dbt_build", "after-sync")
    trigger = DeploymentEventTrigger.model_validate(dbt["triggers"][0])

    assert dbt["schedules"][0]["cron"] == "*/5 * * * *"
    assert dbt["concurrency_limit"]["collision_strategy"] == "CANCEL_NEW"
    assert trigger.expect == {"election.sync.rows-moved"}
    assert trigger.within == timedelta(0)
    assert trigger.parameters == {"select": "marts"}
    assert "parameters" not in dbt


@pytest.mark.parametrize("flow_function", ["consume_registrations", "consume_votes"])
def test_followers_start_with_a_worker_and_restart_after_a_crash(
    flow_function: str,
) -> None:
    follow = deployment(flow_function, "follow")
    started, crashed = (
        DeploymentEventTrigger.model_validate(spec) for spec in follow["triggers"]
    )

    assert follow["parameters"] == {"follow": True}
    assert follow["concurrency_limit"]["limit"] == 1
    assert started.expect == {"prefect.worker.started"}
    assert crashed.expect == {"prefect.flow-run.Crashed"}
    assert crashed.within == timedelta(minutes=5)


@pytest.mark.parametrize("flow_function", ["consume_registrations", "consume_votes"])
def test_bounded_consumers_are_scheduled_but_off(flow_function: str) -> None:
    bounded = deployment(flow_function, "every-minute")

    assert bounded["schedules"] == [{"interval": 60, "active": False}]
    assert bounded["parameters"]["until_caught_up"] is True


def test_reconcile_runs_hourly_without_repairing() -> None:
    hourly = deployment("reconcile", "hourly")

    assert hourly["entrypoint"] == "flows.reconcile:reconcile"
    assert hourly["parameters"] == {"repair": False}
    assert hourly["schedules"][0]["cron"] == "17 * * * *"
