"""`python deployments/setup.py`: the work pool, the deployments and the automations.

Creates the `election-process` work pool (or resets it to the default process
job template), runs `prefect --no-prompt deploy --all` on prefect.yaml and
saves the automations of deployments/automations.py, all on the Prefect server
of the settings. Every step replaces what it made before, so `make deploy` can
run after each change to prefect.yaml or to a flow's parameters.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from election.settings import PROJECT_ROOT, get_settings
from services.prefect_server import prefect_executable
from services.worker import WORK_POOL

# NOTE: Prefect reads PREFECT_API_URL once, when it is first imported: point it
# at the configured server before importing it.
os.environ.setdefault("PREFECT_API_URL", get_settings().prefect_api_url)

from automations import create_automations  # noqa: E402
from prefect.client.orchestration import get_client  # noqa: E402
from prefect.client.schemas.actions import WorkPoolCreate  # noqa: E402
from prefect.workers.process import ProcessWorker  # noqa: E402

PREFECT_FILE = PROJECT_ROOT / "prefect.yaml"
FOLLOWERS = ("consume-registrations/follow", "consume-votes/follow")


async def ensure_work_pool(name: str = WORK_POOL) -> None:
    """Create the process work pool `name`, or reset its job template."""
    pool = WorkPoolCreate(
        name=name,
        type=ProcessWorker.type,
        base_job_template=ProcessWorker.get_default_base_job_template(),
        description="Runs the election pipeline's flows as processes of a worker "
        "on the machine that holds the checkout.",
    )
    async with get_client() as client:
        await client.create_work_pool(pool, overwrite=True)


def missing_flows(config: dict[str, Any]) -> list[str]:
    """Names of the deployments whose flow module is not in this checkout."""
    missing = []
    for deployment in config["deployments"]:
        module = deployment["entrypoint"].split(":", 1)[0]
        if importlib.util.find_spec(module) is None:
            missing.append(f"{module}:{deployment['name']}")
    return missing


def deploy(prefect_file: Path = PREFECT_FILE) -> list[str]:
    """Deploy every deployment of `prefect_file` whose flow exists; skip the others.

    Returns:
        The deployments skipped, as `module:name`.

    Raises:
        subprocess.CalledProcessError: when `prefect deploy` fails.
    """
    config = yaml.safe_load(prefect_file.read_text())
    skipped = missing_flows(config)
    with tempfile.TemporaryDirectory(prefix="election-deploy-") as folder:
        if skipped:
            config["deployments"] = [
                deployment
                for deployment in config["deployments"]
                if f"{deployment['entrypoint'].split(':', 1)[0]}:{deployment['name']}"
                not in skipped
            ]
            prefect_file = Path(folder) / "prefect.yaml"
            prefect_file.write_text(yaml.safe_dump(config, sort_keys=False))
        subprocess.run(
            [
                str(prefect_executable()),
                "--no-prompt",
                "deploy",
                "--all",
                "--prefect-file",
                str(prefect_file),
            ],
            cwd=PROJECT_ROOT,
            check=True,
        )
    return skipped


async def start_followers() -> None:
    """Ask for a run of each follower; one that already runs cancels the new one."""
    async with get_client() as client:
        for name in FOLLOWERS:
            deployment = await client.read_deployment_by_name(name)
            await client.create_flow_run_from_deployment(deployment.id)


def main() -> int:
    """Set up the pool, the deployments and the automations; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--webhook-url", help="post the alerts to this address as JSON as well"
    )
    parser.add_argument(
        "--no-followers",
        action="store_true",
        help="do not ask for a run of each follower (a worker's start does)",
    )
    args = parser.parse_args()
    api_url = os.environ["PREFECT_API_URL"]

    asyncio.run(ensure_work_pool())
    print(f"work pool {WORK_POOL} ready on {api_url}")

    try:
        skipped = deploy()
    except subprocess.CalledProcessError as error:
        print(
            f"error: `prefect deploy` failed (exit {error.returncode}); its output "
            "above names the deployment and the cause",
            file=sys.stderr,
        )
        return 1
    for name in skipped:
        print(
            f"warning: skipped deployment {name}: its flow module is not in this "
            "checkout; run `make deploy` again once it is",
            file=sys.stderr,
        )

    for name in asyncio.run(create_automations(args.webhook_url)):
        print(f"automation {name!r} saved on {api_url}")

    if not args.no_followers:
        asyncio.run(start_followers())
        print(f"asked for {' and '.join(FOLLOWERS)}; a worker of {WORK_POOL} runs them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
