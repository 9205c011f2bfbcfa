"""Registration changes of a scenario: moves within the state, and removals.

A change carries the voter's whole record, newer than the registration: an
`update` moves a Maine or Nebraska voter to another district of the state, or
gives anyone else new contact details; a `remove` purges the registration,
which the staging database keeps as a tombstone (`removed_at`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Literal

from election.contracts import DISTRICTS, RegistrationEvent, stable_id
from election.scenario import Scenario, Voter, iter_voters
from producers.cli import build_parser, run
from producers.identities import OfflineSource
from producers.registrations import registration_event

Action = Literal["update", "remove"]

# one voter in SHARE_BASE is a unit of the share a change reaches
SHARE_BASE = 10_000


def chosen(voter: Voter, share: float, salt: str) -> bool:
    """Whether `voter` is among the `share` of voters a change reaches."""
    return stable_id(salt, voter.voter_id).int % SHARE_BASE < share * SHARE_BASE


def iter_change_events(
    scenario: Scenario, share: float, action: Action
) -> Iterator[RegistrationEvent]:
    """An `update` or `remove` event for `share` of the scenario's voters.

    The same voters are chosen on every run, and each event has a stable id, so
    posting the changes again changes nothing.
    """
    source = OfflineSource(scenario.election_day)
    for voter in iter_voters(scenario):
        if not chosen(voter, share, action):
            continue
        person = source.people([voter.voter_id])[0]
        registered = registration_event(scenario, voter, person)
        yield change_event(registered, action)


def change_event(registered: RegistrationEvent, action: Action) -> RegistrationEvent:
    """The change `action` of a registered voter, a day after the registration."""
    changes: dict[str, object] = {
        "event_id": stable_id(action, registered.voter_id),
        "action": action,
        "occurred_at": registered.registered_at + timedelta(days=1),
    }
    if action == "update":
        districts = DISTRICTS.get(registered.state)
        if districts is not None:
            index = districts.index(registered.district)
            changes["district"] = districts[(index + 1) % len(districts)]
        else:
            changes["phone"] = f"(555)-{registered.voter_id.int % 10_000_000:07d}"
    return RegistrationEvent.model_validate(registered.model_dump() | changes)


def main(argv: Sequence[str] | None = None) -> int:
    """Post registration changes of a scenario to the API; return the exit status."""
    parser = build_parser(
        "python -m producers.changes",
        "Post registration updates (moves) or removals for a share of the voters.",
    )
    parser.add_argument("--action", choices=("update", "remove"), default="update")
    parser.add_argument(
        "--share", type=float, default=0.01, help="share of voters (default 0.01)"
    )
    args = parser.parse_args(argv)

    def produce(scenario: Scenario, options: argparse.Namespace) -> Iterator:
        return iter_change_events(scenario, options.share, options.action)

    return run(
        args,
        label=f"registration {args.action}s",
        endpoint="register",
        produce=produce,
        count=lambda scenario: round(scenario.total_registrations * args.share),
    )


if __name__ == "__main__":
    sys.exit(main())
