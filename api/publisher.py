"""The API's Kafka producer: one per process, it waits for the broker's acks."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from flask import Flask, current_app

from election.settings import Settings

logger = logging.getLogger(__name__)

PUBLISHER_EXTENSION = "election.publisher"
"""Key of the app's EventPublisher in `Flask.extensions`."""

LINGER_MS = 5
"""How long the producer gathers events into one batch before it sends them."""

DeliveryCallback = Callable[[KafkaError | None, Message], None]


class ProducerLike(Protocol):
    """The part of `confluent_kafka.Producer` that the API uses; tests pass stubs."""

    def produce(
        self, topic: str, *, value: bytes, key: bytes, on_delivery: DeliveryCallback
    ) -> None:
        """Queue one message; `on_delivery` runs once the broker answered."""

    def poll(self, timeout: float) -> int:
        """Run the delivery callbacks that are due, waiting up to `timeout` s."""

    def flush(self, timeout: float) -> int:
        """Wait up to `timeout` s for every queued message; return how many remain."""

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        """Cluster metadata, with a `brokers` mapping; raises KafkaException."""


def _reason(error: KafkaException) -> str:
    """The readable reason of a client exception, without the KafkaError repr."""
    first = error.args[0] if error.args else error
    return first.str() if isinstance(first, KafkaError) else str(first)


class BrokerUnavailable(Exception):
    """The Kafka broker did not answer in time."""


class _Deliveries:
    """The outcome of each message of one request, filled in by delivery callbacks."""

    def __init__(self, count: int, timeout_message: str) -> None:
        self._outcomes: list[str | None] = [timeout_message] * count
        self._settled = [False] * count
        self._remaining = count
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._timeout_message = timeout_message
        if count == 0:
            self._done.set()

    def report(self, index: int, error: KafkaError | None, message: Message) -> None:
        """Delivery callback of message `index`."""
        if error is None:
            self.settle(index, None)
        elif error.code() == KafkaError._MSG_TIMED_OUT:
            self.settle(index, self._timeout_message)
        else:
            self.settle(index, f"Kafka refused the event: {error.str()}")

    def settle(self, index: int, outcome: str | None) -> None:
        """Record that message `index` was acknowledged (None) or why it was not."""
        with self._lock:
            if self._settled[index]:
                return
            self._settled[index] = True
            self._outcomes[index] = outcome
            self._remaining -= 1
            if self._remaining == 0:
                self._done.set()

    def wait(self, deadline: float) -> list[str | None]:
        """Wait until every message is settled or `deadline` passed; the outcomes.

        A message still unsettled then counts as not acknowledged in time.
        """
        self._done.wait(max(0.0, deadline - time.monotonic()))
        with self._lock:
            return list(self._outcomes)


