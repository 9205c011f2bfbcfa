"""The consumer loop: Kafka batches into PostgreSQL, offsets after the commit."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import psycopg
from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from election.contracts import (
    REGISTRATION_TOPIC,
    VOTE_TOPIC,
    ContractError,
    dead_letter_topic,
    parse_event,
    stable_id,
)
from election.db import connect
from election.settings import Settings
from tasks.ingest import (
    Held,
    Positioned,
    WriteCounts,
    apply_parked_votes,
    dead_letter_payload,
    expire_parked_votes,
    hold,
    write_registrations,
    write_votes,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

DATABASE_PATIENCE_S = 300
"""How long a consumer keeps trying to reach PostgreSQL before its run fails."""

Writer = Callable[[psycopg.Connection, Sequence[Positioned]], WriteCounts]
WRITERS: dict[str, Writer] = {
    REGISTRATION_TOPIC: write_registrations,
    VOTE_TOPIC: write_votes,
}


@dataclass
class ConsumeReport:
    """What one consumer run did."""

    topic: str
    messages: int = 0
    batches: int = 0
    seconds: float = 0.0
    counts: WriteCounts | None = None
    stopped_by: str = ""

    @property
    def rate(self) -> float:
        """Messages per second over the run."""
        return self.messages / self.seconds if self.seconds else 0.0


class StopSignal:
    """Turns SIGTERM and SIGINT into a flag the loop checks between batches."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignal:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        logger.info("received signal %s: finishing the batch, then stopping", signum)
        self.event.set()

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]


def consumer_config(settings: Settings, group_id: str) -> dict[str, object]:
    """Configuration of a consumer that commits only what it wrote."""
    return {
        "bootstrap.servers": settings.kafka_servers,
        "group.id": group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        "fetch.min.bytes": 1,
        # a consumer killed without leaving hands its partitions on after 10 s
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 2_000,
        "max.poll.interval.ms": 300_000,
    }


def consume_topic(
    settings: Settings,
    topic: str,
    *,
    group_id: str,
    batch_size: int = 5_000,
    max_messages: int | None = None,
    idle_timeout_s: float | None = 10.0,
    follow: bool = False,
    until_caught_up: bool = False,
    poll_timeout_s: float = 1.0,
    on_batch: Callable[[ConsumeReport], None] | None = None,
) -> ConsumeReport:
    """Consume `topic` into PostgreSQL until the stop condition holds.

    Each batch is written in one database transaction; its offsets are committed
    to Kafka only after that transaction committed, so a crash at any point makes
    Kafka deliver the batch again, and the idempotent writers ignore what they
    already wrote. A lost database connection is made again and the same batch
    written again; offsets Kafka cannot take now are committed with a later batch.

    Args:
        settings: where Kafka and PostgreSQL are.
        topic: `registration` or `vote`.
        group_id: the consumer group; runs in one group share the partitions.
        batch_size: most messages written in one transaction.
        max_messages: stop after this many messages (bounded run).
        idle_timeout_s: stop after this long without a message (bounded run).
        follow: ignore both limits and run until SIGTERM or SIGINT.
        until_caught_up: also stop once every partition is read to its end.
        poll_timeout_s: longest wait for one batch.
        on_batch: called with the running report after each batch.
    """
    report = ConsumeReport(topic=topic, counts=WriteCounts())
    started = time.monotonic()
    last_message = started

    with StopSignal() as stop, _TopicReader(settings, topic, group_id) as reader:
        while not stop.event.is_set():
            limit = batch_size
            if max_messages is not None and not follow:
                limit = min(batch_size, max_messages - report.messages)
                if limit <= 0:
                    report.stopped_by = f"max_messages={max_messages}"
                    break
            messages = reader.poll(limit, poll_timeout_s)
            if not messages:
                reader.tidy(report)
                if until_caught_up and not follow and reader.caught_up():
                    report.stopped_by = "caught up with every partition"
                    break
                idle = time.monotonic() - last_message
                if not follow and idle_timeout_s is not None and idle >= idle_timeout_s:
                    report.stopped_by = f"idle for {idle_timeout_s:g} s"
                    break
                continue
            last_message = time.monotonic()

            report.counts.add(reader.write(messages))
            reader.commit(messages)
            report.messages += len(messages)
            report.batches += 1
            report.seconds = time.monotonic() - started
            if on_batch is not None:
                on_batch(report)
        else:
            report.stopped_by = "signal"

    report.seconds = time.monotonic() - started
    return report


