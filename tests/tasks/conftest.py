"""Fixtures of the ingestion and sync tests: a clean staging database, event makers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from election.contracts import RegistrationEvent, VoteEvent, candidate_id
from election.settings import Settings

ELECTION = "us2020-r10000"
T0 = datetime(2020, 10, 1, 12, 0, 0, 123456, tzinfo=UTC)

MakeRegistration = Callable[..., RegistrationEvent]
MakeVote = Callable[..., VoteEvent]


@pytest.fixture
def db(postgres: Settings) -> Iterator[psycopg.Connection]:
    """A connection to an emptied staging database (autocommit)."""
    with psycopg.connect(postgres.postgres_dsn, autocommit=True) as conn:
        conn.execute(
            "truncate elections, candidates, voters, votes, held_events cascade"
        )
        yield conn


@pytest.fixture
def registration() -> MakeRegistration:
    """Makes a valid registration event; keyword arguments override its fields."""

    def make(**overrides: object) -> RegistrationEvent:
        fields: dict[str, object] = {
            "event_id": uuid.uuid4(),
            "voter_id": uuid.uuid4(),
            "election_id": ELECTION,
            "state": "PA",
            "district": None,
            "occurred_at": T0,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "phone": "(215)-555-0100",
            "gender": "female",
            "birth_date": date(1980, 5, 17),
            "registered_at": T0,
        }
        fields.update(overrides)
        return RegistrationEvent(**fields)

    return make


@pytest.fixture
def vote() -> MakeVote:
    """Makes a valid vote event for DEM; keyword arguments override its fields."""

    def make(
        voter: RegistrationEvent, party: str = "dem", **overrides: object
    ) -> VoteEvent:
        fields: dict[str, object] = {
            "event_id": uuid.uuid4(),
            "voter_id": voter.voter_id,
            "election_id": voter.election_id,
            "state": voter.state,
            "district": voter.district,
            "candidate_id": candidate_id(voter.election_id, party),
            "cast_at": T0 + timedelta(days=30),
        }
        fields.update(overrides)
        return VoteEvent(**fields)

    return make
