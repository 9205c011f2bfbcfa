"""The consumer loop: Kafka batches into PostgreSQL, offsets after the commit."""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar

import psycopg
from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
    wait_fixed,
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
    stage_registrations,
    stage_votes,
    write_registrations,
    write_votes,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

DATABASE_PATIENCE_S = 300
"""How long a consumer keeps trying to reach PostgreSQL before its run fails."""

COORDINATOR_PATIENCE_S = 60
"""How long reading a group's committed offsets waits for its coordinator."""

DEFAULT_BATCH_SIZE = 20_000
"""Most messages written in one transaction; fewer, larger commits go faster."""

SWITCH_INTERVAL_S = 0.0005
"""The GIL's switch interval while consuming, a tenth of Python's default.

The writer thread waits for PostgreSQL a few times per batch, and each time it
wakes up it needs the GIL back from the thread decoding the next batch; with the
default of 5 ms, those waits cost more than the queries.
"""

FLOWING_POLL_S = 0.1
"""Longest wait for a batch while messages are coming; idle, the poll timeout."""

FIRST_BATCH = 2_000
"""Most messages in a run's first batch, which no other batch overlaps."""

COLLECT_EVERY = 50
"""Batches between two collections of garbage while messages keep coming.

A batch makes some hundred thousand objects, all freed by reference counting and
next to none in cycles. Collecting as they come cost a fifth of the loop, and a
collection after every batch still a sixth: it walks the decoded batch in hand.
So the loop collects when idle and every this many batches.
"""


class Writer(Protocol):
    """Writes a decoded batch of one topic, staged already or not."""

    def __call__(
        self,
        conn: psycopg.Connection,
        batch: Sequence[Positioned],
        staged: bytes | None = None,
    ) -> WriteCounts: ...


