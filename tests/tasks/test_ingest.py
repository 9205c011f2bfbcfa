"""Writing registration and vote batches into the real staging database."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg
import pytest

from election.contracts import RegistrationEvent, VoteEvent
from election.settings import Settings
from tasks.ingest import Positioned, WriteCounts, write_registrations, write_votes

pytestmark = pytest.mark.slow

MakeRegistration = Callable[..., RegistrationEvent]
MakeVote = Callable[..., VoteEvent]


def registrations(db: psycopg.Connection, *events: object) -> WriteCounts:
    with db.transaction():
        return write_registrations(
            db, [Positioned(e, 0, i) for i, e in enumerate(events)]
        )


def votes(db: psycopg.Connection, *events: object) -> WriteCounts:
    with db.transaction():
        return write_votes(db, [Positioned(e, 0, i) for i, e in enumerate(events)])


def scalar(db: psycopg.Connection, sql: str, *params: object) -> object:
    return db.execute(sql, params).fetchone()[0]


def behind(other: psycopg.Connection, write: Callable[[], WriteCounts]) -> WriteCounts:
    """What `write` did, having waited for the open transaction of `other`.

    Fails if `write` is done before `other` commits.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        batch = pool.submit(write)
        time.sleep(1)
        assert not batch.done(), "the batch should wait for the other one"
        other.commit()
        return batch.result(timeout=30)


class TestRegistrations:
    def test_registration_twice_is_one_voter(
        self, db: psycopg.Connection, registration: MakeRegistration
    ) -> None:
        event = registration()

        first = registrations(db, event)
        second = registrations(db, event)

        assert (first.written, second.written, second.unchanged) == (1, 0, 1)
        assert scalar(db, "select count(*) from voters") == 1
        assert scalar(db, "select count(*) from candidates") == 3

    def test_update_newer_wins_and_older_changes_nothing(
        self, db: psycopg.Connection, registration: MakeRegistration
    ) -> None:
        first = registration()
        newer = registration(
            voter_id=first.voter_id,
            occurred_at=first.occurred_at + timedelta(days=3),
            action="update",
            last_name="King",
        )
        older = registration(
            voter_id=first.voter_id,
            occurred_at=first.occurred_at + timedelta(days=1),
            action="update",
            last_name="Byron",
        )

        registrations(db, first, newer)
        late = registrations(db, older)

        assert late.written == 0
        assert scalar(db, "select last_name from voters") == "King"

    def test_removal_keeps_a_tombstone(
        self, db: psycopg.Connection, registration: MakeRegistration
    ) -> None:
        event = registration()
        removal = registration(
            voter_id=event.voter_id,
            action="remove",
            occurred_at=event.occurred_at + timedelta(days=2),
        )

        registrations(db, event)
        registrations(db, removal)

        assert scalar(db, "select removed_at from voters") == removal.occurred_at

    def test_new_voters_with_one_known_keep_the_newest_of_each(
        self, db: psycopg.Connection, registration: MakeRegistration
    ) -> None:
        known = registration()
        registrations(db, known)
        moved = registration(
            voter_id=known.voter_id,
            action="update",
            occurred_at=known.occurred_at + timedelta(days=1),
            last_name="Moved",
        )
        new = [registration() for _ in range(3)]

        mixed = registrations(db, *new, moved)
        again = registrations(db, *new, moved)

        assert (mixed.written, again.written, again.unchanged) == (4, 0, 4)
        assert scalar(db, "select count(*) from voters") == 4
        assert (
            scalar(
                db, "select last_name from voters where voter_id = %s", known.voter_id
            )
            == "Moved"
        )

    def test_a_voter_registered_by_a_concurrent_batch_is_upserted_not_doubled(
        self,
        db: psycopg.Connection,
        postgres: Settings,
        registration: MakeRegistration,
    ) -> None:
        first = registration()
        newer = registration(
            voter_id=first.voter_id,
            action="update",
            occurred_at=first.occurred_at + timedelta(days=1),
            last_name="Newer",
        )
        others = [registration() for _ in range(3)]
        registrations(db, registration())  # the election's rows exist before
        with psycopg.connect(postgres.postgres_dsn) as other:
            # `other` holds `first` uncommitted: the batch below cannot see it,
            # and its upsert waits on the key until `other` commits
            write_registrations(other, [Positioned(first, 1, 0)])
            counts = behind(other, lambda: registrations(db, newer, *others))

        assert (counts.written, counts.unchanged) == (4, 0)
        assert scalar(db, "select count(*) from voters") == 5
        assert (
            scalar(
                db, "select last_name from voters where voter_id = %s", first.voter_id
            )
            == "Newer"
        )


