"""The main job: one simulated election through the whole pipeline, and its result.

producers -> API -> Kafka -> consumer flows -> PostgreSQL -> sync -> warehouse
-> dbt -> the result, printed and left as Prefect artifacts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any, Literal

import requests
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from dashboard.report import write_report
from election.db import connect
from election.scenario import Scenario, load_scenario
from election.settings import Settings, get_settings
from flows.consume import consume_registrations, consume_votes
from flows.dbt import dbt_build
from flows.sync import sync
from producers.api_client import PostSummary, post_events
from producers.registrations import iter_registration_events, make_source
from producers.votes import iter_vote_events
from warehouse import open_warehouse
from warehouse.results import read_results


class PipelineError(RuntimeError):
    """The pipeline cannot run, or its stages disagree."""


def _check_api(settings: Settings) -> None:
    try:
        response = requests.get(f"{settings.api_url}/health", timeout=10)
    except requests.RequestException as error:
        raise PipelineError(
            f"the API at {settings.api_url} does not answer ({error}); start the "
            "stack with `make up`"
        ) from error
    if response.status_code != 200:
        raise PipelineError(
            f"the API at {settings.api_url} is unhealthy ({response.status_code}: "
            f"{response.text[:200]}); check `make status`"
        )


@task(name="produce-registrations", cache_policy=NO_CACHE)
def produce_registrations(
    scenario: Scenario, source: str, batch_size: int
) -> PostSummary:
    """Post a registration for every voter of the scenario to the API."""
    settings = get_settings()
    events = iter_registration_events(scenario, make_source(source, scenario))
    summary = post_events(
        events,
        "register",
        settings.api_url,
        settings.resolved_api_token(),
        batch_size,
    )
    get_run_logger().info(
        "posted %s registrations: %s accepted, %s rejected",
        f"{summary.produced:,}",
        f"{summary.accepted:,}",
        f"{summary.rejected:,}",
    )
    return summary


@task(name="produce-votes", cache_policy=NO_CACHE)
def produce_votes(scenario: Scenario, batch_size: int) -> PostSummary:
    """Post every ballot of the scenario to the API."""
    settings = get_settings()
    summary = post_events(
        iter_vote_events(scenario),
        "vote",
        settings.api_url,
        settings.resolved_api_token(),
        batch_size,
    )
    get_run_logger().info(
        "posted %s votes: %s accepted, %s rejected",
        f"{summary.produced:,}",
        f"{summary.accepted:,}",
        f"{summary.rejected:,}",
    )
    return summary


@task(name="count-staging-rows", cache_policy=NO_CACHE)
def count_staging(election_id: str) -> dict[str, int]:
    """Voters and votes of the election in PostgreSQL."""
    with connect(get_settings()) as conn:
        voters = conn.execute(
            "select count(*) from voters where election_id = %s", (election_id,)
        ).fetchone()[0]
        votes = conn.execute(
            "select count(*) from votes where election_id = %s", (election_id,)
        ).fetchone()[0]
    return {"voters": int(voters), "votes": int(votes)}


@task(name="count-raw-rows", cache_policy=NO_CACHE)
def count_raw(election_id: str) -> dict[str, int]:
    """Voters and votes of the election in the warehouse's raw tables."""
    settings = get_settings()
    with open_warehouse(settings) as warehouse:
        return warehouse.election_counts(election_id)


@flow(name="election-pipeline")
def run_election(
    scenario: Literal[2020, 2024] = 2020,
    ratio: int = 10_000,
    mode: Literal["exact", "random"] = "exact",
    seed: int = 0,
    source: Literal["offline", "randomuser"] = "offline",
    batch_size: int = 500,
) -> dict[str, Any]:
    """Run a simulated presidential election through the whole pipeline.

    Args:
        scenario: the official results to follow, 2020 or 2024.
        ratio: one simulated voter for this many people.
        mode: `exact` apportions the quotas exactly; `random` samples them.
        seed: the seed of the random mode.
        source: where voter identities come from, `offline` or `randomuser`.
        batch_size: events per API request.

    Returns:
        The result: electoral votes per party, the winner of every state and
        district, turnout, and the rows counted at every stage.
    """
    logger = get_run_logger()
    settings = get_settings()
    election = load_scenario(scenario, ratio, mode=mode, seed=seed)
    logger.info(
        "running %s: %s registrations and %s votes expected",
        election.election_id,
        f"{election.total_registrations:,}",
        f"{election.total_votes:,}",
    )
    _check_api(settings)

    # producers -> API -> Kafka
    registrations = produce_registrations(election, source, batch_size)
    votes = produce_votes(election, batch_size)

    # Kafka -> PostgreSQL
    asyncio.run(consume_registrations(until_caught_up=True, idle_timeout_s=30))
    asyncio.run(consume_votes(until_caught_up=True, idle_timeout_s=30))
    staging = count_staging(election.election_id)

    # PostgreSQL -> warehouse -> dbt
    asyncio.run(sync())
    raw = count_raw(election.election_id)
    dbt_build()
    results = read_results(settings, election.election_id)

    results["counts"] = {
        "registrations": {
            "produced": registrations.produced,
            "acknowledged": registrations.accepted,
            "in_postgres": staging["voters"],
            "in_warehouse": raw["voters"],
            "in_marts": results["national"]["eligible"],
        },
        "votes": {
            "produced": votes.produced,
            "acknowledged": votes.accepted,
            "in_postgres": staging["votes"],
            "in_warehouse": raw["votes"],
            "in_marts": results["national"]["votes"],
        },
    }
    results["expected"] = {
        "registrations": election.total_registrations,
        "votes": election.total_votes,
    }
    if settings.warehouse == "duckdb":
        report = write_report(
            settings,
            election.election_id,
            settings.data_dir / "reports" / f"{election.election_id}.html",
        )
        results["report"] = report.as_uri()
    _leave_artifacts(results)
    _check_counts(results)
    return results


