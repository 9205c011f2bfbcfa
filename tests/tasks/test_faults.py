"""Faults with real processes: every acknowledged event ends up counted once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable

import psycopg
import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

from election.contracts import RegistrationEvent, VoteEvent, encode_event
from election.settings import PROJECT_ROOT, Settings
from services import KafkaBroker, PostgresServer
from tasks.consume import consume_topic
from tasks.replay import replay_held

pytestmark = pytest.mark.slow

MakeRegistration = Callable[..., RegistrationEvent]
MakeVote = Callable[..., VoteEvent]

CONSUMER = """
import sys
from election.settings import get_settings
from tasks.consume import consume_topic
consume_topic(get_settings(), sys.argv[1], group_id=sys.argv[2], batch_size=200,
              idle_timeout_s=60)
"""


def produce(settings: Settings, topic: str, events: list) -> None:
    producer = Producer(
        {"bootstrap.servers": settings.kafka_servers, "enable.idempotence": True}
    )
    for event in events:
        producer.produce(topic, key=str(event.voter_id), value=encode_event(event))
        producer.poll(0)
    assert producer.flush(60) == 0


def counted(db: psycopg.Connection, table: str, key: str, ids: list) -> tuple[int, int]:
    """Rows of `ids` in `table`, and how many distinct ones."""
    return db.execute(
        f"select count(*), count(distinct {key}) from {table} where {key} = any(%s)",
        (ids,),
    ).fetchone()


def test_consumer_killed_mid_batch_loses_and_doubles_nothing(
    stack: Settings, db: psycopg.Connection, registration: MakeRegistration
) -> None:
    voters = [registration() for _ in range(5_000)]
    produce(stack, "registration", voters)
    group = f"kill-{uuid.uuid4()}"
    process = subprocess.Popen(
        [sys.executable, "-c", CONSUMER, "registration", group],
        cwd=PROJECT_ROOT,
        env=os.environ,
    )

    # kill -9 once it has written some batches but not all
    deadline = time.monotonic() + 120
    ids = [v.voter_id for v in voters]
    while counted(db, "voters", "voter_id", ids)[0] < 600:
        assert process.poll() is None, "the consumer failed: read its stderr"
        assert time.monotonic() < deadline, "the consumer wrote nothing"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written_before = counted(db, "voters", "voter_id", ids)[0]

    # the killed member's partitions come back after its session times out
    consume_topic(
        stack, "registration", group_id=group, until_caught_up=True, idle_timeout_s=30
    )

    assert 0 < written_before < 5_000
    assert counted(db, "voters", "voter_id", ids) == (5_000, 5_000)


def wait_for_members(settings: Settings, group: str, members: int) -> None:
    """Wait until `group` has `members` members, each with partitions."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_servers})
    deadline = time.monotonic() + 60
    while True:
        try:
            description = admin.describe_consumer_groups([group])[group].result(10)
        except KafkaException:
            assigned = []  # the group is not there yet
        else:
            assigned = [m for m in description.members if m.assignment.topic_partitions]
        if len(assigned) == members:
            return
        assert time.monotonic() < deadline, f"{group} has {len(assigned)} members"
        time.sleep(0.2)


def test_two_consumers_in_one_group_share_partitions_and_count_once(
    stack: Settings,
    db: psycopg.Connection,
    registration: MakeRegistration,
    vote: MakeVote,
) -> None:
    voters = [registration() for _ in range(2_000)]
    ballots = [vote(v) for v in voters]
    group = f"pair-{uuid.uuid4()}"
    reports = []

    def run(topic: str) -> None:
        reports.append(
            consume_topic(
                stack, topic, group_id=group, batch_size=100, idle_timeout_s=20
            )
        )

    # the events go in once both members hold partitions: a lone member that
    # joined first could otherwise drain a small topic before the other joins
    for topic, events in (("registration", voters), ("vote", ballots)):
        threads = [threading.Thread(target=run, args=(topic,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        wait_for_members(stack, group, 2)
        produce(stack, topic, events)
        for thread in threads:
            thread.join()

    assert all(report.messages > 0 for report in reports), [
        (r.topic, r.messages) for r in reports
    ]
    assert counted(db, "voters", "voter_id", [v.voter_id for v in voters]) == (
        2_000,
        2_000,
    )
    assert counted(db, "votes", "vote_id", [b.event_id for b in ballots]) == (
        2_000,
        2_000,
    )


def test_postgres_restart_mid_stream_keeps_every_event_once(
    stack: Settings, db: psycopg.Connection, registration: MakeRegistration
) -> None:
    voters = [registration() for _ in range(6_000)]
    produce(stack, "registration", voters)
    ids = [v.voter_id for v in voters]
    server = PostgresServer(stack, migrate=False)
    result = []
    consumer = threading.Thread(
        target=lambda: result.append(
            consume_topic(
                stack,
                "registration",
                group_id=f"pg-{uuid.uuid4()}",
                batch_size=100,
                until_caught_up=True,
                idle_timeout_s=60,
            )
        )
    )

    consumer.start()
    time.sleep(1.0)
    server.stop()
    time.sleep(2.0)
    server.start()
    consumer.join(timeout=300)

    assert result, "the consumer did not finish after the restart"
    with psycopg.connect(stack.postgres_dsn) as conn:
        assert counted(conn, "voters", "voter_id", ids) == (6_000, 6_000)


def test_broker_restart_while_events_stream_keeps_every_event_once(
    stack: Settings, db: psycopg.Connection, registration: MakeRegistration
) -> None:
    voters = [registration() for _ in range(3_000)]
    broker = KafkaBroker(stack)
    produce(stack, "registration", voters[:1_500])
    group = f"broker-{uuid.uuid4()}"
    result = []
    consumer = threading.Thread(
        target=lambda: result.append(
            consume_topic(
                stack, "registration", group_id=group, batch_size=100, idle_timeout_s=45
            )
        )
    )

    consumer.start()
    time.sleep(0.5)
    broker.stop()
    broker.start()
    produce(stack, "registration", voters[1_500:])
    consumer.join(timeout=300)
    consume_topic(stack, "registration", group_id=group, until_caught_up=True)

    ids = [v.voter_id for v in voters]
    assert counted(db, "voters", "voter_id", ids) == (3_000, 3_000)


def test_vote_whose_voter_never_comes_is_dead_lettered_then_replayed(
    stack: Settings,
    db: psycopg.Connection,
    registration: MakeRegistration,
    vote: MakeVote,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stranger = registration()
    ballot = vote(stranger)
    produce(stack, "vote", [ballot])
    monkeypatch.setattr(stack, "park_grace_s", 0.0)

    # registrations caught up: everything the session produced is written
    consume_topic(
        stack,
        "registration",
        group_id=stack.consumer_group("registration"),
        until_caught_up=True,
    )
    consume_topic(stack, "vote", group_id=f"dlq-{uuid.uuid4()}", idle_timeout_s=4)

    status, reason = db.execute(
        "select status, reason from held_events where event_id = %s",
        (ballot.event_id,),
    ).fetchone()
    assert status == "dead_letter"
    assert f"voter {stranger.voter_id} never registered" in reason

    # the voter turns up after all: a replay counts the vote
    produce(stack, "registration", [stranger])
    consume_topic(
        stack,
        "registration",
        group_id=stack.consumer_group("registration"),
        until_caught_up=True,
    )
    report = replay_held(db, ["dead_letter"], "vote", [ballot.event_id])

    assert report.taken == 1
    assert counted(db, "votes", "vote_id", [ballot.event_id]) == (1, 1)