class TestVotes:
    def test_vote_before_its_voter_is_parked_then_counted(
        self,
        db: psycopg.Connection,
        registration: MakeRegistration,
        vote: MakeVote,
    ) -> None:
        voter = registration()
        ballot = vote(voter)

        parked = votes(db, ballot)
        assert parked.parked == 1
        assert scalar(db, "select status from held_events") == "parked"

        arrived = registrations(db, voter)

        assert arrived.unparked == 1
        assert scalar(db, "select vote_id from votes") == ballot.event_id
        assert scalar(db, "select count(*) from held_events") == 0

    def test_redelivered_vote_changes_nothing(
        self,
        db: psycopg.Connection,
        registration: MakeRegistration,
        vote: MakeVote,
    ) -> None:
        voter = registration()
        ballot = vote(voter)
        registrations(db, voter)

        first = votes(db, ballot)
        again = votes(db, ballot, ballot)

        assert (first.written, again.written, again.unchanged) == (1, 0, 2)
        assert scalar(db, "select count(*) from votes") == 1
        assert scalar(db, "select count(*) from held_events") == 0

    def test_second_vote_is_rejected_with_reason_and_first_stands(
        self,
        db: psycopg.Connection,
        registration: MakeRegistration,
        vote: MakeVote,
    ) -> None:
        voter = registration()
        registrations(db, voter)
        first, second = vote(voter, "dem"), vote(voter, "rep")

        votes(db, first)
        outcome = votes(db, second)

        assert outcome.rejected == 1
        assert scalar(db, "select candidate_id from votes") == first.candidate_id
        status, reason = db.execute("select status, reason from held_events").fetchone()
        assert status == "rejected"
        assert f"already voted in {voter.election_id}" in reason
        assert str(first.event_id) in reason

    def test_two_votes_in_one_batch_keep_the_first(
        self,
        db: psycopg.Connection,
        registration: MakeRegistration,
        vote: MakeVote,
    ) -> None:
        voter = registration()
        registrations(db, voter)
        first, second = vote(voter, "rep"), vote(voter, "dem")

        outcome = votes(db, first, second)

        assert (outcome.written, outcome.rejected) == (1, 1)
        assert scalar(db, "select vote_id from votes") == first.event_id
        assert scalar(db, "select event_id from held_events") == second.event_id

    def test_vote_in_another_state_than_the_registration_is_rejected(
        self,
        db: psycopg.Connection,
        registration: MakeRegistration,
        vote: MakeVote,
    ) -> None:
        voter = registration(state="OH")
        registrations(db, voter)

        outcome = votes(db, vote(voter, state="MI"))

        assert outcome.rejected == 1
        assert "registered elsewhere" in scalar(db, "select reason from held_events")
        assert scalar(db, "select count(*) from votes") == 0

    def test_a_counted_vote_id_naming_another_voter_changes_nothing(
        self,
        db: psycopg.Connection,
        registration: MakeRegistration,
        vote: MakeVote,
    ) -> None:
        voter, other = registration(), registration()
        registrations(db, voter, other)
        ballot = vote(voter)
        votes(db, ballot)
        forged = vote(other, event_id=ballot.event_id)

        outcome = votes(db, forged)

        assert (outcome.written, outcome.unchanged) == (0, 1)
        assert scalar(db, "select count(*) from votes") == 1
        assert scalar(db, "select count(*) from held_events") == 0
        assert (
            scalar(db, "select voter_id from votes where vote_id = %s", ballot.event_id)
            == voter.voter_id
        )

    def test_votes_of_one_voter_in_concurrent_batches_count_once(
        self,
        db: psycopg.Connection,
        postgres: Settings,
        registration: MakeRegistration,
        vote: MakeVote,
    ) -> None:
        voter = registration()
        registrations(db, voter)
        first, second = vote(voter, "dem"), vote(voter, "rep")
        with psycopg.connect(postgres.postgres_dsn) as other:
            # `other` counted `first` and has not committed: the batch below
            # waits for it, then sees that vote
            counted = write_votes(other, [Positioned(first, 1, 0)])
            outcome = behind(other, lambda: votes(db, second))

        assert (counted.written, outcome.written, outcome.rejected) == (1, 0, 1)
        assert scalar(db, "select vote_id from votes") == first.event_id
        assert str(first.event_id) in scalar(db, "select reason from held_events")
