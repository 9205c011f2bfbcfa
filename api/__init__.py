"""The Flask API that takes registrations and votes and hands them to Kafka."""

from __future__ import annotations

from flask import Flask

from api.auth import configured_token
from api.errors import register_error_handlers
from api.events import MAX_BULK_ITEMS
from api.publisher import PUBLISHER_EXTENSION, EventPublisher, ProducerLike
from election.settings import Settings, get_settings

MAX_CONTENT_LENGTH = 4 * 1024 * 1024
"""Largest request body, in bytes; a bulk of 5,000 registrations takes about 2.5 MB."""


def create_app(
    settings: Settings | None = None, producer: ProducerLike | None = None
) -> Flask:
    """Build the API's Flask app.

    The Kafka producer is not made here but on the first request of each process
    (or by gunicorn's post_worker_init hook), so the app can be built before a
    fork.

    Args:
        settings: Where Kafka is, the API's token and the produce timeout; the
            process-wide `get_settings()` when None.
        producer: A producer to use instead of the `confluent_kafka.Producer`
            the app makes; tests of the validation path pass a stub.

    Returns:
        The app, with the registrations, votes, health and openapi blueprints.

    Raises:
        MissingTokenError: if the settings give no bearer token, since the API
            takes no writes without one.
    """
    from api import health, openapi, registrations, votes

    settings = settings or get_settings()
    token = configured_token(settings)
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
        ELECTION_SETTINGS=settings,
        ELECTION_API_TOKEN=token,
        ELECTION_MAX_BULK_ITEMS=MAX_BULK_ITEMS,
    )
    app.extensions[PUBLISHER_EXTENSION] = EventPublisher(settings, producer)
    register_error_handlers(app)
    for blueprint in (registrations.bp, votes.bp, health.bp, openapi.bp):
        app.register_blueprint(blueprint)
    return app
