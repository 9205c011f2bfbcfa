"""Writes batches of registration and vote events into the staging database.

Every write is idempotent on the event: a redelivered message changes nothing.
The rules a vote goes through, in order:

1. its `vote_id` (the event id) is already counted, or already held: skip it;
2. its voter is not registered yet: park it, to apply when the voter arrives;
3. its voter already voted in that election: reject it, with the reason;
4. its state or district differs from the voter's registration: reject it;
5. otherwise count it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

import psycopg
from psycopg.copy import Copy, FileWriter

from election.contracts import RegistrationEvent, VoteEvent, parse_event
from election.elections import ensure_elections

# NOTE: both the vote and the registration writers take this lock before they
# look at parked votes, so that a vote parked by one transaction can never miss
# the voter that another, concurrent transaction registers.
PARKING_LOCK = 7_250_001


@dataclass(frozen=True)
class Held:
    """An event kept aside in `held_events` rather than written."""

    event_id: UUID
    topic: str
    status: str
    reason: str
    payload: str
    voter_id: UUID | None = None
    partition: int | None = None
    offset: int | None = None


@dataclass
class WriteCounts:
    """What one batch did to the staging database."""

    written: int = 0
    unchanged: int = 0
    parked: int = 0
    rejected: int = 0
    dead_lettered: int = 0
    unparked: int = 0
    held: list[Held] = field(default_factory=list, repr=False)

    def add(self, other: WriteCounts) -> None:
        """Add the counts of `other` to these."""
        self.written += other.written
        self.unchanged += other.unchanged
        self.parked += other.parked
        self.rejected += other.rejected
        self.dead_lettered += other.dead_lettered
        self.unparked += other.unparked


@dataclass(frozen=True)
class Positioned:
    """A decoded event and where it was read from."""

    event: RegistrationEvent | VoteEvent
    partition: int | None = None
    offset: int | None = None


def write_registrations(
    conn: psycopg.Connection,
    batch: Sequence[Positioned],
    staged: bytes | None = None,
) -> WriteCounts:
    """Upsert the voters of `batch` and apply the votes parked for them.

    A registration, update or removal carries the voter's whole record; the newest
    event of a voter wins, and an event older than what is stored changes nothing.
    Runs inside the caller's transaction.

    Args:
        conn: a connection inside the caller's transaction.
        batch: the decoded registration events.
        staged: the batch as `stage_registrations` makes it; made here if None.
    """
    counts = WriteCounts()
    if not batch:
        return counts
    events = [item.event for item in batch]
    ensure_elections(conn, {event.election_id for event in events})
    if staged is None:
        staged = stage_registrations(conn.cursor(), batch)

    _create_incoming_tables(conn)
    with conn.cursor() as cur:
        with cur.copy("copy incoming_voters from stdin (format binary)") as copy:
            copy.write(staged)
        cur.execute(
            """
            insert into voters as v (
                voter_id, election_id, state, district, first_name, last_name,
                email, phone, gender, birth_date, registered_at, removed_at,
                last_event_id, last_event_at
            )
            select distinct on (voter_id) *
            from incoming_voters
            order by voter_id, last_event_at desc, last_event_id desc
            on conflict (voter_id) do update set
                election_id = excluded.election_id,
                state = excluded.state,
                district = excluded.district,
                first_name = excluded.first_name,
                last_name = excluded.last_name,
                email = excluded.email,
                phone = excluded.phone,
                gender = excluded.gender,
                birth_date = excluded.birth_date,
                registered_at = excluded.registered_at,
                removed_at = excluded.removed_at,
                last_event_id = excluded.last_event_id,
                last_event_at = excluded.last_event_at
            where (v.last_event_at, v.last_event_id)
                < (excluded.last_event_at, excluded.last_event_id)
            """
        )
        counts.written = cur.rowcount
        counts.unchanged = len(events) - counts.written
    counts.add(apply_parked_votes(conn, [event.voter_id for event in events]))
    return counts


def voter_row(event: RegistrationEvent) -> tuple[object, ...]:
    """The `voters` row of a registration, update or removal."""
    removed_at = event.occurred_at if event.action == "remove" else None
    return (
        event.voter_id,
        event.election_id,
        event.state,
        event.district,
        event.first_name,
        event.last_name,
        event.email,
        event.phone,
        event.gender,
        event.birth_date,
        event.registered_at,
        removed_at,
        event.event_id,
        event.occurred_at,
    )


def vote_row(event: VoteEvent) -> tuple[object, ...]:
    """The `votes` row of a vote."""
    return (
        event.event_id,
        event.election_id,
        event.voter_id,
        event.candidate_id,
        event.state,
        event.district,
        event.cast_at,
    )


def write_votes(
    conn: psycopg.Connection,
    batch: Sequence[Positioned],
    staged: bytes | None = None,
) -> WriteCounts:
    """Count, park or reject each vote of `batch`, following the module's rules.

    Runs inside the caller's transaction; the held votes are in `counts.held`.

    Args:
        conn: a connection inside the caller's transaction.
        batch: the decoded vote events.
        staged: the batch as `stage_votes` makes it; made here if None.
    """
    counts = WriteCounts()
    if not batch:
        return counts
    ensure_elections(conn, {item.event.election_id for item in batch})
    if staged is None:
        staged = stage_votes(conn.cursor(), batch)

    _create_incoming_tables(conn)
    with conn.cursor() as cur:
        with cur.copy("copy incoming_votes from stdin (format binary)") as copy:
            copy.write(staged)
        cur.execute("select pg_advisory_xact_lock(%s)", (PARKING_LOCK,))
        cur.execute(_CLASSIFY_AND_COUNT_VOTES)
        verdicts = cur.fetchall()

    # the statement names each vote it did not count
    for position, verdict, detail in verdicts:
        item = batch[position]
        if verdict == "known":
            counts.unchanged += 1
            continue
        status = "parked" if verdict == "parked" else "rejected"
        reason = _vote_reason(verdict, item.event, detail)
        counts.held.append(_held(item, "vote", status, reason))
        if status == "parked":
            counts.parked += 1
        else:
            counts.rejected += 1
    counts.written = len(batch) - len(verdicts)
    hold(conn, counts.held)
    return counts


def stage_registrations(cursor: psycopg.Cursor, batch: Sequence[Positioned]) -> bytes:
    """The `incoming_voters` rows of `batch` in COPY's binary format.

    Made without a word to the server: `cursor` only lends its type adapters,
    so a thread may stage the next batch while another writes with the same
    connection.
    """
    return _copy_rows(
        cursor, _INCOMING_VOTER_TYPES, (voter_row(item.event) for item in batch)
    )


def stage_votes(cursor: psycopg.Cursor, batch: Sequence[Positioned]) -> bytes:
    """The `incoming_votes` rows of `batch` in COPY's binary format, numbered.

    As `stage_registrations`, made without a word to the server.
    """
    return _copy_rows(
        cursor,
        _INCOMING_VOTE_TYPES,
        ((position, *vote_row(item.event)) for position, item in enumerate(batch)),
    )


def _copy_rows(
    cursor: psycopg.Cursor, types: Sequence[str], rows: Iterable[tuple[object, ...]]
) -> bytes:
    buffer = io.BytesIO()
    with Copy(cursor, binary=True, writer=FileWriter(buffer)) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
    return buffer.getvalue()


# NOTE: batches travel in COPY's binary format, a third of the text format's
# cost in Python; the column types below must match the rows staged.
_INCOMING_TABLES = """
    create temp table if not exists incoming_voters (
        voter_id uuid, election_id text, state text, district smallint,
        first_name text, last_name text, email text, phone text,
        gender text, birth_date date, registered_at timestamptz,
        removed_at timestamptz, last_event_id uuid, last_event_at timestamptz
    ) on commit delete rows;

    create temp table if not exists incoming_votes (
        position integer, vote_id uuid, election_id text, voter_id uuid,
        candidate_id text, state text, district smallint, cast_at timestamptz
    ) on commit delete rows
