"""Request handling shared by the event resources: read, validate, produce, answer."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from pydantic import ValidationError
from pydantic_core import from_json, to_json
from werkzeug.exceptions import RequestEntityTooLarge

from api.errors import ApiError, json_response
from api.publisher import get_publisher
from election.contracts import (
    EVENT_TYPES,
    ContractError,
    Event,
    describe_errors,
    encode_event,
)

MAX_BULK_ITEMS = 5000
"""Default for the most events one bulk request may carry."""

RETRY_AFTER = {"Retry-After": "1"}

NUL_PROBLEM = (
    "holds a NUL character (\\u0000), which PostgreSQL cannot store; remove it"
)


def _kind(value: object) -> str:
    """The JSON name of the type of `value`, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def read_body() -> bytes:
    """The request body, at most `MAX_CONTENT_LENGTH` bytes, chunked bodies too.

    Raises:
        RequestEntityTooLarge: if the body is over the limit, which the app's
            error handler answers with a JSON 413.
    """
    body = request.get_data(cache=False)
    limit = request.max_content_length
    # NOTE: Werkzeug stops reading a body without Content-Length (a chunked one)
    # at the limit and returns what it read, without an error; one byte more on
    # the raw stream tells a body of exactly the limit from a longer one.
    if (
        limit is not None
        and request.content_length is None
        and len(body) >= limit
        and request.input_stream.read(1)
    ):
        raise RequestEntityTooLarge()
    return body


def read_json() -> Any:
    """The parsed JSON body of the request.

    Raises:
        ApiError: 415 if the body is not declared JSON, 400 if it does not parse.
        RequestEntityTooLarge: if the body is over `MAX_CONTENT_LENGTH` bytes.
    """
    if not request.is_json:
        raise ApiError(
            415,
            f"expected Content-Type application/json, got "
            f"{request.content_type or 'none'!r}; send the events as JSON",
            field="Content-Type",
        )
    body = read_body()
    if not body.strip():
        raise ApiError(400, "request body is empty; send the events as JSON", "body")
    try:
        return from_json(body, allow_inf_nan=False)
    except ValueError as error:
        raise ApiError(
            400,
            f"request body is not valid JSON ({error}); send the events as JSON",
            field="body",
        ) from error


def _validate(topic: str, item: object) -> Event:
    """`item`, a JSON value, as the event of `topic`, its types checked strictly.

    Raises:
        ContractError: naming each field that is missing or wrong.
    """
    if not isinstance(item, dict):
        problem = f"expected a {topic} event as a JSON object, got {_kind(item)}"
        raise ContractError(topic, [{"field": "body", "message": problem}])
    nul = [
        {"field": name, "message": NUL_PROBLEM}
        for name, value in item.items()
        if isinstance(value, str) and "\0" in value
    ]
    if nul:
        raise ContractError(topic, nul)
    # NOTE: strict JSON validation refuses what lax validation would coerce and
    # the contract's JSON Schema forbids: a number as a timestamp (seconds or
    # milliseconds, a guess) or a date, a string as the district.
    try:
        return EVENT_TYPES[topic].model_validate_json(to_json(item), strict=True)
    except ValidationError as error:
        raise ContractError(topic, describe_errors(error)) from error


def _message(event: Event) -> tuple[bytes, bytes]:
    """Key and value of the Kafka message that carries `event`."""
    return str(event.voter_id).encode(), encode_event(event)


def accept_one(topic: str) -> Response:
    """Validate the request's event of `topic`, produce it and answer 202 once acked.

    Raises:
        ApiError: 400 for an invalid event, 503 if Kafka did not acknowledge it.
    """
    payload = read_json()
    if isinstance(payload, list):
        raise ApiError(
            400,
            f"expected one {topic} event as a JSON object, got a list; "
            f"send lists to {request.path}/bulk",
            field="body",
        )
    try:
        event = _validate(topic, payload)
    except ContractError as error:
        raise ApiError(
            400,
            f"invalid {topic} event",
            field=error.problems[0]["field"],
            problems=error.problems,
        ) from error

    [outcome] = get_publisher().publish(topic, [_message(event)])
    if outcome is not None:
        raise ApiError(
            503, f"{outcome}; retry later", field="kafka", headers=RETRY_AFTER
        )
    return json_response({"event_id": str(event.event_id)}, 202)


def accept_bulk(topic: str) -> Response:
    """Validate each event of the request's list, produce the valid ones, answer each.

    The answer is 202 when every event was acknowledged, 207 when some were
    rejected, 400 when all were, and 503 when Kafka did not acknowledge some.

    Raises:
        ApiError: 400 if the body is not a list, 413 if it holds too many events.
    """
    payload = read_json()
    if not isinstance(payload, list):
        raise ApiError(
            400,
            f"expected a JSON list of {topic} events, got {_kind(payload)}; "
            f"send one event to {request.path.removesuffix('/bulk')}",
            field="body",
        )
    limit: int = current_app.config["ELECTION_MAX_BULK_ITEMS"]
    if len(payload) > limit:
        raise ApiError(
            413,
            f"bulk of {len(payload)} {topic} events is over the limit of {limit}; "
            f"split it into requests of at most {limit} events",
            field="body",
        )

    # validate every item, keeping the position of the valid ones
    results: list[dict[str, Any]] = [{}] * len(payload)
    events: list[Event] = []
    positions: list[int] = []
    for index, item in enumerate(payload):
        try:
            events.append(_validate(topic, item))
            positions.append(index)
        except ContractError as error:
            results[index] = {
                "index": index,
                "status": "rejected",
                "errors": error.problems,
            }

    # produce the valid ones and wait once for all acknowledgements
    messages = [_message(event) for event in events]
    outcomes = get_publisher().publish(topic, messages) if messages else []
    unacknowledged = 0
    for index, event, outcome in zip(positions, events, outcomes, strict=True):
        if outcome is None:
            results[index] = {
                "index": index,
                "event_id": str(event.event_id),
                "status": "accepted",
            }
        else:
            unacknowledged += 1
            results[index] = {
                "index": index,
                "event_id": str(event.event_id),
                "status": "unacknowledged",
                "error": f"{outcome}; send this item again",
            }
    return _bulk_answer(topic, results, len(events), unacknowledged)


def _bulk_answer(
    topic: str, results: list[dict[str, Any]], valid: int, unacknowledged: int
) -> Response:
    """The per-item answer to a bulk request and its status."""
    rejected = len(results) - valid
    body: dict[str, Any] = {
        "accepted": valid - unacknowledged,
        "rejected": rejected,
        "unacknowledged": unacknowledged,
        "results": results,
    }
    if unacknowledged:
        body["error"] = (
            f"Kafka did not acknowledge {unacknowledged} of the {valid} valid "
            f"{topic} events; send the items marked unacknowledged again"
        )
        body["field"] = "kafka"
        return json_response(body, 503, RETRY_AFTER)
    if rejected and not valid:
        body["error"] = (
            f"none of the {rejected} {topic} events is valid; "
            "see the errors of each item"
        )
        body["field"] = "body"
        return json_response(body, 400)
    return json_response(body, 207 if rejected else 202)
