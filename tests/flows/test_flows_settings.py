"""Importing the flows sets Prefect up for this pipeline's server and automations."""

from __future__ import annotations

import os
import subprocess
import sys

from election.alerts import HEARTBEAT_S
from election.settings import PROJECT_ROOT


def test_flow_runs_started_by_hand_send_heartbeats_as_often_as_workers_do() -> None:
    # a fresh process: Prefect reads its settings once, when first imported
    env = {
        k: v for k, v in os.environ.items() if k != "PREFECT_FLOWS_HEARTBEAT_FREQUENCY"
    }
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import flows\n"
            "from prefect.settings import get_current_settings\n"
            "print(get_current_settings().flows.heartbeat_frequency)",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )

    assert shown.stdout.split()[-1] == str(HEARTBEAT_S)
