"""The event contracts: what they accept, what they refuse, and a trip through Kafka."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from confluent_kafka import Consumer, Producer

from election.contracts import (
    ContractError,
    RegistrationEvent,
    VoteEvent,
    encode_event,
    parse_event,
)
from election.settings import Settings

REGISTRATION = {
    "event_id": str(uuid.uuid4()),
    "voter_id": str(uuid.uuid4()),
    "election_id": "us2020-r10000",
    "state": "NE",
    "district": 2,
    "occurred_at": "2020-10-01T12:00:00.123456Z",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "gender": "female",
    "birth_date": "1980-05-17",
    "registered_at": "2020-10-01T12:00:00.123456Z",
}
VOTE = {
    "event_id": str(uuid.uuid4()),
    "voter_id": REGISTRATION["voter_id"],
    "election_id": "us2020-r10000",
    "state": "NE",
    "district": 2,
    "candidate_id": "us2020-r10000-dem",
    "cast_at": "2020-11-03T15:30:00Z",
}


def fields_named(topic: str, payload: dict) -> list[str]:
    with pytest.raises(ContractError) as error:
        parse_event(topic, payload)
    return [problem["field"] for problem in error.value.problems]


class TestContracts:
    def test_valid_events_parse_with_schema_version_one(self) -> None:
        registration = parse_event("registration", REGISTRATION)
        vote = parse_event("vote", VOTE)

        assert isinstance(registration, RegistrationEvent)
        assert (registration.schema_version, registration.action) == (1, "register")
        assert isinstance(vote, VoteEvent)
        assert vote.cast_at == datetime(2020, 11, 3, 15, 30, tzinfo=UTC)

    def test_missing_field_is_named(self) -> None:
        payload = {k: v for k, v in VOTE.items() if k != "candidate_id"}

        assert fields_named("vote", payload) == ["candidate_id"]

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"state": "XX"}, "state"),
            ({"state": "PA", "district": 2}, "district"),
            ({"district": 4}, "district"),
            ({"district": None}, "district"),
            ({"candidate_id": "us2024-r10000-dem"}, "candidate_id"),
            ({"election_id": "2020"}, "election_id"),
            ({"cast_at": "2020-11-03T15:30:00"}, "cast_at"),
            ({"schema_version": 2}, "schema_version"),
            ({"ballot": "secret"}, "ballot"),
        ],
        ids=[
            "unknown-state",
            "district-outside-me-ne",
            "no-such-district",
            "district-missing-in-ne",
            "candidate-of-another-election",
            "malformed-election",
            "naive-time",
            "future-schema",
            "unknown-field",
        ],
    )
    def test_wrong_vote_field_is_named(self, changes: dict, field: str) -> None:
        assert fields_named("vote", VOTE | changes) == [field]

    def test_nul_character_is_refused(self) -> None:
        assert fields_named("registration", REGISTRATION | {"last_name": "A\x00"}) == [
            "last_name"
        ]

    def test_undecodable_bytes_name_the_body(self) -> None:
        assert fields_named("vote", b"\xff not json") == ["body"]


@pytest.mark.slow
def test_each_event_type_round_trips_through_kafka(kafka: Settings) -> None:
    events = {
        "registration": parse_event("registration", REGISTRATION),
        "vote": parse_event("vote", VOTE),
    }
    producer = Producer({"bootstrap.servers": kafka.kafka_servers, "acks": "all"})
    for topic, event in events.items():
        producer.produce(topic, key=str(event.voter_id), value=encode_event(event))
    assert producer.flush(30) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": kafka.kafka_servers,
            "group.id": f"contracts-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe(list(events))
    received: dict[str, object] = {}
    deadline = datetime.now(UTC).timestamp() + 60
    while len(received) < 2 and datetime.now(UTC).timestamp() < deadline:
        message = consumer.poll(1.0)
        if message is None or message.error():
            continue
        try:
            event = parse_event(message.topic(), message.value())
        except ContractError:
            continue  # another test's garbage, in the session's shared topics
        if event.event_id == events[message.topic()].event_id:
            received[message.topic()] = event
    consumer.close()

    assert received == events
