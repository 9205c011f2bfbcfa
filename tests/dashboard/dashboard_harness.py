"""Helpers of the dashboard tests: publish a warehouse, serve it, watch a page."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from election.settings import PROJECT_ROOT, Settings
from warehouse.duckdb_target import publish, writing

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
"""Debian's Chromium as root in a container: no sandbox, no GPU, no calls home."""


def settings_for(data_dir: Path) -> Settings:
    """Settings whose warehouse is `data_dir/warehouse.duckdb`, whatever the env."""
    return Settings(data_dir=data_dir, duckdb_path=None, warehouse="duckdb")


def publish_file(source: Path, settings: Settings) -> Path:
    """Make `source` the settings' warehouse and publish it, as a dbt run does."""
    with writing(settings.warehouse_path):
        if source != settings.warehouse_path:
            shutil.copyfile(source, settings.warehouse_path)
        return publish(settings.warehouse_path)


def free_port() -> int:
    """A loopback port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_dashboard(
    settings: Settings, refresh_s: float = 5.0, log: Path | None = None
) -> Iterator[str]:
    """Run `python -m dashboard` on a free port for `settings`; yield its address.

    Args:
        settings: Whose data dir holds the published warehouse.
        refresh_s: Seconds between two polls of a page.
        log: Where the server's output goes; nowhere when None.
    """
    port = free_port()
    env = {
        **os.environ,
        "ELECTION_DATA_DIR": str(settings.data_dir),
        "ELECTION_DASHBOARD_HOST": "127.0.0.1",
        "ELECTION_DASHBOARD_PORT": str(port),
        "ELECTION_DASHBOARD_REFRESH_S": str(refresh_s),
    }
    env.pop("ELECTION_DUCKDB_PATH", None)
    with open(log or os.devnull, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "dashboard"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_healthy(url, process)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=20)


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the dashboard exited with code {process.returncode} before "
                f"answering at {url}"
            )
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the dashboard did not answer at {url} within 30 s")


@dataclass
class WatchedPage:
    """A browser page, with the console errors and requests it has seen so far."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def open(self, url: str) -> Page:
        """Go to `url` and wait until dashboard.js has drawn the page."""
        self.page.goto(url)
        self.page.wait_for_selector("body[data-rendered='true']", timeout=15_000)
        return self.page

    def foreign_requests(self, *origins: str) -> list[str]:
        """Requests to anywhere but `origins` and inline data."""
        allowed = (*origins, "data:")
        return [url for url in self.requests if not url.startswith(allowed)]