class EventPublisher:
    """Sends events to Kafka and waits, for a bounded time, for their acknowledgement.

    The producer is made lazily in the process that first uses it, and made anew
    after a fork, since librdkafka's threads do not survive one. A thread of that
    process polls the producer so that delivery callbacks run as soon as the broker
    answers, whichever request thread is waiting for them.

    Args:
        settings: Where the broker is (`kafka_servers`) and how long to wait for
            an acknowledgement (`produce_timeout_s`).
        producer: A producer to use instead of a `confluent_kafka.Producer`.
    """

    def __init__(
        self, settings: Settings, producer: ProducerLike | None = None
    ) -> None:
        self.servers = settings.kafka_servers
        self.timeout_s = settings.produce_timeout_s
        self._given = producer
        self._producer: ProducerLike | None = None
        self._pid: int | None = None
        self._fatal: str | None = None
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._lock = threading.Lock()
        self._atexit_pid: int | None = None

    def config(self) -> dict[str, Any]:
        """librdkafka settings: idempotent, acks from all replicas, bounded waits."""
        timeout_ms = max(1, int(self.timeout_s * 1000))
        return {
            "bootstrap.servers": self.servers,
            "client.id": f"election-api-{os.getpid()}",
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": min(LINGER_MS, timeout_ms - 1),
            "message.timeout.ms": timeout_ms,
            "request.timeout.ms": timeout_ms,
            "error_cb": self._on_error,
            "logger": logging.getLogger(f"{__name__}.librdkafka"),
        }

    def producer(self) -> ProducerLike:
        """This process's producer, made on first use, after a fork or a fatal error."""
        producer = self._producer
        if producer is not None and self._pid == os.getpid() and self._fatal is None:
            return producer
        with self._lock:
            if self._producer is None or self._pid != os.getpid() or self._fatal:
                self._open()
            assert self._producer is not None
            return self._producer

    def _open(self) -> None:
        """Make this process's producer and the thread that polls it."""
        pid = os.getpid()
        if self._producer is not None and self._pid == pid:
            logger.warning(
                "replacing the Kafka producer of %s after a fatal error: %s",
                self.servers,
                self._fatal,
            )
            self._stop.set()
        producer = self._given or Producer(self.config())
        stop = threading.Event()
        poller = threading.Thread(
            target=self._poll_until,
            args=(producer, stop),
            name="kafka-delivery-poller",
            daemon=True,
        )
        poller.start()
        self._producer, self._pid, self._fatal = producer, pid, None
        self._stop, self._poller = stop, poller
        if self._atexit_pid != pid:
            atexit.register(self.close)
            self._atexit_pid = pid
        logger.info("opened a Kafka producer to %s in process %d", self.servers, pid)

    @staticmethod
    def _poll_until(producer: ProducerLike, stop: threading.Event) -> None:
        """Run delivery callbacks as the broker answers, until `stop` is set."""
        while not stop.is_set():
            try:
                producer.poll(0.1)
            except Exception:
                logger.exception("a Kafka delivery callback failed; polling goes on")

    def _on_error(self, error: KafkaError) -> None:
        """Log errors of the client; after a fatal one the next request makes anew."""
        if error.fatal():
            logger.error(
                "the Kafka producer of %s failed and will be made anew: %s",
                self.servers,
                error.str(),
            )
            self._fatal = error.str()
        elif error.code() == KafkaError._ALL_BROKERS_DOWN:
            logger.warning(
                "no Kafka broker at %s answers; events get 503 until one does: "
                "start the broker or point ELECTION_KAFKA_BOOTSTRAP at one",
                self.servers,
            )
        elif error.code() == KafkaError._TRANSPORT:
            logger.debug("Kafka at %s: %s", self.servers, error.str())
        else:
            logger.warning("Kafka at %s reported %s", self.servers, error.str())

    def timeout_message(self) -> str:
        """What to tell a client whose event the broker did not acknowledge in time."""
        return f"Kafka did not acknowledge the event within {self.timeout_s:.1f} s"

    def publish(
        self, topic: str, messages: Sequence[tuple[bytes, bytes]]
    ) -> list[str | None]:
        """Produce `(key, value)` messages to `topic` and wait for the broker's acks.

        Every message is queued first, then the call waits once for all of them,
        at most `produce_timeout_s` from its start.

        Args:
            topic: The Kafka topic.
            messages: Key and value bytes of each message.

        Returns:
            For each message, None if the broker acknowledged it, else the reason
            it did not.
        """
        producer = self.producer()
        deadline = time.monotonic() + self.timeout_s
        deliveries = _Deliveries(len(messages), self.timeout_message())
        for index, (key, value) in enumerate(messages):
            callback = partial(deliveries.report, index)
            reason = self._produce(producer, topic, key, value, callback, deadline)
            if reason is not None:
                deliveries.settle(index, reason)
        return deliveries.wait(deadline)

    def _produce(
        self,
        producer: ProducerLike,
        topic: str,
        key: bytes,
        value: bytes,
        callback: DeliveryCallback,
        deadline: float,
    ) -> str | None:
        """Queue one message, waiting while the local queue is full; None if queued."""
        while True:
            try:
                producer.produce(topic, value=value, key=key, on_delivery=callback)
                return None
            except BufferError:
                if time.monotonic() >= deadline:
                    return (
                        "the API's Kafka queue stayed full for "
                        f"{self.timeout_s:.1f} s: Kafka is slower than the clients"
                    )
                time.sleep(0.005)
            except KafkaException as error:
                return f"Kafka refused the event: {_reason(error)}"

    def count_brokers(self, timeout_s: float) -> int:
        """Number of brokers in the cluster's answer to a metadata request.

        Raises:
            BrokerUnavailable: if the cluster did not answer within `timeout_s`.
        """
        try:
            metadata = self.producer().list_topics(timeout=timeout_s)
        except KafkaException as error:
            raise BrokerUnavailable(
                f"Kafka at {self.servers!r} did not answer within {timeout_s:.1f} s "
                f"({_reason(error)}); start the broker or point "
                "ELECTION_KAFKA_BOOTSTRAP at one"
            ) from error
        return len(metadata.brokers)

    def close(self) -> None:
        """Wait up to `produce_timeout_s` for queued events, then stop polling."""
        with self._lock:
            producer, poller = self._producer, self._poller
            if producer is None or self._pid != os.getpid():
                return
            self._producer = None
        remaining = producer.flush(self.timeout_s)
        self._stop.set()
        if poller is not None:
            poller.join(timeout=1.0)
        if remaining:
            logger.warning(
                "%d events were still unacknowledged by Kafka at %s when the API "
                "stopped; their clients got 503 and should send them again",
                remaining,
                self.servers,
            )
        logger.info("closed the Kafka producer to %s", self.servers)


def get_publisher(app: Flask | None = None) -> EventPublisher:
    """The EventPublisher of `app`, or of the app handling the current request."""
    target = app if app is not None else current_app
    publisher: EventPublisher = target.extensions[PUBLISHER_EXTENSION]
    return publisher
