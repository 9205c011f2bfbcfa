"""The votes resource: ballots cast in the election."""

from __future__ import annotations

from flask import Blueprint, Response

from api.auth import require_token
from api.events import accept_bulk, accept_one
from election.contracts import VOTE_TOPIC

bp = Blueprint("votes", __name__)
bp.before_request(require_token)


@bp.post("/vote")
def vote() -> Response:
    """Accept one vote event once Kafka acknowledged it."""
    return accept_one(VOTE_TOPIC)


@bp.post("/vote/bulk")
def vote_bulk() -> Response:
    """Accept a list of vote events, answering for each one."""
    return accept_bulk(VOTE_TOPIC)
