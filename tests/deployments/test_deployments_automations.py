"""The alert automations: lag and dead-letter reports over threshold reach a webhook."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import ModuleType
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.events import Event
from prefect.events.clients import get_events_client

from election.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow


def load_automations() -> ModuleType:
    """deployments/automations.py, which is a script, as a module."""
    path = PROJECT_ROOT / "deployments" / "automations.py"
    spec = importlib.util.spec_from_file_location("election_automations", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Webhook:
    """A local HTTP endpoint that keeps the JSON bodies posted to it."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers["Content-Length"])
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.received = received
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, count: int, timeout: float) -> list[dict[str, Any]]:
        """The bodies received, once there are `count` or `timeout` seconds passed."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.5)
        return list(self.received)


@pytest.fixture(scope="module")
def webhook(prefect_api: str) -> Iterator[Webhook]:
    """A webhook that the automations of deployments/automations.py alert.

    The automations and the alert block are deleted afterwards.
    """
    hook = Webhook()
    hook.thread.start()
    result = subprocess.run(
        [sys.executable, "deployments/automations.py", "--webhook-url", hook.url],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    yield hook
    hook.server.shutdown()
    asyncio.run(remove_automations(load_automations()))


async def remove_automations(automations: ModuleType) -> None:
    """Delete the automations that the script made, and the alert block."""
    async with get_client() as client:
        for automation in await client.read_automations():
            if automation.name.startswith("election: "):
                await client.delete_automation(automation.id)
        document = await client.read_block_document_by_name(
            automations.ALERT_BLOCK, "custom-webhook"
        )
        await client.delete_block_document(document.id)


def report(
    automations: ModuleType, name: str, kind: str, over: bool, **payload: Any
) -> Event:
    """A lag or dead-letter report as the consumer flows emit it."""
    prefix = "election.consumer" if kind == "lag" else "election.dead-letter"
    return Event(
        event=automations.LAG_EVENT if kind == "lag" else automations.DEAD_LETTER_EVENT,
        resource={
            "prefect.resource.id": f"{prefix}.{name}",
            "prefect.resource.name": name,
            automations.OVER_THRESHOLD: "true" if over else "false",
        },
        payload=payload,
    )


async def emit(events: list[Event]) -> None:
    """Send `events` to the session's server."""
    async with get_events_client() as client:
        for event in events:
            await client.emit(event)


def test_lag_and_dead_letters_over_threshold_alert_once_each(
    webhook: Webhook,
) -> None:
    automations = load_automations()
    lagging = {"group": "election-vote", "topic": "vote", "threshold": 1000}
    fine = {"group": "election-registration", "topic": "registration"}
    events = [
        *(
            report(automations, "election-vote", "lag", True, total=5000, **lagging)
            for _ in range(4)
        ),
        *(
            report(automations, "election-registration", "lag", False, total=3, **fine)
            for _ in range(4)
        ),
        report(
            automations,
            "vote",
            "dead-letter",
            True,
            topic="vote.dead-letter",
            count=2,
            threshold=0,
        ),
    ]

    asyncio.run(emit(events))
    bodies = webhook.wait_for(2, timeout=60)
    time.sleep(3)

    subjects = sorted(body["subject"] for body in webhook.received)
    assert len(bodies) == 2
    assert subjects == [
        "election: consumer election-vote is lagging",
        "election: dead letters in vote.dead-letter",
    ]
    assert "5000 messages behind" in " ".join(body["body"] for body in bodies)
    assert {body["source"] for body in bodies} == {automations.ALERT_BLOCK}
