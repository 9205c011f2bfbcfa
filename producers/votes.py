"""Vote events of a scenario, and the command that posts them to the API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence

from election.contracts import VoteEvent, candidate_id, stable_id
from election.scenario import Ballot, Scenario, iter_ballots
from producers.cli import build_parser, run
from producers.timing import cast_time


def iter_vote_events(scenario: Scenario) -> Iterator[VoteEvent]:
    """A vote event for every ballot of `scenario`, cell by cell.

    Voters 0 to votes - 1 of each cell vote, with the parties `ballot_parties`
    gives them; no database is needed to know who votes for whom.
    """
    for ballot in iter_ballots(scenario):
        yield vote_event(scenario, ballot)


def vote_event(scenario: Scenario, ballot: Ballot) -> VoteEvent:
    """The vote event of `ballot`, cast early or on election day by the voter id."""
    voter = ballot.voter
    return VoteEvent(
        event_id=stable_id("vote", voter.voter_id, scenario.election_id),
        voter_id=voter.voter_id,
        election_id=scenario.election_id,
        state=voter.state,
        district=voter.district,
        candidate_id=candidate_id(scenario.election_id, ballot.party),
        cast_at=cast_time(voter.voter_id, voter.state, scenario.election_day),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Post the votes of a scenario to the API; return the exit status."""
    parser = build_parser(
        "python -m producers.votes",
        "Cast the ballots of a scenario through the election API.",
    )
    args = parser.parse_args(argv)
    return run(
        args,
        label="votes",
        endpoint="vote",
        produce=_produce,
        count=lambda scenario: scenario.total_votes,
    )


def _produce(scenario: Scenario, args: argparse.Namespace) -> Iterator[VoteEvent]:
    """The vote events of the scenario."""
    return iter_vote_events(scenario)


if __name__ == "__main__":
    sys.exit(main())
