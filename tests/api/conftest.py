"""Fixtures of the API tests: apps on a stub or a real broker, payloads, readers."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from flask import Flask
from flask.testing import FlaskClient
from pydantic import SecretStr

from api import create_app
from api.publisher import DeliveryCallback, get_publisher
from election.settings import Settings

TOKEN = "api-test-token"
ELECTION = "us2020-r10000"

Payload = dict[str, Any]
PayloadFactory = Callable[..., Payload]


class StubProducer:
    """A producer without a broker: it acknowledges every message on the next poll.

    Only for the tests of the validation path; acceptance is tested on Kafka.
    """

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self._due: list[DeliveryCallback] = []

    def produce(
        self, topic: str, *, value: bytes, key: bytes, on_delivery: DeliveryCallback
    ) -> None:
        """Record the message and acknowledge it on the next poll."""
        self.sent.append((topic, key, value))
        self._due.append(on_delivery)

    def poll(self, timeout: float) -> int:
        """Acknowledge every recorded message, or sleep `timeout` if there is none."""
        due, self._due = self._due, []
        for callback in due:
            callback(None, None)  # type: ignore[arg-type]
        if not due:
            time.sleep(timeout)
        return len(due)

    def flush(self, timeout: float) -> int:
        """Acknowledge every recorded message."""
        self.poll(0)
        return 0

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        """Metadata of a cluster of one broker."""
        return type("Metadata", (), {"brokers": {1: "stub"}})()


def free_port() -> int:
    """A TCP port of the loopback interface that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def make_registration() -> PayloadFactory:
    """A factory of valid registration payloads; keywords replace fields."""

    def make(**fields: Any) -> Payload:
        payload: Payload = {
            "event_id": str(uuid.uuid4()),
            "voter_id": str(uuid.uuid4()),
            "election_id": ELECTION,
            "state": "CA",
            "occurred_at": "2020-10-01T10:00:00Z",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.org",
            "gender": "female",
            "birth_date": "1980-12-10",
            "registered_at": "2020-10-01T10:00:00Z",
        }
        return {**payload, **fields}

    return make


@pytest.fixture
def make_vote() -> PayloadFactory:
    """A factory of valid vote payloads; keywords replace fields."""

    def make(**fields: Any) -> Payload:
        payload: Payload = {
            "event_id": str(uuid.uuid4()),
            "voter_id": str(uuid.uuid4()),
            "election_id": ELECTION,
            "state": "NE",
            "district": 2,
            "candidate_id": f"{ELECTION}-dem",
            "cast_at": "2020-11-03T15:30:00-06:00",
        }
        return {**payload, **fields}

    return make


@pytest.fixture
def make_event(
    make_registration: PayloadFactory, make_vote: PayloadFactory
) -> Callable[[str], Payload]:
    """A valid payload of the resource named by its route, /register or /vote."""
    factories = {"/register": make_registration, "/vote": make_vote}
    return lambda route: factories[route]()


@pytest.fixture
def auth() -> dict[str, str]:
    """The header that authorises writes to the test apps."""
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def stub_settings(tmp_path: Path) -> Settings:
    """Settings with a token and a broker address where nothing listens."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        api_token=SecretStr(TOKEN),
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
        produce_timeout_s=1.0,
    )


@pytest.fixture
def stub_producer() -> StubProducer:
    """A producer that acknowledges everything without a broker."""
    return StubProducer()


@pytest.fixture
def stub_app(stub_settings: Settings, stub_producer: StubProducer) -> Iterator[Flask]:
    """The API on the stub producer, for tests of the validation path."""
    app = create_app(stub_settings, stub_producer)
    app.config["TESTING"] = True
    yield app
    get_publisher(app).close()


@pytest.fixture
def stub_client(stub_app: Flask) -> FlaskClient:
    """A test client of the API on the stub producer."""
    return stub_app.test_client()


@pytest.fixture
def kafka_settings(stack: Settings) -> Settings:
    """The test stack's settings with the API token of these tests."""
    return stack.model_copy(
        update={"api_token": SecretStr(TOKEN), "produce_timeout_s": 5.0}
    )


@pytest.fixture
def kafka_app(kafka_settings: Settings) -> Iterator[Flask]:
    """The API producing to the test stack's Kafka broker."""
    app = create_app(kafka_settings)
    app.config["TESTING"] = True
    yield app
    get_publisher(app).close()


@pytest.fixture
def kafka_client(kafka_app: Flask) -> FlaskClient:
    """A test client of the API on the test stack's broker."""
    return kafka_app.test_client()


class TopicReader:
    """Reads back what a test produced: the messages after the offsets of its start."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.topic = topic
        self._seen: dict[str, Message] = {}
        self._assigned = False
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka_servers,
                "group.id": f"api-tests-{uuid.uuid4()}",
                "enable.auto.commit": False,
            }
        )
        _ensure_topic(settings, topic)
        metadata = self._consumer.list_topics(topic, timeout=10)
        self._start = []
        for partition in metadata.topics[topic].partitions:
            _, high = self._consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=10
            )
            self._start.append(TopicPartition(topic, partition, high))

    def read(self, event_ids: set[str], timeout_s: float = 30.0) -> dict[str, Message]:
        """The messages carrying `event_ids`, by event id; fails after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while not event_ids <= set(self._seen) and time.monotonic() < deadline:
            self._poll(0.5)
        missing = event_ids - set(self._seen)
        assert not missing, f"{len(missing)} events never reached {self.topic!r}"
        return {event_id: self._seen[event_id] for event_id in event_ids}

    def drain(self, quiet_s: float = 1.0) -> set[str]:
        """Event ids of every message read, once none came for `quiet_s`."""
        while self._poll(quiet_s):
            pass
        return set(self._seen)

    def _poll(self, timeout_s: float) -> bool:
        """Read one message into `_seen`; whether one came within `timeout_s`."""
        if not self._assigned:
            self._consumer.assign(self._start)
            self._assigned = True
        message = self._consumer.poll(timeout_s)
        if message is None:
            return False
        if message.error() is None:
            self._seen[_event_id(message)] = message
        return True

    def close(self) -> None:
        """Leave the broker."""
        self._consumer.close()


def _event_id(message: Message) -> str:
    """The event_id inside the JSON value of `message`."""
    value = message.value()
    assert value is not None
    event_id: str = json.loads(value)["event_id"]
    return event_id


def _ensure_topic(settings: Settings, topic: str) -> None:
    """Create `topic` unless the broker already has it."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_servers})
    future = admin.create_topics(
        [NewTopic(topic, num_partitions=settings.kafka_partitions)]
    )[topic]
    try:
        future.result(timeout=30)
    except KafkaException as error:
        if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise


@pytest.fixture
def read_topic(kafka_settings: Settings) -> Iterator[Callable[[str], TopicReader]]:
    """Open a TopicReader on a topic at its current end; closed after the test."""
    readers: list[TopicReader] = []

    def open_reader(topic: str) -> TopicReader:
        reader = TopicReader(kafka_settings, topic)
        readers.append(reader)
        return reader

    yield open_reader
    for reader in readers:
        reader.close()


@pytest.fixture
def unused_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    return free_port()