def _leave_artifacts(results: dict[str, Any]) -> None:
    create_table_artifact(
        key="election-results",
        table=[
            {"unit": unit, "winner": party}
            for unit, party in sorted(results["winners"].items())
        ],
        description=f"Winner of every state and district of {results['election_id']}",
    )
    create_markdown_artifact(key="election-summary", markdown=summary_markdown(results))


def summary_markdown(results: dict[str, Any]) -> str:
    """A short markdown summary of an election's result and counts."""
    college = results["electoral_votes"]
    lines = [
        f"# {results['election_id']}: {results['winner'] or 'no winner'} wins",
        "",
        "| party | candidate | electoral votes |",
        "|---|---|---|",
    ]
    for party, votes in sorted(college.items(), key=lambda item: -item[1]):
        lines.append(f"| {party} | {results['candidates'].get(party, '')} | {votes} |")
    national = results["national"]
    lines += [
        "",
        f"Turnout {national['turnout_rate']:.1%} "
        f"(official {national['official_turnout_rate']:.1%}).",
        "",
        "| stage | registrations | votes |",
        "|---|---|---|",
    ]
    for stage in (
        "produced",
        "acknowledged",
        "in_postgres",
        "in_warehouse",
        "in_marts",
    ):
        lines.append(
            f"| {stage} | {results['counts']['registrations'][stage]} "
            f"| {results['counts']['votes'][stage]} |"
        )
    return "\n".join(lines) + "\n"


def _check_counts(results: dict[str, Any]) -> None:
    for kind, stages in results["counts"].items():
        expected = results["expected"][kind]
        wrong = {stage: n for stage, n in stages.items() if n != expected}
        if wrong:
            raise PipelineError(
                f"{kind}: expected {expected:,} at every stage, but {wrong}; "
                "look at held_events and the dead-letter topics"
            )


def print_table(results: dict[str, Any]) -> None:
    """Print the result as plain text tables."""
    print(f"\n{results['election_id']}: winner {results['winner']}\n")
    print(f"{'party':<12}{'candidate':<28}{'electoral votes':>16}")
    for party, votes in sorted(results["electoral_votes"].items(), key=lambda i: -i[1]):
        name = results["candidates"].get(party, "")
        print(f"{party:<12}{name:<28}{votes:>16}")
    print(f"{'unassigned':<40}{results['unassigned_electoral_votes']:>16}\n")

    print(
        f"{'unit':<7}{'winner':<8}{'eligible':>10}{'voted':>9}{'turnout':>9}"
        f"{'official':>10}"
    )
    for unit, party in sorted(results["winners"].items()):
        turnout = results["turnout"].get(unit)
        if turnout is None:
            print(f"{unit:<7}{party:<8}")
            continue
        print(
            f"{unit:<7}{party:<8}{turnout['eligible']:>10,}{turnout['voted']:>9,}"
            f"{turnout['rate']:>9.1%}{turnout['official_rate']:>10.1%}"
        )
    national = results["national"]
    print(
        f"\nnational turnout {national['turnout_rate']:.1%} "
        f"(official {national['official_turnout_rate']:.1%})\n"
    )
    print(f"{'stage':<14}{'registrations':>15}{'votes':>10}")
    counts = results["counts"]
    for stage in counts["registrations"]:
        print(
            f"{stage:<14}{counts['registrations'][stage]:>15,}"
            f"{counts['votes'][stage]:>10,}"
        )


def main() -> None:
    """`python -m flows.pipeline --scenario 2020 --ratio 10000 [--json]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=int, choices=[2020, 2024], default=2020)
    parser.add_argument("--ratio", type=int, default=10_000)
    parser.add_argument("--mode", choices=["exact", "random"], default="exact")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--source", choices=["offline", "randomuser"], default="offline"
    )
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--warehouse",
        choices=["duckdb", "snowflake"],
        help="the warehouse to sync into; ELECTION_WAREHOUSE by default",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    if args.warehouse:
        os.environ["ELECTION_WAREHOUSE"] = args.warehouse
        get_settings.cache_clear()
    try:
        results = run_election(
            scenario=args.scenario,
            ratio=args.ratio,
            mode=args.mode,
            seed=args.seed,
            source=args.source,
            batch_size=args.batch_size,
        )
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from error
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results)


if __name__ == "__main__":
    main()
