"""Stops the services of some data folders once the process that started them ends.

A test session starts one with `watch(...)` so that a session killed before its
teardown (a timeout, a SIGKILL) leaves no broker or server running behind it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from election.settings import Settings
from services.process import launch, process_alive
from services.stack import Stack

logger = logging.getLogger(__name__)


def watch(owner: int, root: Path) -> int:
    """Start a detached watchdog of `root` for the process `owner`.

    Args:
        owner: Pid whose end means the services must stop, usually os.getpid().
        root: Folder whose subfolders (and itself) are data folders of services.

    Returns:
        The pid of the watchdog; its log is `root/watchdog.log`.
    """
    command = [sys.executable, "-m", "services.watchdog", str(owner), str(root)]
    return launch(
        command, log_file=root / "watchdog.log", pid_file=root / "watchdog.pid"
    )


def stop_services_under(root: Path) -> None:
    """Stop the local services of `root` and of every folder directly in it."""
    for data_dir in (root, *sorted(p for p in root.iterdir() if p.is_dir())):
        settings = Settings(data_dir=data_dir, database_url=None, kafka_bootstrap=None)
        stack = Stack(settings, migrate=False)
        if any(status.state != "not running" for status in stack.status()):
            logger.info("stopping the services left running in %s", data_dir)
            stack.down(timeout=10)


def main(argv: list[str] | None = None) -> int:
    """`python -m services.watchdog OWNER ROOT`: wait for OWNER, then stop."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("owner", type=int, help="pid to wait for")
    parser.add_argument("root", type=Path, help="folder of the data folders")
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    while process_alive(args.owner) and args.root.exists():
        time.sleep(args.interval)
    if args.root.exists():
        stop_services_under(args.root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
