"""A consumer flow reports its group's lag and its dead letters to the operator."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from confluent_kafka import Producer

from election.alerts import DEAD_LETTER_EVENT, LAG_EVENT, OVER_THRESHOLD
from election.contracts import RegistrationEvent, encode_event
from election.settings import Settings
from flows.consume import consume_registrations
from tasks.consume import measure_lag

pytestmark = pytest.mark.slow

MakeRegistration = Callable[..., RegistrationEvent]


def produce(settings: Settings, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka_servers, "acks": "all"})
    for value in values:
        producer.produce("registration", key=str(uuid.uuid4()).encode(), value=value)
    assert producer.flush(30) == 0


def read_events(api: str, name: str, resource_id: str) -> list[dict[str, Any]]:
    """The events `name` of `resource_id`, waiting for the server to store them."""
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    body = {
        "filter": {
            "occurred": {"since": since},
            "event": {"name": [name]},
            "resource": {"id": [resource_id]},
        },
        "limit": 10,
    }
    deadline = time.monotonic() + 60
    while True:
        response = httpx.post(f"{api}/events/filter", json=body, timeout=10)
        response.raise_for_status()
        events = response.json()["events"]
        if events or time.monotonic() > deadline:
            return events
        time.sleep(1)


def test_lag_and_dead_letters_are_logged_emitted_and_kept(
    stack: Settings, registration: MakeRegistration
) -> None:
    group = f"test-lag-{uuid.uuid4()}"
    produce(stack, [encode_event(registration()) for _ in range(30)])
    produce(stack, [f"not json {uuid.uuid4()}".encode()])

    before = measure_lag(stack, "registration", group)
    everything = sum(p.end - p.start for p in before.partitions)
    assert before.total == everything >= 31
    assert all(p.committed is None for p in before.partitions)

    asyncio.run(
        consume_registrations(group_id=group, until_caught_up=True, idle_timeout_s=30)
    )

    after = measure_lag(stack, "registration", group)
    assert after.total == 0
    assert after.dead_letters >= 1

    (lag,) = read_events(stack.prefect_api_url, LAG_EVENT, f"election.consumer.{group}")
    assert lag["payload"]["total"] == 0
    assert lag["payload"]["topic"] == "registration"
    assert sum(lag["payload"]["partitions"].values()) == 0
    assert lag["resource"][OVER_THRESHOLD] == "false"

    letters = read_events(
        stack.prefect_api_url, DEAD_LETTER_EVENT, "election.dead-letter.registration"
    )
    assert letters, "no dead-letter event was stored"
    newest = max(letters, key=lambda event: event["occurred"])
    assert newest["payload"]["count"] == after.dead_letters
    assert newest["payload"]["topic"] == "registration.dead-letter"
    # the threshold is 0: a single dead letter is over it
    assert newest["resource"][OVER_THRESHOLD] == "true"


def test_lag_table_has_a_row_per_partition(
    stack: Settings, read_table_artifact: Callable[[str], list[dict[str, Any]]]
) -> None:
    group = f"test-lag-{uuid.uuid4()}"
    asyncio.run(
        consume_registrations(group_id=group, until_caught_up=True, idle_timeout_s=30)
    )

    rows = read_table_artifact("consumer-lag-registration")
    assert sorted(row["partition"] for row in rows) == list(
        range(stack.kafka_partitions)
    )
    assert all(row["lag"] == 0 for row in rows)
