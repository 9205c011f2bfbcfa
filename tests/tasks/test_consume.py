"""The consumer loop against the real broker and the real staging database."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import psycopg
import pytest
from confluent_kafka import Consumer, Producer

from election.contracts import (
    RegistrationEvent,
    VoteEvent,
    dead_letter_topic,
    encode_event,
)
from election.settings import Settings
from tasks.consume import consume_topic

pytestmark = pytest.mark.slow

MakeRegistration = Callable[..., RegistrationEvent]
MakeVote = Callable[..., VoteEvent]


def produce(
    settings: Settings, topic: str, values: list[bytes], keys: list[str]
) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka_servers, "acks": "all"})
    for key, value in zip(keys, values, strict=True):
        producer.produce(topic, key=key.encode(), value=value)
    assert producer.flush(30) == 0


def read_dead_letters(settings: Settings, topic: str) -> list[tuple[bytes, dict]]:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_servers,
            "group.id": f"test-dlq-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([dead_letter_topic(topic)])
    letters = []
    idle = 0
    while idle < 5:
        message = consumer.poll(1.0)
        if message is None:
            idle += 1
            continue
        if message.error() is None:
            letters.append((message.value(), dict(message.headers() or [])))
    consumer.close()
    return letters


def test_events_become_rows_once_and_garbage_goes_to_the_dead_letter_topic(
    stack: Settings,
    db: psycopg.Connection,
    registration: MakeRegistration,
    vote: MakeVote,
) -> None:
    voters = [registration() for _ in range(20)]
    ballots = [vote(v) for v in voters]
    marker = f"not json {uuid.uuid4()}".encode()
    produce(
        stack,
        "vote",
        [encode_event(b) for b in ballots] + [marker],
        [str(b.voter_id) for b in ballots] + ["garbage"],
    )
    produce(
        stack,
        "registration",
        [encode_event(v) for v in voters + voters],
        [str(v.voter_id) for v in voters + voters],
    )
    group = f"test-{uuid.uuid4()}"

    consume_topic(stack, "vote", group_id=group, until_caught_up=True)
    consume_topic(stack, "registration", group_id=group, until_caught_up=True)
    again = consume_topic(stack, "registration", group_id=group, until_caught_up=True)

    ids = [b.event_id for b in ballots]
    counted = db.execute(
        "select count(*) from votes where vote_id = any(%s)", (ids,)
    ).fetchone()[0]
    assert counted == 20
    assert again.messages == 0
    dead = db.execute(
        "select reason, kafka_offset from held_events "
        "where status = 'dead_letter' and payload = %s",
        (marker.decode(),),
    ).fetchall()
    assert len(dead) == 1
    assert "invalid vote event" in dead[0][0]
    letters = [h for value, h in read_dead_letters(stack, "vote") if value == marker]
    assert len(letters) == 1
    assert letters[0]["source_offset"].decode() == str(dead[0][1])
    assert b"invalid vote event" in letters[0]["reason"]
