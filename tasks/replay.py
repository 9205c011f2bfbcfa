"""Listing and replaying the events kept in `held_events`: dead letters, rejects."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import psycopg

from election.contracts import ContractError, parse_event
from tasks.consume import WRITERS
from tasks.ingest import Positioned, WriteCounts

logger = logging.getLogger(__name__)

STATUSES = ("dead_letter", "rejected", "parked")


@dataclass(frozen=True)
class HeldRow:
    """One held event as listed."""

    event_id: UUID
    topic: str
    status: str
    reason: str
    partition: int | None
    offset: int | None
    created_at: datetime


@dataclass
class ReplayReport:
    """What a replay did with the events it took."""

    taken: int = 0
    counts: WriteCounts = field(default_factory=WriteCounts)
    unreadable: list[tuple[UUID, str]] = field(default_factory=list)


def list_held(
    conn: psycopg.Connection,
    statuses: Sequence[str] = STATUSES,
    topic: str | None = None,
    limit: int = 100,
) -> list[HeldRow]:
    """The held events of `statuses` (and `topic`), oldest first."""
    rows = conn.execute(
        """
        select event_id, topic, status, reason, kafka_partition, kafka_offset,
            created_at
        from held_events
        where status = any(%s) and (%s::text is null or topic = %s)
        order by created_at, kafka_partition, kafka_offset
        limit %s
        """,
        (list(statuses), topic, topic, limit),
    ).fetchall()
    return [HeldRow(*row) for row in rows]


def replay_held(
    conn: psycopg.Connection,
    statuses: Sequence[str] = ("dead_letter",),
    topic: str | None = None,
    event_ids: Sequence[UUID] | None = None,
) -> ReplayReport:
    """Judge held events again as if they had just arrived, in one transaction.

    Each event leaves `held_events` and goes through its topic's writer: it is
    counted now, or held again with a fresh reason (a second vote stays
    rejected). A payload that still breaks its contract stays where it is.
    """
    report = ReplayReport()
    with conn.transaction():
        rows = conn.execute(
            """
            select event_id, topic, payload, kafka_partition, kafka_offset
            from held_events
            where status = any(%s)
                and (%s::text is null or topic = %s)
                and (%s::uuid[] is null or event_id = any(%s::uuid[]))
            order by created_at, kafka_partition, kafka_offset
            for update
            """,
            (list(statuses), topic, topic, event_ids, event_ids),
        ).fetchall()
        batches: dict[str, list[Positioned]] = {}
        taken: list[UUID] = []
        for event_id, row_topic, payload, partition, offset in rows:
            try:
                event = parse_event(row_topic, payload)
            except ContractError as error:
                report.unreadable.append((event_id, str(error)))
                continue
            batches.setdefault(row_topic, []).append(
                Positioned(event, partition, offset)
            )
            taken.append(event_id)
        conn.execute("delete from held_events where event_id = any(%s)", (taken,))
        # registrations first: replayed votes may be waiting for them
        for row_topic in sorted(batches, key=lambda name: name != "registration"):
            report.counts.add(WRITERS[row_topic](conn, batches[row_topic]))
        report.taken = len(taken)
    logger.info(
        "replayed %d held events: %d written, %d parked, %d rejected; %d unreadable",
        report.taken,
        report.counts.written + report.counts.unparked,
        report.counts.parked,
        report.counts.rejected,
        len(report.unreadable),
    )
    return report
