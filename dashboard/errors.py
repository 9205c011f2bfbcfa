"""Error answers of the dashboard: JSON under /api, a short HTML page elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from dashboard.exceptions import DashboardError

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


def _wants_json() -> bool:
    return request.path.startswith(API_PREFIX) or request.path == "/health"


def error_response(status: int, message: str, field: str | None) -> Response:
    """The answer to an error: JSON for the feeds, an HTML page for the pages."""
    if _wants_json():
        response = jsonify(error=message, field=field)
    else:
        response = Response(
            render_template("error.html", status=status, message=message),
            mimetype="text/html",
        )
    response.status_code = status
    return response


def _answer_dashboard_error(error: DashboardError) -> Response:
    return error_response(error.status, error.message, error.field)


def _answer_http_error(error: HTTPException) -> Response:
    code = error.code or 500
    if code == 404:
        message = f"no page {request.path!r}; the national page is at /"
        if _wants_json():
            message = (
                f"no route {request.path!r}; the feeds are /api/elections, "
                "/api/national, /api/timeline and /api/states/<code>"
            )
        return error_response(404, message, "path")
    if code >= 500:
        return error_response(code, "internal error; see the dashboard's log", None)
    return error_response(code, f"{error.name}: {error.description}", None)


def _answer_unexpected(error: Exception) -> Response:
    logger.exception("the dashboard failed on %s", request.path, exc_info=error)
    return error_response(500, "internal error; see the dashboard's log", None)


def register_error_handlers(app: Flask) -> None:
    """Make every error of `app` answer in JSON under /api and in HTML elsewhere."""
    app.register_error_handler(DashboardError, _answer_dashboard_error)
    app.register_error_handler(HTTPException, _answer_http_error)
    app.register_error_handler(Exception, _answer_unexpected)