"""
_INCOMING_VOTER_TYPES = (
    "uuid text text int2 text text text text text date timestamptz timestamptz "
    "uuid timestamptz"
).split()
_INCOMING_VOTE_TYPES = "int4 uuid text uuid text text int2 timestamptz".split()


def _create_incoming_tables(conn: psycopg.Connection) -> None:
    """Create the session's temporary tables that batches are copied into.

    Looking them up is much cheaper than `create ... if not exists`, and sees
    a creation that a rolled-back transaction undid.
    """
    (present,) = conn.execute(
        "select to_regclass('pg_temp.incoming_votes') is not null"
    ).fetchone()
    if not present:
        conn.execute(_INCOMING_TABLES)


# NOTE: one statement judges the batch and counts the votes that pass. Every
# writer of `votes` holds the parking lock, and the statement's snapshot is taken
# after the lock, so what it judges cannot change before the commit: the votes
# it counts go in with a plain insert, no check of each row against the unique
# indexes first. A vote whose id is counted already is `known`, whichever voter
# it names.
_CLASSIFY_AND_COUNT_VOTES = """
    with copies as (
        select
            *,
            position = min(position) over (partition by vote_id) as is_first_copy
        from incoming_votes
    ),

    ranked as (
        select
            *,
            first_value(vote_id) over (
                partition by election_id, voter_id order by position
            ) as first_in_batch
        from copies
        where is_first_copy
    ),

    judged as (
        select
            r.*,
            case
                when held.event_id is not null or counted.vote_id is not null
                    then 'known'
                when voter.voter_id is null then 'parked'
                when earlier.vote_id is not null or r.vote_id <> r.first_in_batch
                    then 'second_vote'
                when voter.election_id <> r.election_id then 'wrong_election'
                when voter.state <> r.state
                    or voter.district is distinct from r.district
                    then 'wrong_place'
                else 'ok'
            end as verdict,
            coalesce(earlier.vote_id, r.first_in_batch)::text as first_vote_id
        from ranked as r
        left join held_events as held on held.event_id = r.vote_id
        left join votes as counted on counted.vote_id = r.vote_id
        left join voters as voter on voter.voter_id = r.voter_id
        left join votes as earlier
            on earlier.election_id = r.election_id
            and earlier.voter_id = r.voter_id
    ),

    inserted as (
        insert into votes (
            vote_id, election_id, voter_id, candidate_id, state, district, cast_at
        )
        select vote_id, election_id, voter_id, candidate_id, state, district,
            cast_at
        from judged
        where verdict = 'ok'
    )

    select position, verdict, first_vote_id
    from judged
    where verdict <> 'ok'

    union all

    select position, 'known', null
    from copies
    where not is_first_copy
