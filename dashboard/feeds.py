"""The JSON feeds that the pages poll: elections, national results, timeline, states."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from dashboard import current_marts, documents
from dashboard.exceptions import NoResultsYet
from dashboard.marts import Snapshot

bp = Blueprint("feeds", __name__)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _election(snap: Snapshot) -> dict[str, Any]:
    """The election that `?election=` names, or the newest."""
    elections = documents.list_elections(snap)
    return documents.resolve_election(elections, request.args.get("election"))


@bp.get("/health")
def health() -> Response:
    """Answer 200 while the server runs, saying whether results are published."""
    try:
        with current_marts().snapshot() as snap:
            published_at = documents.iso(snap.published_at)
    except NoResultsYet as error:
        return _no_store(jsonify(status="ok", published=False, message=error.message))
    return _no_store(jsonify(status="ok", published=True, published_at=published_at))


@bp.get("/api/elections")
def elections() -> Response:
    """Every election in the marts, the newest (the default) first."""
    with current_marts().snapshot() as snap:
        found = documents.list_elections(snap)
    newest = documents.resolve_election(found, None)
    return _no_store(jsonify(default=newest["id"], elections=found))


@bp.get("/api/national")
def national() -> Response:
    """Electoral and popular vote, turnout and every unit of `?election=`."""
    with current_marts().snapshot() as snap:
        election = _election(snap)
        return _no_store(jsonify(documents.national(snap, election)))


@bp.get("/api/timeline")
def timeline() -> Response:
    """Cumulative votes per party over time; `?by=synced` (default) or `cast`."""
    with current_marts().snapshot() as snap:
        election = _election(snap)
        by = request.args.get("by", "synced")
        return _no_store(jsonify(documents.timeline(snap, election, by)))


@bp.get("/api/states/<code>")
def state(code: str) -> Response:
    """Candidates, units (districts too) and turnout of one state."""
    with current_marts().snapshot() as snap:
        election = _election(snap)
        return _no_store(jsonify(documents.state(snap, election, code)))
