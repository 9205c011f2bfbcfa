"""When simulated voters register and vote: times derived from the voter id."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone

_ZONES = {
    -5: "CT DE DC FL GA IN KY ME MD MA MI NH NJ NY NC OH PA RI SC VT VA WV",
    -6: "AL AR IL IA KS LA MN MS MO NE ND OK SD TN TX WI",
    -7: "AZ CO ID MT NM UT WY",
    -8: "CA NV OR WA",
    -9: "AK",
    -10: "HI",
}
STATE_UTC_OFFSETS: dict[str, int] = {
    state: hours for hours, states in _ZONES.items() for state in states.split()
}
"""Hours from UTC of each state's main time zone in standard time (November)."""

REGISTRATION_YEARS = 20
"""Registrations go back at most this many years before election day."""
EARLY_VOTING_DAYS = 46
"""Mail and early ballots can be cast from this many days before election day."""
EARLY_SHARE = 0.6
"""Share of ballots cast before election day."""

OFFICE_HOURS = (time(8), time(18))
POLLING_HOURS = (time(7), time(20))


def eighteenth_birthday(birth_date: date) -> date:
    """The day a person born on `birth_date` turns 18 (1 March for 29 February)."""
    try:
        return birth_date.replace(year=birth_date.year + 18)
    except ValueError:
        return date(birth_date.year + 18, 3, 1)


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on `day` of a person born on `birth_date`."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday


def local_time(
    day: date, state: str, hours: tuple[time, time], rng: random.Random
) -> datetime:
    """A moment of `day` between `hours` in the local time of `state`, in UTC."""
    zone = timezone(timedelta(hours=STATE_UTC_OFFSETS[state]))
    start = datetime.combine(day, hours[0], tzinfo=zone)
    end = datetime.combine(day, hours[1], tzinfo=zone)
    seconds = rng.randrange(int((end - start).total_seconds()))
    return (start + timedelta(seconds=seconds)).astimezone(UTC)


def registration_time(
    voter_id: uuid.UUID, state: str, birth_date: date, election_day: date
) -> datetime:
    """When the voter first registered: after turning 18, before election day.

    The day is drawn from the voter id between the 18th birthday (or
    REGISTRATION_YEARS before election day, if later) and the day before
    election day, at office hours in the state's time zone.

    Raises:
        ValueError: when the voter turns 18 only on or after election day.
    """
    first = max(
        eighteenth_birthday(birth_date),
        election_day.replace(year=election_day.year - REGISTRATION_YEARS),
    )
    last = election_day - timedelta(days=1)
    if first > last:
        raise ValueError(
            f"voter {voter_id} born {birth_date} turns 18 on {first}, not before "
            f"election day {election_day}: pass an adult birth date"
        )
    rng = random.Random(f"registered|{voter_id}")
    day = first + timedelta(days=rng.randint(0, (last - first).days))
    return local_time(day, state, OFFICE_HOURS, rng)


def cast_time(voter_id: uuid.UUID, state: str, election_day: date) -> datetime:
    """When the voter cast the ballot: early voting or election day, from the id.

    EARLY_SHARE of the voters vote on one of the EARLY_VOTING_DAYS before election
    day at office hours, the others on election day while the polls are open.
    """
    rng = random.Random(f"cast|{voter_id}")
    if rng.random() < EARLY_SHARE:
        day = election_day - timedelta(days=rng.randint(1, EARLY_VOTING_DAYS))
        return local_time(day, state, OFFICE_HOURS, rng)
    return local_time(election_day, state, POLLING_HOURS, rng)