Stager = Callable[[psycopg.Cursor, Sequence[Positioned]], bytes]
WRITERS: dict[str, Writer] = {
    REGISTRATION_TOPIC: write_registrations,
    VOTE_TOPIC: write_votes,
}
STAGERS: dict[str, Stager] = {
    REGISTRATION_TOPIC: stage_registrations,
    VOTE_TOPIC: stage_votes,
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


@dataclass(frozen=True)
class PartitionLag:
    """How far a consumer group is behind one partition."""

    partition: int
    committed: int | None
    """Next offset the group reads; None when it never committed one."""
    start: int
    end: int

    @property
    def lag(self) -> int:
        """Messages in the partition that the group has not committed yet."""
        read = self.start if self.committed is None else self.committed
        return max(self.end - max(read, self.start), 0)


@dataclass(frozen=True)
class TopicLag:
    """A consumer group's lag on its topic, and the topic's dead letters."""

    topic: str
    group: str
    partitions: list[PartitionLag]
    dead_letters: int
    """Messages kept in the topic's dead-letter topic."""

    @property
    def total(self) -> int:
        """Messages of the topic the group has not committed yet."""
        return sum(p.lag for p in self.partitions)


def measure_lag(settings: Settings, topic: str, group_id: str) -> TopicLag:
    """The committed offsets of `group_id` on `topic` against the partitions' ends."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_servers})
    # nobody commits on a dead-letter topic: its lag is what it holds
    dead = _lags(admin, _partitions(admin, dead_letter_topic(topic)))
    return TopicLag(
        topic,
        group_id,
        _group_lags(settings, admin, topic, group_id),
        sum(p.lag for p in dead),
    )


def _group_lags(
    settings: Settings, admin: AdminClient, topic: str, group_id: str
) -> list[PartitionLag]:
    """The lag of `group_id` on every partition of `topic`.

    NOTE: a consumer that joins nothing reads the committed offsets, not the
    admin client: librdkafka's admin OffsetFetch crashes the whole process
    (a segfault in rd_kafka_cgrp_op) when the coordinator answers
    NOT_COORDINATOR, as a broker that is still loading its groups does; a
    consumer asks for the coordinator again and retries.
    """
    partitions = _partitions(admin, topic)
    if not partitions:
        return []
    reader = Consumer(
        {
            "bootstrap.servers": settings.kafka_servers,
            "group.id": group_id,
            "enable.auto.commit": False,
        }
    )
    try:
        committed = when_coordinator_ready(
            lambda: reader.committed(partitions, timeout=10)
        )
    finally:
        reader.close()
    return _lags(admin, committed)


def when_coordinator_ready(action: Callable[[], T]) -> T:
    """`action()`, tried again while the group coordinator cannot answer yet.

    A broker just started answers so while it loads its groups, and the client
    does not flag every such answer as one to try again. After
    `COORDINATOR_PATIENCE_S` the last error is raised.
    """
    for attempt in Retrying(
        retry=retry_if_exception(_coordinator_busy),
        wait=wait_fixed(0.5),
        stop=stop_after_delay(COORDINATOR_PATIENCE_S),
        reraise=True,
    ):
        with attempt:
            return action()
    raise AssertionError("unreachable: tenacity reraises the last error")


_COORDINATOR_BUSY = {
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.NOT_COORDINATOR,
}


def _coordinator_busy(error: BaseException) -> bool:
    if not isinstance(error, KafkaException) or not error.args:
        return False
    kafka_error = error.args[0]
    return kafka_error.retriable() or kafka_error.code() in _COORDINATOR_BUSY


def _lags(
    admin: AdminClient, committed: Sequence[TopicPartition]
) -> list[PartitionLag]:
    """The lag of each partition from its committed offset, negative for none.

    The ends come from the admin client, on a connection of its own: a
    consumer's connection may be waiting in a fetch for up to half a second.
    """
    starts = _offsets(admin, committed, OffsetSpec.earliest())
    ends = _offsets(admin, committed, OffsetSpec.latest())
    return [
        PartitionLag(
            partition=tp.partition,
            committed=tp.offset if tp.offset >= 0 else None,
            start=starts[tp.topic, tp.partition],
            end=ends[tp.topic, tp.partition],
        )
        for tp in committed
    ]


def _partitions(admin: AdminClient, topic: str) -> list[TopicPartition]:
    """The partitions of `topic`; none when it does not exist."""
    metadata = admin.list_topics(topic, timeout=10).topics.get(topic)
    if metadata is None or metadata.error is not None:
        return []
    return [TopicPartition(topic, p) for p in sorted(metadata.partitions)]


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
        # end-of-partition markers tell the loop when to check that it caught up
        "enable.partition.eof": True,
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
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_messages: int | None = None,
    idle_timeout_s: float | None = 10.0,
    follow: bool = False,
    until_caught_up: bool = False,
    poll_timeout_s: float = 1.0,
    on_batch: Callable[[ConsumeReport], None] | None = None,
    on_tick: Callable[[ConsumeReport], None] | None = None,
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
        on_tick: called with the running report at every turn of the loop, busy
            or idle, between two batches.
    """
    report = ConsumeReport(topic=topic, counts=WriteCounts())
    started = time.monotonic()
    last_message = started
    flowing = False
    bounded = not follow

    def settled(batch_messages: int, counts: WriteCounts) -> None:
        report.counts.add(counts)
        report.messages += batch_messages
        report.batches += 1
        if report.batches % COLLECT_EVERY == 0:
            gc.collect(1)
        report.seconds = time.monotonic() - started
        if on_batch is not None:
            on_batch(report)

    with (
        StopSignal() as stop,
        _switch_interval(SWITCH_INTERVAL_S),
        _collections_between_batches(),
        _TopicReader(settings, topic, group_id, settled) as reader,
    ):
        while not stop.event.is_set():
            # a small first batch sets the writer going while Kafka fills the
            # fetch queue; a full one would wait for several fetches first
            limit = batch_size if reader.submitted else min(batch_size, FIRST_BATCH)
            if max_messages is not None and bounded:
                limit = min(batch_size, max_messages - reader.submitted)
                if limit <= 0:
                    report.stopped_by = f"max_messages={max_messages}"
                    break
            if on_tick is not None:
                on_tick(report)
            # Kafka's batch call waits for a full batch or the timeout: while
            # messages flow the wait is short, or the tail would wait it out
            wait = min(poll_timeout_s, FLOWING_POLL_S) if flowing else poll_timeout_s
            messages = reader.poll(limit, wait)
            flowing = bool(messages)
            if messages:
                last_message = time.monotonic()
                reader.submit(messages)
                if not (until_caught_up and bounded and reader.at_end()):
                    continue
            reader.settle()
            if not messages:
                gc.collect(1)
                reader.tidy(report)
            if until_caught_up and bounded and reader.caught_up():
                report.stopped_by = "caught up with every partition"
                break
            idle = time.monotonic() - last_message
            if bounded and idle_timeout_s is not None and idle >= idle_timeout_s:
                report.stopped_by = f"idle for {idle_timeout_s:g} s"
                break
        else:
            report.stopped_by = "signal"
        reader.settle()

    report.seconds = time.monotonic() - started
    return report


@contextmanager
def _switch_interval(seconds: float) -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, seconds))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@contextmanager
def _collections_between_batches() -> Iterator[None]:
    """No automatic garbage collection in the block, and never of older objects.

    `gc.freeze` sets what the process holds now aside from every collection until
    the block ends; the loop collects the young generations itself, see
    `COLLECT_EVERY`.
    """
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


