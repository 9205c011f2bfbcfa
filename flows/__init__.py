"""Prefect flows of the election pipeline: consumption, sync, dbt and the main job.

Importing the package points Prefect at the configured server (the local one
`make up` starts) unless PREFECT_API_URL is set, sends a flow run's heartbeats
as often as the zombie automation expects them, and turns analytics off.
"""

import os

from election.alerts import HEARTBEAT_S
from election.settings import get_settings

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_API_URL", get_settings().prefect_api_url)
os.environ.setdefault("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", str(HEARTBEAT_S))
