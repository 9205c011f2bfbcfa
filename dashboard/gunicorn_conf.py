"""Gunicorn settings of the dashboard: its address comes from the election settings."""

from __future__ import annotations

import logging

from gunicorn.arbiter import Arbiter  # type: ignore[import-untyped]

from dashboard import dashboard_address
from election.settings import get_settings

_host, _port = dashboard_address(get_settings())
_host = f"[{_host}]" if ":" in _host else _host

wsgi_app = "dashboard.wsgi:app"
bind = [f"{_host}:{_port}"]
# NOTE: the pages poll every few seconds and each query takes milliseconds; one
# worker keeps one read-only connection to the published warehouse.
workers = 1
worker_class = "gthread"
threads = 8
keepalive = 5
timeout = 30
graceful_timeout = 10
errorlog = "-"
loglevel = "info"
preload_app = False
# NOTE: gunicorn 27's control socket sits at one path per user, so the API and
# the dashboard (or a test's copy) would take it from each other; neither uses it.
control_socket_disable = True


def on_starting(server: Arbiter) -> None:
    """Send the dashboard's log to stderr at INFO, in the master and the worker."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
