"""`python deployments/freshness.py`: seconds from a vote's 202 to the marts.

Run it with the stack, the deployments and a worker up (the followers, the sync
every minute, dbt after each sync that moved rows). It registers fresh voters of
an election no one else uses (us2020-r999999 by default), waits until they are
in PostgreSQL, then casts their votes one by one through the API, evenly spread
over the run, and polls the marts (on DuckDB the published copy, read-only)
until the vote count of each vote's state includes it. Votes of one state count
in the order they were cast. It prints p50, p95 and max, and exits 1 when a
vote never arrived or p95 is over the target.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import duckdb

from election.contracts import DISTRICTS, PARTIES, STATE_CODES
from election.db import connect
from election.scenario import Ballot, Scenario, Voter, load_scenario
from election.settings import Settings, get_settings
from producers.api_client import post_events
from producers.identities import offline_person
from producers.registrations import registration_event
from producers.votes import vote_event
from warehouse.results import MARTS, results_query

TARGET_P95_S = 90.0
"""Freshness the pipeline promises: 95% of votes counted within this many seconds."""
POLL_S = 1.0
"""Seconds between two reads of the marts."""


@dataclass
class Cast:
    """One vote of the run: its state, its rank there, and when it was seen."""

    state: str
    rank: int
    posted_at: float = 0.0
    seen_at: float | None = None
    latency: float = field(init=False, default=0.0)


def fresh_voters(count: int, seed: int | None) -> list[Voter]:
    """`count` voters with new ids, spread evenly over the states and districts."""
    rng = random.Random(seed)
    voters = []
    for index in range(count):
        state = STATE_CODES[index % len(STATE_CODES)]
        district = rng.choice(DISTRICTS[state]) if state in DISTRICTS else None
        voters.append(Voter(uuid.UUID(int=rng.getrandbits(128)), state, district, 0))
    return voters


def register(settings: Settings, scenario: Scenario, voters: list[Voter]) -> None:
    """Post the voters' registrations and wait until PostgreSQL holds them all."""
    day = scenario.election_day
    events = [
        registration_event(scenario, voter, offline_person(voter.voter_id, day))
        for voter in voters
    ]
    summary = post_events(
        events, "register", settings.api_url, settings.resolved_api_token(), 100
    )
    if summary.accepted != len(voters):
        raise SystemExit(f"error: the API rejected registrations: {summary}")

    ids = [voter.voter_id for voter in voters]
    deadline = time.monotonic() + 300
    with connect(settings) as conn:
        while True:
            found = conn.execute(
                "select count(*) from voters where voter_id = any(%s)", (ids,)
            ).fetchone()[0]
            if found == len(ids):
                return
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"error: {found} of {len(ids)} registrations reached PostgreSQL "
                    "in 5 minutes: is the registration follower running? "
                    "(docs/runbook.md)"
                )
            time.sleep(1)


def state_counts(settings: Settings, election_id: str) -> Counter[str]:
    """Votes per state of `election_id` in the marts; none before its first build."""
    try:
        query, close = results_query(settings)
        try:
            rows = query(
                f"select state, voted from {MARTS}.turnout_by_state "
                "where election_id = %s",
                (election_id,),
            )
        finally:
            close()
    except (duckdb.IOException, duckdb.CatalogException):
        return Counter()  # no published copy yet, or no marts in it
    return Counter({state: int(voted) for state, voted in rows})


def measure(
    settings: Settings,
    scenario: Scenario,
    voters: list[Voter],
    seconds: float,
    max_wait_s: float,
) -> list[Cast]:
    """Cast one vote per voter over `seconds` and time each until it is counted."""
    rng = random.Random()
    token = settings.resolved_api_token()
    baseline = state_counts(settings, scenario.election_id)
    ranks: Counter[str] = Counter()
    casts = []
    for voter in voters:
        ranks[voter.state] += 1
        casts.append(Cast(voter.state, baseline[voter.state] + ranks[voter.state]))

    interval = seconds / len(voters)
    start = time.monotonic()
    next_vote = 0
    last_poll = 0.0
    while True:
        now = time.monotonic()
        while next_vote < len(voters) and now >= start + next_vote * interval:
            ballot = Ballot(voters[next_vote], rng.choice(PARTIES))
            event = vote_event(scenario, ballot)
            post_events([event], "vote", settings.api_url, token, single=True)
            casts[next_vote].posted_at = time.monotonic()
            next_vote += 1
        if now - last_poll >= POLL_S:
            last_poll = now
            counts = state_counts(settings, scenario.election_id)
            seen_at = time.monotonic()
            for cast in casts[:next_vote]:
                if cast.seen_at is None and counts[cast.state] >= cast.rank:
                    cast.seen_at = seen_at
                    cast.latency = seen_at - cast.posted_at
            waiting = sum(cast.seen_at is None for cast in casts)
            if next_vote == len(voters) and not waiting:
                return casts
            if next_vote == len(voters) and now > casts[-1].posted_at + max_wait_s:
                return casts
        time.sleep(0.2)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of `values` (share 0.95 for p95)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def main() -> int:
    """Register, vote, wait, and print the latencies; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=200, help="votes to cast")
    parser.add_argument(
        "--minutes", type=float, default=10.0, help="minutes to spread them over"
    )
    parser.add_argument(
        "--ratio", type=int, default=999_999, help="election us2020-r<ratio>"
    )
    parser.add_argument(
        "--max-wait", type=float, default=600.0, help="seconds to wait after the last"
    )
    parser.add_argument("--seed", type=int, help="seed of the voters' ids")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()

    settings = get_settings()
    scenario = load_scenario(2020, args.ratio)
    voters = fresh_voters(args.votes, args.seed)
    print(f"registering {len(voters)} voters of {scenario.election_id}", flush=True)
    register(settings, scenario, voters)
    print(f"casting {len(voters)} votes over {args.minutes:g} minutes", flush=True)
    casts = measure(settings, scenario, voters, args.minutes * 60, args.max_wait)

    latencies = [cast.latency for cast in casts if cast.seen_at is not None]
    missing = len(casts) - len(latencies)
    report = {
        "election_id": scenario.election_id,
        "votes": len(casts),
        "counted": len(latencies),
        "p50_s": round(percentile(latencies, 0.50), 1) if latencies else None,
        "p95_s": round(percentile(latencies, 0.95), 1) if latencies else None,
        "max_s": round(max(latencies), 1) if latencies else None,
        "target_p95_s": TARGET_P95_S,
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"{report['counted']} of {report['votes']} votes counted in the marts: "
            f"p50 {report['p50_s']} s, p95 {report['p95_s']} s, max "
            f"{report['max_s']} s (target p95 <= {TARGET_P95_S:g} s)"
        )
    if missing or report["p95_s"] is None or report["p95_s"] > TARGET_P95_S:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
