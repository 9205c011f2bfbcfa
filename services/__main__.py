"""`python -m services up|down|status|reset`: run the local services by hand."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from services.exceptions import ServiceError
from services.stack import OPTIONAL_NAMES, SERVICE_NAMES, Stack

logger = logging.getLogger("services")


def _names(value: str) -> list[str]:
    """Split `--only kafka,postgres` into names, checking each."""
    known = SERVICE_NAMES + OPTIONAL_NAMES
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown service {', '.join(unknown)!r}: choose among {', '.join(known)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    """The command line: a command and the services it acts on."""
    parser = argparse.ArgumentParser(
        prog="python -m services",
        description="Start, stop, check or reset the local PostgreSQL, Kafka, "
        "Prefect server, API and worker described by the ELECTION_* settings.",
    )
    parser.add_argument(
        "command",
        choices=["up", "down", "status", "reset"],
        help="up: start and wait until healthy; down: stop; status: one line per "
        "service, exit 0 only if all are healthy; reset: stop and delete the data, "
        "keeping the installations",
    )
    parser.add_argument(
        "--only",
        type=_names,
        action="extend",
        default=[],
        metavar="NAME[,NAME]",
        help="act on these services only, among "
        f"{', '.join(SERVICE_NAMES + OPTIONAL_NAMES)}",
    )
    parser.add_argument(
        "--worker",
        action="store_true",
        help="up: also start a worker of the election-process pool once the "
        "Prefect server answers (down, status and reset cover a running worker "
        "anyway)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds to wait for each service to start or stop",
    )
    parser.add_argument(
        "--no-ui", action="store_true", help="start the Prefect server without its UI"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="log warnings and errors only"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command and return the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    stack = Stack(only=args.only, ui=not args.no_ui, worker=args.worker)
    try:
        if args.command == "up":
            started = time.monotonic()
            statuses = stack.up(args.timeout)
            for status in statuses:
                print(status.line())
            print(f"up in {time.monotonic() - started:.1f} s")
        elif args.command == "down":
            stack.down(args.timeout)
        elif args.command == "reset":
            stack.reset()
        else:
            statuses = stack.status()
            for status in statuses:
                print(status.line())
            return 0 if all(status.healthy for status in statuses) else 1
    except ServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
