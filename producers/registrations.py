"""Registration events of a scenario, and the command that posts them to the API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from itertools import islice

from pydantic import ValidationError

from election.contracts import RegistrationEvent, describe_errors, stable_id
from election.scenario import Scenario, Voter, iter_voters
from producers.cli import build_parser, run
from producers.exceptions import ProducerError
from producers.identities import IdentitySource, OfflineSource, Person, as_voter
from producers.randomuser import DEFAULT_BASE_URL, RandomUserClient, RandomUserSource
from producers.timing import registration_time

SOURCES = ("offline", "randomuser")


def make_source(
    name: str, scenario: Scenario, *, randomuser_url: str = DEFAULT_BASE_URL
) -> IdentitySource:
    """The identity source called `name`: `offline` or `randomuser`.

    The randomuser source asks for pages seeded by the election id, so a rerun
    of the scenario fetches the same people.

    Raises:
        ProducerError: when `name` is not a known source.
    """
    if name == "offline":
        return OfflineSource(scenario.election_day)
    if name == "randomuser":
        client = RandomUserClient(randomuser_url)
        return RandomUserSource(client, seed=scenario.election_id)
    raise ProducerError(f"unknown identity source {name!r}: use one of {SOURCES}")


def iter_registration_events(
    scenario: Scenario, source: IdentitySource | None = None, *, batch_size: int = 500
) -> Iterator[RegistrationEvent]:
    """A `register` event for every voter of `scenario`, cell by cell.

    Args:
        scenario: The scenario whose voters register.
        source: Where identities come from; default the offline generator.
        batch_size: Voters whose identities are asked for at once.

    Raises:
        ProducerError: when the source fails or gives a person that breaks the
            registration contract.
    """
    source = source or OfflineSource(scenario.election_day)
    voters_left = iter_voters(scenario)
    while voters := list(islice(voters_left, batch_size)):
        people = source.people([voter.voter_id for voter in voters])
        if len(people) != len(voters):
            raise ProducerError(
                f"identity source {source.name!r} gave {len(people)} people for "
                f"{len(voters)} voters; use --source offline"
            )
        for voter, person in zip(voters, people, strict=True):
            try:
                event = registration_event(scenario, voter, person)
            except ValidationError as error:
                raise ProducerError(
                    f"person {person!r} from source {source.name!r} breaks the "
                    f"registration contract: {describe_errors(error)}; "
                    f"use --source offline"
                ) from error
            yield event


def registration_event(
    scenario: Scenario, voter: Voter, person: Person
) -> RegistrationEvent:
    """The `register` event of `voter`, who is `person`.

    The birth date is moved back if the person would be under 18 on election
    day; the registration date is made from the voter id, after the 18th
    birthday and before election day.
    """
    person = as_voter(person, scenario.election_day)
    registered_at = registration_time(
        voter.voter_id, voter.state, person.birth_date, scenario.election_day
    )
    return RegistrationEvent(
        event_id=stable_id("registration", voter.voter_id),
        voter_id=voter.voter_id,
        election_id=scenario.election_id,
        state=voter.state,
        district=voter.district,
        action="register",
        occurred_at=registered_at,
        first_name=person.first_name,
        last_name=person.last_name,
        email=person.email,
        phone=person.phone,
        gender=person.gender,
        birth_date=person.birth_date,
        registered_at=registered_at,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Post the registrations of a scenario to the API; return the exit status."""
    parser = build_parser(
        "python -m producers.registrations",
        "Register the voters of a scenario through the election API.",
    )
    parser.add_argument(
        "--source",
        choices=SOURCES,
        default="offline",
        help="where identities come from: offline (no network, default) or the "
        "randomuser API",
    )
    parser.add_argument(
        "--randomuser-url",
        default=DEFAULT_BASE_URL,
        help=f"base address of the randomuser API (default {DEFAULT_BASE_URL})",
    )
    args = parser.parse_args(argv)
    return run(
        args,
        label="registrations",
        endpoint="register",
        produce=_produce,
        count=lambda scenario: scenario.total_registrations,
    )


def _produce(
    scenario: Scenario, args: argparse.Namespace
) -> Iterator[RegistrationEvent]:
    """The registration events the command line asks for."""
    source = make_source(args.source, scenario, randomuser_url=args.randomuser_url)
    return iter_registration_events(scenario, source, batch_size=args.batch_size)


if __name__ == "__main__":
    sys.exit(main())
