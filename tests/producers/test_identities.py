"""Tests of the offline identities and of when voters register and vote."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from election.contracts import STATE_CODES, stable_id
from producers.identities import (
    OfflineSource,
    Person,
    adult_birth_date,
    as_voter,
    offline_person,
)
from producers.timing import (
    EARLY_VOTING_DAYS,
    STATE_UTC_OFFSETS,
    age_on,
    cast_time,
    eighteenth_birthday,
    registration_time,
)

ELECTION_DAYS = [date(2020, 11, 3), date(2024, 11, 5)]
VOTER_IDS = [stable_id("test-voter", i) for i in range(3_000)]


def _local_midnight(day: date, state: str) -> datetime:
    """The start of `day` in the local time of `state`."""
    zone = timezone(timedelta(hours=STATE_UTC_OFFSETS[state]))
    return datetime.combine(day, time(), tzinfo=zone)


def test_offline_person_same_voter_id_same_person() -> None:
    day = ELECTION_DAYS[0]

    assert offline_person(VOTER_IDS[0], day) == offline_person(VOTER_IDS[0], day)
    assert offline_person(VOTER_IDS[0], day) != offline_person(VOTER_IDS[1], day)


@pytest.mark.parametrize("election_day", ELECTION_DAYS, ids=str)
def test_offline_person_any_voter_is_18_to_89_on_election_day(
    election_day: date,
) -> None:
    ages = [
        age_on(offline_person(v, election_day).birth_date, election_day)
        for v in VOTER_IDS
    ]

    assert min(ages) >= 18
    assert max(ages) <= 89
    assert 40 < sum(ages) / len(ages) < 55


def test_offline_person_fields_fit_the_registration_contract() -> None:
    people = OfflineSource(ELECTION_DAYS[1]).people(VOTER_IDS[:500])

    assert len(people) == 500
    for person in people:
        assert person.first_name and person.last_name
        assert person.email.endswith("@example.com") and " " not in person.email
        assert len(person.phone) == len("(830)-730-8092")
        assert person.gender in ("female", "male", "other")
    assert {p.gender for p in people} >= {"female", "male"}


@pytest.mark.parametrize("election_day", ELECTION_DAYS, ids=str)
def test_registration_time_offline_voters_after_18th_birthday_before_election_day(
    election_day: date,
) -> None:
    for index, voter_id in enumerate(VOTER_IDS):
        state = STATE_CODES[index % len(STATE_CODES)]
        person = offline_person(voter_id, election_day)

        registered = registration_time(voter_id, state, person.birth_date, election_day)

        assert registered.tzinfo is not None
        birthday = _local_midnight(eighteenth_birthday(person.birth_date), state)
        assert birthday <= registered < _local_midnight(election_day, state)


def test_registration_time_same_voter_same_moment() -> None:
    args = (VOTER_IDS[3], "TX", date(1980, 5, 17), ELECTION_DAYS[0])

    assert registration_time(*args) == registration_time(*args)


def test_registration_time_minor_on_election_day_raises() -> None:
    with pytest.raises(ValueError, match="turns 18 on 2020-11-03"):
        registration_time(VOTER_IDS[0], "TX", date(2002, 11, 3), ELECTION_DAYS[0])


def test_adult_birth_date_too_young_moves_back_20_years() -> None:
    assert adult_birth_date(date(2004, 6, 1), ELECTION_DAYS[0]) == date(1984, 6, 1)
    assert adult_birth_date(date(2002, 11, 3), ELECTION_DAYS[0]) == date(1982, 11, 3)


def test_adult_birth_date_adult_is_unchanged() -> None:
    assert adult_birth_date(date(2002, 11, 2), ELECTION_DAYS[0]) == date(2002, 11, 2)


def test_adult_birth_date_leap_day_minor_keeps_leap_day() -> None:
    assert adult_birth_date(date(2004, 2, 29), ELECTION_DAYS[0]) == date(1984, 2, 29)
    assert adult_birth_date(date(2008, 2, 29), ELECTION_DAYS[1]) == date(1988, 2, 29)
    assert adult_birth_date(date(2012, 2, 29), ELECTION_DAYS[1]) == date(1992, 2, 29)


def test_as_voter_minor_gets_adult_birth_date_adult_unchanged() -> None:
    person = Person("Ann", "Lee", "a@example.com", "", "female", date(2005, 1, 1))

    assert as_voter(person, ELECTION_DAYS[0]).birth_date == date(1985, 1, 1)
    assert as_voter(person, ELECTION_DAYS[1]) is person


def test_eighteenth_birthday_leap_day_is_first_of_march() -> None:
    assert eighteenth_birthday(date(2004, 2, 29)) == date(2022, 3, 1)
    assert eighteenth_birthday(date(2000, 7, 4)) == date(2018, 7, 4)


@pytest.mark.parametrize("election_day", ELECTION_DAYS, ids=str)
def test_cast_time_any_voter_in_early_voting_window_or_election_day(
    election_day: date,
) -> None:
    on_the_day = 0
    for index, voter_id in enumerate(VOTER_IDS):
        state = STATE_CODES[index % len(STATE_CODES)]

        cast = cast_time(voter_id, state, election_day)

        first_day = election_day - timedelta(days=EARLY_VOTING_DAYS)
        assert _local_midnight(first_day, state) <= cast
        assert cast < _local_midnight(election_day, state) + timedelta(hours=20)
        on_the_day += cast >= _local_midnight(election_day, state)
    assert 0.3 < on_the_day / len(VOTER_IDS) < 0.5
    assert cast_time(VOTER_IDS[0], "HI", election_day).tzinfo == UTC
