"""The web pages: the national results at / and a page per state at /state/<code>."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for

from dashboard import current_marts, documents
from dashboard.exceptions import NoResultsYet
from dashboard.mapshapes import us_map
from dashboard.marts import Snapshot

bp = Blueprint("pages", __name__)


def national_data(snap: Snapshot, election: dict[str, Any]) -> dict[str, Any]:
    """What the national page first shows: the national document and timelines."""
    return {
        "national": documents.national(snap, election),
        "timelines": {
            by: documents.timeline(snap, election, by) for by in documents.TIMELINE_AXES
        },
    }


def page_context(
    page: str, elections: list[dict[str, Any]], election: dict[str, Any]
) -> dict[str, Any]:
    """Template variables that every page needs besides its data."""
    return {
        "page": page,
        "elections": elections,
        "election": election,
        "usmap": us_map(),
        "links": True,
        "inline": None,
        "refresh_ms": int(float(current_app.config["DASHBOARD_REFRESH_S"]) * 1000),
    }


def _no_results(error: NoResultsYet) -> str:
    return render_template("no_results.html", message=error.message)


@bp.get("/")
def national() -> str:
    """The national page: map, electoral tally, popular vote, turnout, timeline."""
    try:
        with current_marts().snapshot() as snap:
            elections = documents.list_elections(snap)
            election = documents.resolve_election(
                elections, request.args.get("election")
            )
            data = national_data(snap, election)
    except NoResultsYet as error:
        return _no_results(error)
    return render_template(
        "national.html",
        data=data,
        feeds={
            "national": url_for("feeds.national"),
            "timeline": url_for("feeds.timeline"),
        },
        **page_context("national", elections, election),
    )


@bp.get("/state/<code>")
def state(code: str) -> str:
    """One state's page: candidates, districts, turnout against the official."""
    try:
        with current_marts().snapshot() as snap:
            elections = documents.list_elections(snap)
            election = documents.resolve_election(
                elections, request.args.get("election")
            )
            data = {"state": documents.state(snap, election, code)}
    except NoResultsYet as error:
        return _no_results(error)
    code = data["state"]["state"]["code"]
    shape = {s["code"]: s for s in us_map()["states"]}.get(code)
    return render_template(
        "state.html",
        data=data,
        shape=shape,
        feeds={"state": url_for("feeds.state", code=code)},
        **page_context("state", elections, election),
    )
