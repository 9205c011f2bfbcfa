"""Registration updates and removals travel the whole way, from the API to the marts."""

from __future__ import annotations

import asyncio

import duckdb
import pytest

from election.scenario import iter_voters, load_scenario
from election.settings import Settings
from flows.consume import consume_registrations, consume_votes
from flows.dbt import dbt_build
from flows.sync import sync
from producers.api_client import post_events
from producers.changes import change_event, iter_change_events
from producers.identities import OfflineSource
from producers.registrations import registration_event
from producers.votes import iter_vote_events
from warehouse.duckdb_target import published_path

pytestmark = pytest.mark.slow

RATIO = 400_000
"""A ratio nobody else uses, so this election is the test's own."""


def post(settings: Settings, events: list, endpoint: str) -> None:
    summary = post_events(
        events, endpoint, settings.api_url, settings.resolved_api_token()
    )
    assert summary.accepted == len(events), summary.rejections


def test_moves_and_removals_reach_the_warehouse_and_the_marts(stack: Settings) -> None:
    scenario = load_scenario(2020, RATIO)
    source = OfflineSource(scenario.election_day)
    voters = list(iter_voters(scenario))
    registered = {
        v.voter_id: registration_event(scenario, v, source.people([v.voter_id])[0])
        for v in voters
    }
    nebraskan = next(v for v in voters if v.state == "NE" and v.district == 1)
    leaver = next(v for v in voters if v.state == "CA")
    post(stack, list(registered.values()), "register")
    post(stack, list(iter_vote_events(scenario)), "vote")

    moved = change_event(registered[nebraskan.voter_id], "update")
    removed = change_event(registered[leaver.voter_id], "remove")
    post(stack, [moved, removed], "register")
    asyncio.run(consume_registrations(until_caught_up=True, idle_timeout_s=30))
    asyncio.run(consume_votes(until_caught_up=True, idle_timeout_s=30))
    asyncio.run(sync())
    dbt_build()

    with duckdb.connect(
        str(published_path(stack.warehouse_path)), read_only=True
    ) as db:
        district, removed_at = db.execute(
            "select district, removed_at from raw.voters where voter_id = ?",
            [str(nebraskan.voter_id)],
        ).fetchone()
        gone = db.execute(
            "select removed_at from raw.voters where voter_id = ?",
            [str(leaver.voter_id)],
        ).fetchone()[0]
        registered_ca, removed_ca, eligible_ca = db.execute(
            "select registered, removed, eligible from analytics.turnout_by_state "
            "where election_id = ? and state = 'CA'",
            [scenario.election_id],
        ).fetchone()

    assert (district, removed_at) == (2, None)
    assert gone == removed.occurred_at
    cells = [c for c in scenario.cells if c.state == "CA"]
    assert registered_ca == sum(c.registrations for c in cells)
    assert (removed_ca, eligible_ca) == (1, registered_ca - 1)


def test_changes_pick_the_same_voters_on_every_run() -> None:
    scenario = load_scenario(2020, 10_000)

    first = [e.event_id for e in iter_change_events(scenario, 0.01, "update")]
    again = [e.event_id for e in iter_change_events(scenario, 0.01, "update")]

    assert first == again
    assert 150 < len(first) < 330
