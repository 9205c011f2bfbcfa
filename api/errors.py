"""The API's errors: the ApiError that views raise, its JSON answers, setup errors."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from pydantic_core import to_json
from werkzeug.exceptions import HTTPException, MethodNotAllowed

logger = logging.getLogger(__name__)


def json_response(
    payload: Any, status: int, headers: Mapping[str, str] | None = None
) -> Response:
    """A response whose body is `payload` serialised as JSON."""
    return Response(
        to_json(payload), status=status, headers=headers, mimetype="application/json"
    )


class MissingTokenError(RuntimeError):
    """The API was started without the bearer token that writes need.

    Args:
        token_file: Where `make up` keeps the token, `data_dir/api-token`.
    """

    def __init__(self, token_file: Path) -> None:
        self.token_file = token_file
        super().__init__(
            "the API has no bearer token for writes: ELECTION_API_TOKEN is unset and "
            f"{str(token_file)!r} is missing or empty; run `make up`, which writes "
            "one, or set ELECTION_API_TOKEN"
        )


class ApiError(Exception):
    """An error that a view answers with: a status, a message and the field at fault.

    Args:
        status: HTTP status of the answer.
        message: What is wrong, the value at fault and what to do about it.
        field: The request field the error is about, or None.
        headers: Extra response headers, such as `Retry-After`.
        extra: More members of the JSON body, such as `problems`.
    """

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = dict(headers or {})
        self.extra = extra

    def to_response(self) -> Response:
        """The JSON response that reports this error."""
        body = {"error": self.message, "field": self.field, **self.extra}
        return json_response(body, self.status, self.headers)


def _describe_http_error(error: HTTPException) -> tuple[str, str | None]:
    """A message and a field for a routing or protocol error raised by Werkzeug."""
    code = error.code or 500
    if code == 404:
        return (
            f"no route {request.path!r}; GET /openapi.json lists the routes",
            "path",
        )
    if code == 405 and isinstance(error, MethodNotAllowed):
        allowed = ", ".join(sorted(error.valid_methods or []))
        return (
            f"method {request.method} is not allowed on {request.path!r}; "
            f"use {allowed}",
            "method",
        )
    if code == 413:
        limit = request.max_content_length or 0
        size = request.content_length
        body = "request body" if size is None else f"request body of {size} bytes"
        return (
            f"{body} is over the limit of {limit} bytes ({limit / 2**20:.1f} MiB); "
            "send the events in smaller batches",
            "body",
        )
    if code >= 500:
        return "internal error while handling the request; see the API's log", None
    return f"{error.name}: {error.description}", "request"


def _answer_http_error(error: HTTPException) -> Response:
    """Report a Werkzeug HTTP error as JSON with a message and a field."""
    message, field = _describe_http_error(error)
    headers = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return json_response({"error": message, "field": field}, error.code or 500, headers)


def _answer_api_error(error: ApiError) -> Response:
    """Report an error raised by a view."""
    return error.to_response()


def register_error_handlers(app: Flask) -> None:
    """Make every error of `app` answer in JSON, unknown routes and 500s included."""
    app.register_error_handler(ApiError, _answer_api_error)
    app.register_error_handler(HTTPException, _answer_http_error)