class _TopicReader:
    """A topic's consumer, its dead-letter producer and a database connection."""

    def __init__(self, settings: Settings, topic: str, group_id: str) -> None:
        self.settings = settings
        self.topic = topic
        self.writer = WRITERS[topic]
        self.consumer = Consumer(consumer_config(settings, group_id))
        self.dead_letters = Producer(
            {
                "bootstrap.servers": settings.kafka_servers,
                "enable.idempotence": True,
                "acks": "all",
            }
        )
        self.conn: psycopg.Connection | None = None
        self.registrations: Consumer | None = None
        self.pending: list[TopicPartition] = []
        self.consumer.subscribe([topic], on_revoke=_log_revoke, on_assign=_log_assign)

    def __enter__(self) -> _TopicReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.consumer.close()
        if self.registrations is not None:
            self.registrations.close()
        self.dead_letters.flush(10)
        if self.conn is not None:
            self.conn.close()

    def poll(self, limit: int, timeout: float) -> list[Message]:
        """Up to `limit` messages, or none after `timeout` seconds."""
        messages = self.consumer.consume(num_messages=limit, timeout=timeout)
        return [m for m in messages if _usable(m)]

    def write(self, messages: Sequence[Message]) -> WriteCounts:
        """Decode `messages`, park the unreadable, write the rest in a transaction."""
        batch, bad = _decode(self.topic, messages)
        _send_dead_letters(self.dead_letters, self.topic, bad)

        def attempt(conn: psycopg.Connection) -> WriteCounts:
            with conn.transaction():
                counts = self.writer(conn, batch)
                hold(conn, bad)
            counts.dead_lettered = len(bad)
            return counts

        return self._with_database(attempt)

    def commit(self, messages: Sequence[Message]) -> None:
        """Commit the offsets after `messages`, and any that failed before."""
        offsets = _merge_offsets(self.pending, _next_offsets(messages))
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as error:
            # NOTE: not committing is safe: the batch is already in the database
            # and a redelivery of it changes nothing. Keep the offsets for the
            # next commit rather than stopping the run.
            logger.warning(
                "Kafka did not take the offsets of %s (%s); they go with the next "
                "commit, and a restart before then reads the batch again",
                self.topic,
                error,
            )
            self.pending = offsets
            return
        self.pending = []

    def tidy(self, report: ConsumeReport) -> None:
        """While idle: commit what is pending, apply votes whose voters arrived."""
        if self.pending:
            self.commit([])
        if self.topic != VOTE_TOPIC:
            return

        def sweep(conn: psycopg.Connection) -> WriteCounts:
            with conn.transaction():
                return apply_parked_votes(conn)

        counts = self._with_database(sweep)
        if counts.unparked or counts.rejected:
            logger.info(
                "applied %d parked votes whose voters arrived (%d rejected)",
                counts.unparked,
                counts.rejected,
            )
            report.counts.add(counts)
        if self._with_database(self._overdue) and self._registrations_caught_up():
            expired = self._with_database(self._expire_parked)
            report.counts.dead_lettered += expired

    def _overdue(self, conn: psycopg.Connection) -> bool:
        """Whether a vote has been parked longer than the grace period."""
        row = conn.execute(
            "select exists (select 1 from held_events where status = 'parked' "
            "and created_at < now() - make_interval(secs => %s))",
            (self.settings.park_grace_s,),
        ).fetchone()
        conn.commit()
        return bool(row[0])

    def _expire_parked(self, conn: psycopg.Connection) -> int:
        with conn.transaction():
            expired = expire_parked_votes(conn, self.settings.park_grace_s)
            # the dead letters reach Kafka before the transaction commits; if it
            # does not, the next sweep sends them again
            _send_dead_letters(self.dead_letters, self.topic, expired)
        return len(expired)

    def _registrations_caught_up(self) -> bool:
        """Whether the registration consumers have written all there is to read."""
        if self.registrations is None:
            self.registrations = Consumer(
                consumer_config(
                    self.settings, self.settings.consumer_group(REGISTRATION_TOPIC)
                )
            )
        metadata = self.registrations.list_topics(REGISTRATION_TOPIC, timeout=10)
        partitions = [
            TopicPartition(REGISTRATION_TOPIC, p)
            for p in metadata.topics[REGISTRATION_TOPIC].partitions
        ]
        return _all_read(self.registrations, partitions)

    def caught_up(self) -> bool:
        """Whether every assigned partition is read and committed to its end."""
        return _caught_up(self.consumer)

    def _with_database(self, work: Callable[[psycopg.Connection], T]) -> T:
        """Run `work` on the connection, connecting again while the database is down."""
        for attempt in Retrying(
            retry=retry_if_exception_type(psycopg.OperationalError),
            wait=wait_exponential(multiplier=0.5, max=10),
            stop=stop_after_delay(DATABASE_PATIENCE_S),
            before_sleep=self._forget_connection,
            reraise=True,
        ):
            with attempt:
                if self.conn is None or self.conn.closed:
                    self.conn = connect(self.settings)
                return work(self.conn)
        raise AssertionError("unreachable: tenacity reraises the last error")

    def _forget_connection(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.warning(
            "PostgreSQL failed while writing %s (%s); connecting again and writing "
            "the same batch",
            self.topic,
            error,
        )
        if self.conn is not None:
            self.conn.close()
        self.conn = None


def _caught_up(consumer: Consumer) -> bool:
    assignment = consumer.assignment()
    return bool(assignment) and _all_read(consumer, assignment)


def _all_read(consumer: Consumer, partitions: list[TopicPartition]) -> bool:
    """Whether the consumer's group has committed every partition to its end."""
    for committed in consumer.committed(partitions, timeout=10):
        low, high = consumer.get_watermark_offsets(committed, timeout=10, cached=False)
        position = committed.offset if committed.offset >= 0 else low
        if position < high:
            return False
    return True


def _usable(message: Message) -> bool:
    error = message.error()
    if error is None:
        return True
    if error.code() == KafkaError._PARTITION_EOF:
        return False
    if error.fatal() or not error.retriable():
        raise RuntimeError(f"Kafka consumer failed: {error.str()}")
    logger.warning("Kafka reported %s; the client retries by itself", error.str())
    return False


def _decode(
    topic: str, messages: Sequence[Message]
) -> tuple[list[Positioned], list[Held]]:
    batch: list[Positioned] = []
    bad: list[Held] = []
    for message in messages:
        try:
            event = parse_event(topic, message.value() or b"")
        except ContractError as error:
            bad.append(
                Held(
                    event_id=stable_id(topic, message.partition(), message.offset()),
                    topic=topic,
                    status="dead_letter",
                    reason=str(error),
                    payload=dead_letter_payload(message.value()),
                    partition=message.partition(),
                    offset=message.offset(),
                )
            )
            continue
        batch.append(Positioned(event, message.partition(), message.offset()))
    return batch, bad


def _send_dead_letters(producer: Producer, topic: str, bad: Sequence[Held]) -> None:
    if not bad:
        return
    target = dead_letter_topic(topic)
    for held in bad:
        producer.produce(
            target,
            value=held.payload.encode(),
            headers={
                "reason": held.reason.encode(),
                "source_topic": topic.encode(),
                "source_partition": str(held.partition).encode(),
                "source_offset": str(held.offset).encode(),
            },
        )
    remaining = producer.flush(30)
    if remaining:
        raise RuntimeError(
            f"{remaining} dead letters were not acknowledged by Kafka within 30 s; "
            "the batch is not committed and will be read again"
        )
    logger.warning("sent %d undecodable %s messages to %s", len(bad), topic, target)


def _merge_offsets(
    earlier: Sequence[TopicPartition], later: Sequence[TopicPartition]
) -> list[TopicPartition]:
    merged = {(tp.topic, tp.partition): tp.offset for tp in earlier}
    for tp in later:
        key = (tp.topic, tp.partition)
        merged[key] = max(merged.get(key, -1), tp.offset)
    return [TopicPartition(t, p, offset) for (t, p), offset in merged.items()]


def _next_offsets(messages: Sequence[Message]) -> list[TopicPartition]:
    last: dict[tuple[str, int], int] = {}
    for message in messages:
        key = (message.topic(), message.partition())
        last[key] = max(last.get(key, -1), message.offset())
    return [TopicPartition(t, p, offset + 1) for (t, p), offset in last.items()]


def _log_assign(consumer: Consumer, partitions: list[TopicPartition]) -> None:
    logger.info("assigned partitions %s", sorted(p.partition for p in partitions))


def _log_revoke(consumer: Consumer, partitions: list[TopicPartition]) -> None:
    # NOTE: batches are written and committed between two consume() calls, and
    # rebalance callbacks only run inside consume(), so nothing is in flight here.
    logger.info("revoked partitions %s", sorted(p.partition for p in partitions))
