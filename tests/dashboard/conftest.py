"""Fixtures of the dashboard tests: published marts, the app, a server, a browser."""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import duckdb
import pytest
from dashboard_harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    WatchedPage,
    publish_file,
    serve_dashboard,
    settings_for,
)
from flask import Flask
from flask.testing import FlaskClient
from known_marts import write_known_marts

from dashboard import MARTS_EXTENSION, create_app
from election.settings import Settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route

DBT_TESTS = Path(__file__).resolve().parents[1] / "dbt"


@pytest.fixture(scope="session")
def known_marts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file of hand-filled marts: the elections of `known_marts`."""
    return write_known_marts(tmp_path_factory.mktemp("known") / "marts.duckdb")


@pytest.fixture
def known_settings(tmp_path: Path, known_marts_file: Path) -> Settings:
    """Settings of a fresh data dir where the known marts are published."""
    settings = settings_for(tmp_path / "data")
    publish_file(known_marts_file, settings)
    return settings


@pytest.fixture
def empty_settings(tmp_path: Path) -> Settings:
    """Settings of a fresh data dir where nothing is published yet."""
    return settings_for(tmp_path / "empty")


def _app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings, {"TESTING": True})
    yield app
    app.extensions[MARTS_EXTENSION].close()


@pytest.fixture
def app(known_settings: Settings) -> Iterator[Flask]:
    """The dashboard app on the known marts."""
    yield from _app(known_settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the dashboard on the known marts."""
    return app.test_client()


@pytest.fixture
def empty_client(empty_settings: Settings) -> Iterator[FlaskClient]:
    """A test client of the dashboard before anything was published."""
    for app in _app(empty_settings):
        yield app.test_client()


def _raw_warehouse() -> ModuleType:
    """The dbt tests' builder of raw elections, `tests/dbt/raw_warehouse.py`."""
    if str(DBT_TESTS) not in sys.path:
        sys.path.append(str(DBT_TESTS))
    return importlib.import_module("raw_warehouse")


@pytest.fixture(scope="session")
def dbt_marts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse built by the real dbt project: two elections, synced over time.

    The dbt tests' synthetic 2020 election (a Georgia tie, split districts in
    Maine and Nebraska, most states without ballots) and the official 2024
    results at 1:10,000. The 2024 ballots are cast over ten hours and synced in
    six batches after the 2020 ones, so 2024 is the newest election.
    """
    raw = _raw_warehouse()
    path = tmp_path_factory.mktemp("dbt_build") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        raw.fill_synthetic_election(con)
        raw.fill_official_election(con, 2024, 10_000)
        con.execute(
            """
            update raw.votes set
                cast_at = cast_at + to_minutes(cast(hash(vote_id) % 600 as bigint)),
                _synced_at = $synced
                    + to_minutes(cast(5 + 10 * (hash(vote_id) % 6) as bigint))
            where election_id = 'us2024-r10000'
            """,
            {"synced": raw.FIRST_SYNC_AT},
        )
    raw.run_dbt_on_duckdb(path, "build")
    return path


@pytest.fixture(scope="session")
def dbt_settings(
    dbt_marts_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings of a data dir where the real dbt build is published."""
    settings = settings_for(tmp_path_factory.mktemp("dbt_data"))
    publish_file(dbt_marts_file, settings)
    return settings


@pytest.fixture
def serve(tmp_path: Path) -> Callable[..., AbstractContextManager[str]]:
    """`serve(settings, refresh_s=5.0)`: `python -m dashboard` on a free port.

    Yields the server's address; its log goes to `dashboard.log` in the test's
    folder.
    """
    return functools.partial(serve_dashboard, log=tmp_path / "dashboard.log")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium driven by Playwright; skips when either is missing.

    NOTE: Playwright's sync API runs an event loop while it is open; it closes
    with the module, so later tests can run their own `asyncio.run`.
    """
    if not CHROMIUM.exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install Debian's with `apt-get install -y "
            "chromium` to run the browser tests"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright is not installed: `uv pip install playwright` "
        "(no `playwright install`: the tests use Debian's Chromium)",
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def watched_page(chromium: Browser) -> Iterator[WatchedPage]:
    """A fresh browser page that records console errors and every request.

    Requests that leave the machine are aborted (and recorded), so a page that
    needed a CDN would fail here as it would offline.
    """
    context = chromium.new_context(
        viewport={"width": 1360, "height": 900}, reduced_motion="reduce"
    )
    page = context.new_page()
    watched = WatchedPage(page)
    page.on(
        "console",
        lambda message: (
            watched.errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    page.on("request", lambda request: watched.requests.append(request.url))

    def only_local(route: Route) -> None:
        if route.request.url.startswith(("http://127.0.0.1:", "file://", "data:")):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_local)
    yield watched
    context.close()
