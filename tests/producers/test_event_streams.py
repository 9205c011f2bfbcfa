"""Tests of the registration and vote events a scenario produces."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence

import pytest

from election.contracts import (
    REGISTRATION_TOPIC,
    VOTE_TOPIC,
    candidate_id,
    encode_event,
    parse_event,
    stable_id,
)
from election.scenario import Scenario, load_scenario
from producers.exceptions import ProducerError
from producers.identities import OfflineSource, Person
from producers.registrations import iter_registration_events, make_source
from producers.votes import iter_vote_events


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    """The 2020 election at 1:100,000, about 2,400 voters: quick to produce."""
    return load_scenario(2020, 100_000)


def test_iter_registration_events_one_register_event_per_voter(
    scenario: Scenario,
) -> None:
    events = list(iter_registration_events(scenario))

    assert len(events) == scenario.total_registrations
    assert len({event.voter_id for event in events}) == len(events)
    cells = Counter((event.state, event.district) for event in events)
    assert cells == Counter(
        {(c.state, c.district): c.registrations for c in scenario.cells}
    )
    for event in events:
        assert event.action == "register"
        assert event.event_id == stable_id("registration", event.voter_id)
        assert event.occurred_at == event.registered_at
        assert event.election_id == "us2020-r100000"


def test_iter_registration_events_rerun_gives_identical_events(
    scenario: Scenario,
) -> None:
    first = [encode_event(e) for e in iter_registration_events(scenario)]
    again = [encode_event(e) for e in iter_registration_events(scenario, batch_size=7)]

    assert first == again


def test_iter_registration_events_encoded_events_pass_the_contract(
    scenario: Scenario,
) -> None:
    for event in list(iter_registration_events(scenario))[:300]:
        assert parse_event(REGISTRATION_TOPIC, encode_event(event)) == event


def test_iter_registration_events_source_short_of_people_raises(
    scenario: Scenario,
) -> None:
    class ShortSource(OfflineSource):
        def people(self, voter_ids: Sequence[uuid.UUID]) -> list[Person]:
            return super().people(voter_ids)[:-1]

    with pytest.raises(ProducerError, match="gave 9 people for 10 voters"):
        list(
            iter_registration_events(
                scenario, ShortSource(scenario.election_day), batch_size=10
            )
        )


def test_make_source_unknown_name_raises_with_choices(scenario: Scenario) -> None:
    with pytest.raises(ProducerError, match="unknown identity source 'ldap'"):
        make_source("ldap", scenario)


def test_iter_vote_events_every_voter_registered_and_counts_match(
    scenario: Scenario,
) -> None:
    registered = {event.voter_id for event in iter_registration_events(scenario)}

    votes = list(iter_vote_events(scenario))

    assert len(votes) == scenario.total_votes
    assert {vote.voter_id for vote in votes} <= registered
    assert len({vote.voter_id for vote in votes}) == len(votes)
    by_candidate = Counter(vote.candidate_id for vote in votes)
    expected = {
        candidate_id(scenario.election_id, party): count
        for party, count in scenario.party_votes.items()
    }
    assert by_candidate == expected


def test_iter_vote_events_ids_stable_and_cast_before_polls_close(
    scenario: Scenario,
) -> None:
    votes = list(iter_vote_events(scenario))

    assert [v.event_id for v in votes] == [
        v.event_id for v in iter_vote_events(scenario)
    ]
    for vote in votes[:500]:
        assert vote.event_id == stable_id("vote", vote.voter_id, scenario.election_id)
        assert parse_event(VOTE_TOPIC, encode_event(vote)) == vote
    assert max(v.cast_at for v in votes).date() <= scenario.election_day.replace(day=4)
