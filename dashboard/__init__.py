"""The live election dashboard: web pages and JSON feeds read from the dbt marts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app

from dashboard.marts import PublishedMarts
from election.settings import Settings, get_settings

MARTS_EXTENSION = "election_dashboard_marts"
"""Key of the app's `PublishedMarts` in `app.extensions`."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
DEFAULT_REFRESH_S = 5.0
"""Seconds between two polls of a page while an election runs."""


def dashboard_setting(settings: Settings, name: str, default: Any) -> Any:
    """The settings' field `name`, else its ELECTION_ variable, else `default`.

    NOTE: the dashboard's fields are read this way so that the dashboard runs
    before the settings model has them; the model's field wins once it does.
    """
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(f"ELECTION_{name.upper()}", default)
    return type(default)(value)


def dashboard_address(settings: Settings) -> tuple[str, int]:
    """Host and port the dashboard listens on, 127.0.0.1:8050 by default."""
    return (
        dashboard_setting(settings, "dashboard_host", DEFAULT_HOST),
        dashboard_setting(settings, "dashboard_port", DEFAULT_PORT),
    )


def create_app(
    settings: Settings | None = None, config: Mapping[str, Any] | None = None
) -> Flask:
    """Build the dashboard's Flask app.

    The app reads only the published copy of the DuckDB warehouse, read-only,
    and opens it on the first request, so it can be built before the file
    exists or before a fork.

    Args:
        settings: Where the warehouse is; the process-wide `get_settings()`
            when None.
        config: Flask settings that win over the defaults, such as
            `DASHBOARD_REFRESH_S`, the seconds between two polls of a page (0
            stops polling; ELECTION_DASHBOARD_REFRESH_S sets it too).

    Returns:
        The app, with the pages and feeds blueprints.
    """
    from dashboard import errors, feeds, pages

    settings = settings or get_settings()
    app = Flask(__name__)
    app.config.update(
        ELECTION_SETTINGS=settings,
        DASHBOARD_REFRESH_S=dashboard_setting(
            settings, "dashboard_refresh_s", DEFAULT_REFRESH_S
        ),
    )
    app.config.update(config or {})
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[MARTS_EXTENSION] = PublishedMarts.from_settings(settings)
    errors.register_error_handlers(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(feeds.bp)
    return app


def current_marts() -> PublishedMarts:
    """The published marts of the app handling the current request."""
    marts: PublishedMarts = current_app.extensions[MARTS_EXTENSION]
    return marts
