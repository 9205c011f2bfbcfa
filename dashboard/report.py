"""The static HTML report of a finished run: one self-contained file to keep."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from flask import render_template

from dashboard import MARTS_EXTENSION, create_app, documents
from dashboard.marts import PublishedMarts
from dashboard.pages import national_data, page_context
from election.settings import Settings

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"


def write_report(settings: Settings, election_id: str, path: Path) -> Path:
    """Write the national page of `election_id` as one self-contained HTML file.

    The file inlines its styles, script, map and data, fetches nothing and does
    not refresh, so it opens from disk anywhere, for instance from the link in
    a run's Prefect artifact. It reads the published copy of the warehouse, as
    the dashboard does, so call it after the run's last dbt build.

    Args:
        settings: Where the warehouse is.
        election_id: The election to report, such as `us2020-r10000`.
        path: The HTML file to write; its folder is made if missing and an
            existing file is replaced at once.

    Returns:
        The absolute path of the written file.

    Raises:
        NoResultsYet: when no warehouse has been published yet.
        UnknownElection: when the marts do not hold `election_id`.
    """
    app = create_app(settings, {"DASHBOARD_REFRESH_S": 0})
    marts: PublishedMarts = app.extensions[MARTS_EXTENSION]
    try:
        with app.test_request_context("/"), marts.snapshot() as snap:
            election = documents.resolve_election(
                documents.list_elections(snap), election_id
            )
            data = national_data(snap, election)
            context = page_context("national", [], election) | {
                "links": False,
                "refresh_ms": 0,
                "inline": {
                    "css": (STATIC_DIR / "dashboard.css").read_text(),
                    "js": (STATIC_DIR / "dashboard.js").read_text(),
                },
                "report": {
                    "written_at": documents.iso(
                        datetime.now(UTC).replace(microsecond=0)
                    )
                },
            }
            html = render_template("national.html", data=data, feeds={}, **context)
    finally:
        marts.close()

    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(html, encoding="utf-8")
    os.replace(partial, path)
    logger.info(
        "wrote the report of %s (%s bytes) to %s", election_id, f"{len(html):,}", path
    )
    return path
