"""Identities of voters: the Person record, its sources and the offline generator."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal, Protocol

from producers.timing import eighteenth_birthday

Gender = Literal["female", "male", "other"]

_FEMALE = """
Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy
Betty Sandra Margaret Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa
Deborah Stephanie Rebecca Sharon Laura Cynthia Amy Angela Maria Olivia Emma Sophia
Isabella Ava Mia Camila Ana
"""
_MALE = """
James Robert John Michael David William Richard Joseph Thomas Christopher Charles
Daniel Matthew Anthony Mark Donald Steven Andrew Paul Joshua Kenneth Kevin Brian
George Timothy Ronald Jason Edward Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan
Liam Noah Luis Carlos Jamal
"""
_LAST = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez
Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson
White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright
Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell
Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins
Reyes Stewart Morris Morales Murphy Cook Rogers Kim Patel
"""
FEMALE_NAMES = tuple(_FEMALE.split())
MALE_NAMES = tuple(_MALE.split())
LAST_NAMES = tuple(_LAST.split())
AGE_BANDS = ((18, 29, 0.20), (30, 44, 0.25), (45, 64, 0.33), (65, 89, 0.22))
"""Age on election day of the offline voters: (youngest, oldest, share)."""
ADULT_SHIFT_YEARS = 20
"""Years a birth date moves back when a source's person is too young to vote."""


@dataclass(frozen=True)
class Person:
    """Who a voter is, as a source of identities describes them."""

    first_name: str
    last_name: str
    email: str
    phone: str
    gender: Gender
    birth_date: date


class IdentitySource(Protocol):
    """Where the identities of voters come from."""

    name: str

    def people(self, voter_ids: Sequence[uuid.UUID]) -> list[Person]:
        """One person for each of `voter_ids`, in the same order."""
        ...


class OfflineSource:
    """People made up from the voter id alone, without a network."""

    name = "offline"

    def __init__(self, election_day: date) -> None:
        """Make people who are 18 or older on `election_day`."""
        self.election_day = election_day

    def people(self, voter_ids: Sequence[uuid.UUID]) -> list[Person]:
        """One offline person for each of `voter_ids`."""
        return [offline_person(voter_id, self.election_day) for voter_id in voter_ids]


def offline_person(voter_id: uuid.UUID, election_day: date) -> Person:
    """A person determined by `voter_id`, 18 or older and registrable by election day.

    Names come from small built-in lists, the e-mail is at example.com, the phone
    is written as randomuser 1.3 writes it, and the age follows AGE_BANDS.
    """
    rng = random.Random(f"person|{voter_id}")
    gender: Gender = rng.choices(("female", "male", "other"), weights=(50, 49, 1))[0]
    names = {"female": FEMALE_NAMES, "male": MALE_NAMES}.get(gender)
    first = rng.choice(names or FEMALE_NAMES + MALE_NAMES)
    last = rng.choice(LAST_NAMES)
    email = f"{first}.{last}{rng.randrange(1000)}@example.com".lower()
    phone = (
        f"({rng.randint(201, 989)})-{rng.randint(200, 999)}-{rng.randrange(10_000):04d}"
    )
    return Person(first, last, email, phone, gender, _birth_date(rng, election_day))


def adult_birth_date(birth_date: date, election_day: date) -> date:
    """`birth_date` moved back until its person turns 18 before `election_day`.

    A source such as randomuser draws ages relative to the day of the request,
    so some of its people are too young for a past election; their birth date
    moves back ADULT_SHIFT_YEARS at a time, keeping the day of the year.
    """
    while eighteenth_birthday(birth_date) >= election_day:
        try:
            birth_date = birth_date.replace(year=birth_date.year - ADULT_SHIFT_YEARS)
        except ValueError:
            birth_date = date(birth_date.year - ADULT_SHIFT_YEARS, 2, 28)
    return birth_date


def as_voter(person: Person, election_day: date) -> Person:
    """`person` with a birth date that lets them register before `election_day`."""
    adult = adult_birth_date(person.birth_date, election_day)
    return person if adult == person.birth_date else replace(person, birth_date=adult)


def _birth_date(rng: random.Random, election_day: date) -> date:
    """A birth date whose age on `election_day` follows AGE_BANDS."""
    youngest, oldest, _share = rng.choices(
        AGE_BANDS, weights=[b[2] for b in AGE_BANDS]
    )[0]
    age = rng.randint(youngest, oldest)
    latest = _years_before(election_day - timedelta(days=1), age)
    earliest = _years_before(election_day, age + 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randint(0, (latest - earliest).days))


def _years_before(day: date, years: int) -> date:
    """The same day `years` earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return date(day.year - years, 2, 28)
