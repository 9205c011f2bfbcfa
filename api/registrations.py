"""The registrations resource: voters registering, updating or leaving the roll."""

from __future__ import annotations

from flask import Blueprint, Response

from api.auth import require_token
from api.events import accept_bulk, accept_one
from election.contracts import REGISTRATION_TOPIC

bp = Blueprint("registrations", __name__)
bp.before_request(require_token)


@bp.post("/register")
def register() -> Response:
    """Accept one registration event once Kafka acknowledged it."""
    return accept_one(REGISTRATION_TOPIC)


@bp.post("/register/bulk")
def register_bulk() -> Response:
    """Accept a list of registration events, answering for each one."""
    return accept_bulk(REGISTRATION_TOPIC)
