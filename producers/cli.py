"""Command line shared by the registration and vote producers."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Iterable

from election.contracts import Event
from election.scenario import (
    DEFAULT_RATIO,
    ELECTION_DAYS,
    Scenario,
    ScenarioError,
    load_scenario,
)
from election.settings import get_settings
from producers.api_client import PostSummary, post_events
from producers.exceptions import ProducerError

logger = logging.getLogger(__name__)

SHOWN_REJECTIONS = 20
"""Rejected events listed in the summary; the count covers them all."""

Produce = Callable[[Scenario, argparse.Namespace], Iterable[Event]]


def build_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The options every producer takes: scenario, ratio, mode, API and batching."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "--scenario",
        type=int,
        required=True,
        choices=sorted(ELECTION_DAYS),
        help="year of the election to simulate",
    )
    parser.add_argument(
        "--ratio",
        type=_positive_int,
        default=DEFAULT_RATIO,
        help=f"people per simulated voter (default {DEFAULT_RATIO})",
    )
    parser.add_argument(
        "--mode",
        choices=("exact", "random"),
        default="exact",
        help="exact quotas by largest remainder, or seeded random draws",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --mode random")
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        default=500,
        help="events per bulk request (default 500)",
    )
    parser.add_argument(
        "--api-url", help="base address of the API (default from the settings)"
    )
    parser.add_argument(
        "--single", action="store_true", help="post one event per request"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="hide the progress bar"
    )
    return parser


def run(
    args: argparse.Namespace,
    *,
    label: str,
    endpoint: str,
    produce: Produce,
    count: Callable[[Scenario], int],
) -> int:
    """Load the scenario, post its events and print a summary.

    Returns:
        The exit status: 0 when all events were accepted, 1 when some were
        rejected, 2 when the run could not go on.
    """
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    settings = get_settings()
    try:
        scenario = load_scenario(
            args.scenario, args.ratio, mode=args.mode, seed=args.seed
        )
        summary = post_events(
            produce(scenario, args),
            endpoint,
            args.api_url or settings.api_url,
            settings.resolved_api_token(),
            args.batch_size,
            single=args.single,
            total=count(scenario),
            progress=not args.no_progress,
        )
    except (ProducerError, ScenarioError) as error:
        logger.error("%s", error)
        return 2
    print_summary(label, scenario, summary)
    return 0 if summary.rejected == 0 else 1


def print_summary(label: str, scenario: Scenario, summary: PostSummary) -> None:
    """Print the counts of a posting and the first rejected events."""
    print(
        f"{label} of {scenario.election_id} ({scenario.mode}): produced "
        f"{summary.produced:,}, accepted {summary.accepted:,}, "
        f"rejected {summary.rejected:,}"
    )
    if not summary.rejections:
        return
    print(f"rejected events (first {min(SHOWN_REJECTIONS, summary.rejected)}):")
    for rejection in summary.rejections[:SHOWN_REJECTIONS]:
        reasons = "; ".join(f"{e['field']}: {e['message']}" for e in rejection.errors)
        print(f"  #{rejection.index} {rejection.event_id}: {reasons}")


def _positive_int(text: str) -> int:
    """A whole number of 1 or more, for argparse."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of 1 or more, got {text!r}"
        )
    return value
