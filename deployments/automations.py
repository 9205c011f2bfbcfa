"""Automations an operator relies on: alerts on consumer lag and dead letters, zombies.

`python deployments/automations.py [--webhook-url URL]` creates them on the
Prefect server of the settings, replacing automations of the same name, so it
can run at every deploy. Prefect triggers match event names and resource
labels, not numbers in a payload, so the consumer flows compare the lag and the
dead-letter count with their thresholds themselves and label each report
`election.over-threshold: true|false`; the alerts match that label.

Without a webhook an alert is the `prefect.automation.triggered` event in the
UI's event feed; with one, the server also posts it to the webhook.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import timedelta
from uuid import UUID

from election.alerts import (
    DEAD_LETTER_EVENT,
    HEARTBEAT_S,
    LAG_EVENT,
    OVER_THRESHOLD,
)
from election.settings import get_settings

# NOTE: Prefect reads PREFECT_API_URL once, when it is first imported: point it
# at the configured server before importing it.
os.environ.setdefault("PREFECT_API_URL", get_settings().prefect_api_url)

from prefect.blocks.notifications import CustomWebhookNotificationBlock  # noqa: E402
from prefect.client.orchestration import PrefectClient, get_client  # noqa: E402
from prefect.client.schemas.objects import StateType  # noqa: E402
from prefect.events.actions import (  # noqa: E402
    ActionTypes,
    ChangeFlowRunState,
    DoNothing,
    SendNotification,
)
from prefect.events.schemas.automations import (  # noqa: E402
    AutomationCore,
    EventTrigger,
    Posture,
)

ALERT_BLOCK = "election-alerts"
"""The `CustomWebhookNotificationBlock` that alerts are posted to, when saved."""

LAG_ALERT = "election: consumer lag over threshold"
DEAD_LETTER_ALERT = "election: dead letters over threshold"
ZOMBIE_RUNS = "election: mark flow runs without heartbeats crashed"
STUCK_RUNS = "election: mark flow runs that never started crashed"
STUCK_AFTER = timedelta(minutes=3)
"""How long a submitted flow run may take to start before it counts as lost."""


def alert_actions(block_id: UUID | None, subject: str, body: str) -> list[ActionTypes]:
    """Post to the alert block when there is one; otherwise the event feed only."""
    if block_id is None:
        return [DoNothing()]
    return [SendNotification(block_document_id=block_id, subject=subject, body=body)]


def wanted_automations(block_id: UUID | None) -> list[AutomationCore]:
    """The automations of the pipeline, alerting through `block_id` if given."""
    lag = AutomationCore(
        name=LAG_ALERT,
        description="A consumer group stayed behind its topic by more than "
        "ELECTION_LAG_ALERT_THRESHOLD messages in three reports within 5 minutes.",
        trigger=EventTrigger(
            expect={LAG_EVENT},
            match={
                "prefect.resource.id": "election.consumer.*",
                OVER_THRESHOLD: "true",
            },
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=3,
            within=timedelta(minutes=5),
        ),
        actions=alert_actions(
            block_id,
            subject="election: consumer {{ event.payload.group }} is lagging",
            body="Consumer group {{ event.payload.group }} is "
            "{{ event.payload.total }} messages behind on topic "
            "{{ event.payload.topic }} (threshold {{ event.payload.threshold }}); "
            "is its follower running? See docs/runbook.md.",
        ),
    )
    dead_letters = AutomationCore(
        name=DEAD_LETTER_ALERT,
        description="A dead-letter topic holds more than "
        "ELECTION_DEAD_LETTER_ALERT_THRESHOLD messages; one alert per topic in "
        "10 minutes.",
        trigger=EventTrigger(
            expect={DEAD_LETTER_EVENT},
            match={
                "prefect.resource.id": "election.dead-letter.*",
                OVER_THRESHOLD: "true",
            },
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(minutes=10),
        ),
        actions=alert_actions(
            block_id,
            subject="election: dead letters in {{ event.payload.topic }}",
            body="{{ event.payload.topic }} holds {{ event.payload.count }} messages "
            "(threshold {{ event.payload.threshold }}); read them with "
            "`python -m flows.replay list`.",
        ),
    )
    zombies = AutomationCore(
        name=ZOMBIE_RUNS,
        description="A flow run that stops sending heartbeats without finishing "
        "lost its process: mark it crashed, which frees its deployment's "
        "concurrency slot and restarts a follower.",
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=3 * HEARTBEAT_S),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"no heartbeat for {3 * HEARTBEAT_S} s: its process is gone",
            )
        ],
    )
    stuck = AutomationCore(
        name=STUCK_RUNS,
        description="A flow run handed to a worker that died before starting it "
        "stays Pending: mark it crashed after 3 minutes, freeing its slot.",
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            after={"prefect.flow-run.Pending", "prefect.flow-run.Submitting"},
            expect={
                "prefect.flow-run.Running",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelling",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
                "prefect.flow-run.Scheduled",
                "prefect.flow-run.AwaitingConcurrencySlot",
            },
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=STUCK_AFTER,
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"not started {STUCK_AFTER.seconds // 60} minutes after it "
                "was submitted: its worker is gone",
            )
        ],
    )
    return [lag, dead_letters, zombies, stuck]


async def save_alert_block(webhook_url: str) -> UUID:
    """Save the webhook that alerts are posted to, as JSON {subject, body, source}."""
    block = CustomWebhookNotificationBlock(
        name=ALERT_BLOCK,
        url=webhook_url,
        method="POST",
        json_data={"subject": "{{subject}}", "body": "{{body}}", "source": "{{name}}"},
    )
    return await block.save(ALERT_BLOCK, overwrite=True)


async def replace_automation(client: PrefectClient, automation: AutomationCore) -> UUID:
    """Create `automation`, deleting those of the same name first."""
    for existing in await client.read_automations_by_name(automation.name):
        await client.delete_automation(existing.id)
    return await client.create_automation(automation)


async def create_automations(webhook_url: str | None = None) -> list[str]:
    """Create or replace the pipeline's automations; return their names."""
    block_id = await save_alert_block(webhook_url) if webhook_url else None
    async with get_client() as client:
        for automation in wanted_automations(block_id):
            await replace_automation(client, automation)
    return [automation.name for automation in wanted_automations(block_id)]


def main() -> None:
    """`python deployments/automations.py [--webhook-url URL]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--webhook-url", help="post alerts to this address as JSON as well"
    )
    args = parser.parse_args()
    api_url = os.environ["PREFECT_API_URL"]
    for name in asyncio.run(create_automations(args.webhook_url)):
        print(f"automation {name!r} saved on {api_url}")


if __name__ == "__main__":
    main()
