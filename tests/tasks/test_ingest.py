"""Writing registration and vote batches into the real staging database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import psycopg
import pytest

from election.contracts import RegistrationEvent, VoteEvent
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
