"""Fixtures of the API tests: apps on a stub or a real broker, gunicorn, payloads."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
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
from services import KafkaBroker

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "api-test-token"
ELECTION = "us2020-r10000"
LEADERLESS = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
}
"""Answers of a broker whose new topic has no partition leader yet."""

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


@pytest.fixture(scope="session")
def token() -> str:
    """The bearer token of the test apps."""
    return TOKEN


@pytest.fixture(scope="session")
def auth(token: str) -> dict[str, str]:
    """The header that authorises writes to the test apps; copy it to change it."""
    return {"Authorization": f"Bearer {token}"}


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


@pytest.fixture(scope="session")
def kafka_settings(kafka: Settings) -> Settings:
    """The session broker's settings with the API token of these tests."""
    return kafka.model_copy(
        update={"api_token": SecretStr(TOKEN), "produce_timeout_s": 5.0}
    )


@pytest.fixture
def kafka_app(kafka_settings: Settings) -> Iterator[Flask]:
    """The API producing to the session's Kafka broker."""
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
            high = self._high_watermark(TopicPartition(topic, partition))
            self._start.append(TopicPartition(topic, partition, high))

    def _high_watermark(self, partition: TopicPartition, timeout_s: float = 30) -> int:
        """The end offset of `partition`, waiting while a new topic elects leaders."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                _, high = self._consumer.get_watermark_offsets(partition, timeout=10)
                return int(high)
            except KafkaException as error:
                code = error.args[0].code()
                if code not in LEADERLESS or time.monotonic() > deadline:
                    raise
            time.sleep(0.2)

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
def open_reader() -> Iterator[Callable[[Settings, str], TopicReader]]:
    """Open a TopicReader on the broker of some settings; closed after the test."""
    readers: list[TopicReader] = []

    def open_on(settings: Settings, topic: str) -> TopicReader:
        reader = TopicReader(settings, topic)
        readers.append(reader)
        return reader

    yield open_on
    for reader in readers:
        reader.close()


@pytest.fixture
def read_topic(
    kafka_settings: Settings, open_reader: Callable[[Settings, str], TopicReader]
) -> Callable[[str], TopicReader]:
    """Open a TopicReader on a topic of the session's broker at its current end."""
    return lambda topic: open_reader(kafka_settings, topic)


@pytest.fixture
def unused_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    return free_port()


def _wait_healthy(url: str, server: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Wait until `url`/health answers 200; fail if the server exits or stays down."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert server.poll() is None, f"gunicorn exited with {server.returncode}"
        try:
            if requests.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the API at {url} was not healthy within {timeout_s} s")


@contextmanager
def _gunicorn(kafka_servers: str, folder: Path) -> Iterator[str]:
    """Run `python -m api` with one worker on a free port; yield its base URL.

    It produces to `kafka_servers`, takes the token of these tests and logs to
    `folder`/gunicorn.log.
    """
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "ELECTION_API_HOST": "127.0.0.1",
        "ELECTION_API_PORT": str(port),
        "ELECTION_API_WORKERS": "1",
        "ELECTION_API_TOKEN": TOKEN,
        "ELECTION_KAFKA_BOOTSTRAP": kafka_servers,
        "ELECTION_DATA_DIR": str(folder),
    }
    log = (folder / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "api"],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, server, timeout_s=30)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="session")
def served_api(
    kafka_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The base URL of the API run by `python -m api` on the session's broker."""
    with _gunicorn(kafka_settings.kafka_servers, tmp_path_factory.mktemp("api")) as url:
        yield url


@pytest.fixture(scope="module")
def isolated_api(
    make_service_settings: Callable[[], Settings],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The base URL of `python -m api` on a Kafka broker of its own.

    What a test sends it reaches no topic that other tests read, so it may
    send anything the contracts allow.
    """
    broker = KafkaBroker(make_service_settings())
    broker.start()
    try:
        with _gunicorn(broker.address, tmp_path_factory.mktemp("api")) as url:
            yield url
    finally:
        broker.stop()


@pytest.fixture
def private_broker(
    make_service_settings: Callable[[], Settings],
) -> Iterator[KafkaBroker]:
    """A Kafka broker of this test alone, on its own ports, that it may stop.

    The session's broker is shared; a test that takes a broker away uses this
    one. It is stopped after the test.
    """
    broker = KafkaBroker(make_service_settings())
    broker.start()
    yield broker
    broker.stop()
