"""List and replay dead letters and rejected events: `python -m flows.replay`."""

from __future__ import annotations

import argparse
from uuid import UUID

from prefect import flow, get_run_logger

from election.db import connect
from election.settings import get_settings
from tasks.replay import STATUSES, list_held, replay_held


@flow(name="replay-held-events")
def replay(
    statuses: list[str] | None = None,
    topic: str | None = None,
    event_ids: list[UUID] | None = None,
) -> dict[str, int]:
    """Judge held events again: count them now, or hold them with a fresh reason.

    Args:
        statuses: which held events: dead_letter (default), rejected, parked.
        topic: only events of this topic, registration or vote.
        event_ids: only these events.
    """
    logger = get_run_logger()
    with connect(get_settings()) as conn:
        report = replay_held(conn, statuses or ["dead_letter"], topic, event_ids)
    for event_id, problem in report.unreadable:
        logger.warning("event %s still breaks its contract: %s", event_id, problem)
    counts = report.counts
    return {
        "taken": report.taken,
        "written": counts.written + counts.unparked,
        "parked": counts.parked,
        "rejected": counts.rejected,
        "unreadable": len(report.unreadable),
    }


def main() -> None:
    """`python -m flows.replay list|replay [--status S] [--topic T] [--event-id ID]`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("--status", action="append", choices=STATUSES)
    parser.add_argument("--topic", choices=["registration", "vote"])
    parser.add_argument("--event-id", action="append", type=UUID)
    parser.add_argument("--limit", type=int, default=100, help="rows to list")
    args = parser.parse_args()

    if args.command == "replay":
        print(replay(args.status, args.topic, args.event_id))
        return
    with connect(get_settings()) as conn:
        rows = list_held(conn, args.status or STATUSES, args.topic, args.limit)
    print(f"{'event':<38}{'topic':<14}{'status':<13}{'where':<12}reason")
    for row in rows:
        where = f"{row.partition}:{row.offset}" if row.partition is not None else "-"
        print(
            f"{row.event_id!s:<38}{row.topic:<14}{row.status:<13}{where:<12}"
            f"{row.reason}"
        )
    print(f"{len(rows)} held events")


if __name__ == "__main__":
    main()