"""


def _vote_reason(verdict: str, event: VoteEvent, detail: str | None) -> str:
    if verdict == "parked":
        return (
            f"voter {event.voter_id} is not registered yet; the vote is applied "
            "when the registration arrives"
        )
    if verdict == "second_vote":
        return (
            f"voter {event.voter_id} already voted in {event.election_id} "
            f"(vote {detail}); the first vote stands"
        )
    if verdict == "wrong_election":
        return (
            f"voter {event.voter_id} is registered for another election than "
            f"{event.election_id}"
        )
    return (
        f"vote cast in {event.state} district {event.district} but voter "
        f"{event.voter_id} is registered elsewhere"
    )


def _held(item: Positioned, topic: str, status: str, reason: str) -> Held:
    event = item.event
    return Held(
        event_id=event.event_id,
        topic=topic,
        status=status,
        reason=reason,
        payload=event.model_dump_json(),
        voter_id=event.voter_id,
        partition=item.partition,
        offset=item.offset,
    )


def hold(conn: psycopg.Connection, held: Iterable[Held]) -> None:
    """Keep `held` events in `held_events`; an event already held stays as it is."""
    rows = [
        (
            h.event_id,
            h.topic,
            h.status,
            h.reason,
            h.payload,
            h.voter_id,
            h.partition,
            h.offset,
        )
        for h in held
    ]
    if not rows:
        return
    with conn.cursor() as cur:
        cur.executemany(
            """
            insert into held_events (
                event_id, topic, status, reason, payload, voter_id,
                kafka_partition, kafka_offset
            )
            values (%s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (event_id) do nothing
            """,
            rows,
        )


def apply_parked_votes(
    conn: psycopg.Connection, voter_ids: Sequence[UUID] | None = None
) -> WriteCounts:
    """Apply the parked votes whose voters are registered now.

    Args:
        conn: a connection inside the caller's transaction.
        voter_ids: look only at votes of these voters; None looks at all.
    """
    with conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(%s)", (PARKING_LOCK,))
        cur.execute("select exists (select 1 from held_events where status = 'parked')")
        (any_parked,) = cur.fetchone()
        if not any_parked:
            return WriteCounts()
        cur.execute(
            """
            select h.event_id, h.payload, h.kafka_partition, h.kafka_offset
            from held_events as h
            join voters as v on v.voter_id = h.voter_id
            where h.status = 'parked'
                and (%(ids)s::uuid[] is null or h.voter_id = any(%(ids)s::uuid[]))
            order by h.created_at, h.kafka_partition, h.kafka_offset
            for update of h
            """,
            {"ids": list(voter_ids) if voter_ids is not None else None},
        )
        parked = cur.fetchall()
        if not parked:
            return WriteCounts()
        # The parked rows go, and each vote is judged again as if it were new,
        # in this same transaction: it is counted, or held again as rejected.
        cur.execute(
            "delete from held_events where event_id = any(%s)",
            ([row[0] for row in parked],),
        )
    batch = [
        Positioned(parse_event("vote", payload), partition, offset)
        for _, payload, partition, offset in parked
    ]
    counts = write_votes(conn, batch)
    counts.unparked, counts.written = counts.written, 0
    return counts


def expire_parked_votes(conn: psycopg.Connection, grace_s: float) -> list[Held]:
    """Turn votes parked longer than `grace_s` into dead letters, in the transaction.

    Call only once the registration stream has caught up: their voters are not
    coming. `python -m flows.replay` brings them back if they do.
    """
    rows = conn.execute(
        """
        update held_events
        set status = 'dead_letter',
            reason = 'voter ' || voter_id || ' never registered: the registration '
                || 'stream caught up and the vote waited '
                || round(extract(epoch from now() - created_at)) || ' s',
            updated_at = now()
        where status = 'parked'
            and created_at < now() - make_interval(secs => %s)
        returning event_id, topic, reason, payload, voter_id, kafka_partition,
            kafka_offset
        """,
        (grace_s,),
    ).fetchall()
    return [
        Held(event_id, topic, "dead_letter", reason, payload, voter, partition, offset)
        for event_id, topic, reason, payload, voter, partition, offset in rows
    ]


def dead_letter_payload(value: bytes | None) -> str:
    """The text kept of a message that could not be decoded."""
    if value is None:
        return json.dumps(None)
    return value.decode("utf-8", errors="replace")