class _TopicReader:
    """A topic's consumer, its dead-letter producer and a database connection.

    A batch is decoded and staged in COPY's binary format on the calling thread
    while the batch before it is written on a thread of its own, so PostgreSQL
    works while Python decodes, and the writing thread spends its time waiting
    for the server rather than for the interpreter. At most one batch is in
    flight; its offsets are committed on the calling thread once its transaction
    committed (`settle`), and before any partition is revoked.
    """

    def __init__(
        self,
        settings: Settings,
        topic: str,
        group_id: str,
        settled: Callable[[int, WriteCounts], None],
    ) -> None:
        self.settings = settings
        self.topic = topic
        self.stage = STAGERS[topic]
        self.writer = WRITERS[topic]
        self.settled = settled
        self.consumer = Consumer(consumer_config(settings, group_id))
        self.admin = AdminClient({"bootstrap.servers": settings.kafka_servers})
        self.dead_letters = Producer(
            {
                "bootstrap.servers": settings.kafka_servers,
                "enable.idempotence": True,
                "acks": "all",
            }
        )
        self.conn: psycopg.Connection | None = None
        self.staging: psycopg.Cursor | None = None
        self.pending: list[TopicPartition] = []
        self.submitted = 0
        self.at_eof: set[int] = set()
        self.in_flight: tuple[Future[WriteCounts], list[Message]] | None = None
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=topic)
        self.consumer.subscribe(
            [topic], on_revoke=self._on_revoke, on_assign=_log_assign
        )

    def __enter__(self) -> _TopicReader:
        # a cursor that only lends its type adapters to staging, never executed;
        # made before any batch, so before the writing thread uses the connection
        self.staging = self._with_database(lambda conn: conn.cursor())
        return self

    def __exit__(self, *exc: object) -> None:
        # a batch still in flight here failed or was abandoned: it finishes, but
        # its offsets stay uncommitted and Kafka delivers it again
        self.pool.shutdown(wait=True)
        self.consumer.close()
        self.dead_letters.flush(10)
        if self.conn is not None:
            self.conn.close()

    def poll(self, limit: int, timeout: float) -> list[Message]:
        """Up to `limit` messages, or none after `timeout` seconds."""
        usable = []
        for message in self.consumer.consume(num_messages=limit, timeout=timeout):
            if _usable(message):
                self.at_eof.discard(message.partition())
                usable.append(message)
            elif _is_eof(message):
                self.at_eof.add(message.partition())
        return usable

    def at_end(self) -> bool:
        """Whether every assigned partition reported its end since its last message."""
        assignment = self.consumer.assignment()
        return bool(assignment) and all(
            tp.partition in self.at_eof for tp in assignment
        )

    def submit(self, messages: list[Message]) -> None:
        """Decode and stage `messages` here, then write them once the batch before
        is settled."""
        batch, bad = _decode(self.topic, messages)
        staged = self.stage(self.staging, batch) if batch else b""
        self.settle()
        self.submitted += len(messages)
        future = self.pool.submit(self._write, batch, staged, bad)
        self.in_flight = (future, messages)

    def settle(self) -> None:
        """Wait for the batch in flight, if any, and commit its offsets."""
        if self.in_flight is None:
            return
        future, messages = self.in_flight
        self.in_flight = None
        counts = future.result()
        self.commit(messages)
        self.settled(len(messages), counts)

    def _write(
        self, batch: list[Positioned], staged: bytes, bad: list[Held]
    ) -> WriteCounts:
        """Park the unreadable messages, write the rest in one transaction."""
        _send_dead_letters(self.dead_letters, self.topic, bad)

        def attempt(conn: psycopg.Connection) -> WriteCounts:
            with conn.transaction():
                counts = self.writer(conn, batch, staged)
                hold(conn, bad)
            counts.dead_lettered = len(bad)
            return counts

        return self._with_database(attempt)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # NOTE: rebalance callbacks run inside consume(), on the calling thread;
        # the batch in flight is written and committed before its partitions go.
        logger.info("revoked partitions %s", sorted(p.partition for p in partitions))
        self.settle()
        self.at_eof.difference_update(p.partition for p in partitions)

    def commit(self, messages: Sequence[Message]) -> None:
        """Commit the offsets after `messages`, and any that failed before."""
        offsets = _merge_offsets(self.pending, _next_offsets(messages))
        if not offsets:
            return
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
        group = self.settings.consumer_group(REGISTRATION_TOPIC)
        lags = _group_lags(self.settings, self.admin, REGISTRATION_TOPIC, group)
        return all(p.lag == 0 for p in lags)

    def caught_up(self) -> bool:
        """Whether every assigned partition is read and committed to its end."""
        assignment = self.consumer.assignment()
        if not assignment:
            return False
        committed = self.consumer.committed(assignment, timeout=10)
        return all(p.lag == 0 for p in _lags(self.admin, committed))

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


def _offsets(
    admin: AdminClient, partitions: Sequence[TopicPartition], spec: OffsetSpec
) -> dict[tuple[str, int], int]:
    if not partitions:
        return {}
    futures = admin.list_offsets(
        {TopicPartition(tp.topic, tp.partition): spec for tp in partitions},
        request_timeout=10,
    )
    return {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}


def _is_eof(message: Message) -> bool:
    error = message.error()
    return error is not None and error.code() == KafkaError._PARTITION_EOF


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
