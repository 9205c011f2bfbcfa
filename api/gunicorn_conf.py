"""Gunicorn settings of the API: address and workers come from the election settings."""

from __future__ import annotations

import logging

from gunicorn.arbiter import Arbiter  # type: ignore[import-untyped]
from gunicorn.workers.base import Worker  # type: ignore[import-untyped]

from api.auth import configured_token
from api.publisher import get_publisher
from election.settings import get_settings

_settings = get_settings()
_host = f"[{_settings.api_host}]" if ":" in _settings.api_host else _settings.api_host

wsgi_app = "api.wsgi:app"
bind = [f"{_host}:{_settings.api_port}"]
workers = _settings.api_workers
worker_class = "gthread"
threads = 4
keepalive = 5
timeout = 30
graceful_timeout = max(30, int(_settings.produce_timeout_s) + 10)
errorlog = "-"
loglevel = "info"
# NOTE: no preload_app: each worker builds the app after the fork and so makes its
# own Kafka producer, since librdkafka's threads do not survive a fork.
preload_app = False
# NOTE: gunicorn 27's control socket sits at one path per user, so a second API
# (a test's, say) would take it over; nothing here uses it.
control_socket_disable = True


def on_starting(server: Arbiter) -> None:
    """Send the API's log to stderr at INFO; refuse to start without a token.

    Raises:
        MissingTokenError: a RuntimeError, which gunicorn reports in one line
            before it exits, if no bearer token is configured.
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    configured_token(_settings)


def post_worker_init(worker: Worker) -> None:
    """Open the worker's Kafka producer before the worker takes requests."""
    get_publisher(worker.wsgi).producer()


def worker_exit(server: Arbiter, worker: Worker) -> None:
    """Wait for the worker's queued events to be acknowledged before it exits."""
    app = getattr(worker, "wsgi", None)
    if app is not None:
        get_publisher(app).close()
