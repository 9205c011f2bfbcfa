"""The OpenAPI 3.1 document of the API, built from the pydantic models' schemas."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import Blueprint, Response, current_app
from pydantic import BaseModel

from api.errors import json_response
from api.schemas import (
    AcceptedResponse,
    BulkResponse,
    ErrorResponse,
    HealthResponse,
)
from election.contracts import SCHEMA_VERSION, RegistrationEvent, VoteEvent

REF_TEMPLATE = "#/components/schemas/{model}"

EXAMPLES: dict[str, dict[str, Any]] = {
    "registration": {
        "event_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "voter_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "election_id": "us2020-r10000",
        "state": "CA",
        "action": "register",
        "occurred_at": "2020-10-01T10:00:00Z",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.org",
        "gender": "female",
        "birth_date": "1980-12-10",
        "registered_at": "2020-10-01T10:00:00Z",
    },
    "vote": {
        "event_id": "a8098c1a-f86e-41b5-8f36-cc5d4e1c5f2b",
        "voter_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "election_id": "us2020-r10000",
        "state": "NE",
        "district": 2,
        "candidate_id": "us2020-r10000-dem",
        "cast_at": "2020-11-03T15:30:00-06:00",
    },
}
"""A valid event of each resource: the example of its request bodies."""

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """Serve the OpenAPI document that describes every route."""
    limit: int = current_app.config["ELECTION_MAX_BULK_ITEMS"]
    max_bytes: int = current_app.config["MAX_CONTENT_LENGTH"]
    return json_response(build_document(limit, max_bytes), 200)


def _ref(model: type[BaseModel]) -> dict[str, str]:
    """A reference to the component schema of `model`."""
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def _content(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    """A JSON media type holding `schema`, with an example if one is given."""
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _header(description: str) -> dict[str, Any]:
    """A response header holding a string."""
    return {"description": description, "schema": {"type": "string"}}


RETRY_AFTER = {"Retry-After": _header("Seconds to wait before sending again.")}
CHALLENGE = {"WWW-Authenticate": _header("The Bearer challenge.")}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """A response that carries an ErrorResponse."""
    response = {"description": description, "content": _content(_ref(ErrorResponse))}
    if headers:
        response["headers"] = headers
    return response


def _write_errors(max_bytes: int) -> dict[str, Any]:
    """Error responses every write route may give."""
    return {
        "401": _error("Missing or wrong bearer token.", CHALLENGE),
        "413": _error(
            f"Body over the limit of {max_bytes} bytes, or a bulk of too many "
            "events: send smaller batches."
        ),
        "415": _error("Body not declared as application/json."),
    }


def _single(name: str, model: type[BaseModel], max_bytes: int) -> dict[str, Any]:
    """The operation that takes one event of `model`."""
    return {
        "post": {
            "operationId": f"post_{name}",
            "summary": f"Accept one {name} event once Kafka acknowledged it.",
            "security": [{"bearerAuth": []}],
            "requestBody": {
                "required": True,
                "content": _content(_ref(model), EXAMPLES[name]),
            },
            "responses": {
                "202": {
                    "description": "Kafka acknowledged the event.",
                    "content": _content(_ref(AcceptedResponse)),
                },
                "400": _error("Body not JSON, or an event field missing or wrong."),
                **_write_errors(max_bytes),
                "503": _error(
                    "Kafka did not acknowledge the event in time: send it again.",
                    RETRY_AFTER,
                ),
            },
        }
    }


def _bulk(
    name: str, model: type[BaseModel], limit: int, max_bytes: int
) -> dict[str, Any]:
    """The operation that takes a list of events of `model`."""
    bulk = _content(_ref(BulkResponse))
    items = {"type": "array", "items": _ref(model), "maxItems": limit}
    return {
        "post": {
            "operationId": f"post_{name}_bulk",
            "summary": f"Accept up to {limit} {name} events, answering for each.",
            "security": [{"bearerAuth": []}],
            "requestBody": {
                "required": True,
                "content": _content(items, [EXAMPLES[name]]),
            },
            "responses": {
                "202": {
                    "description": "Kafka acknowledged every item.",
                    "content": bulk,
                },
                "207": {"description": "Some items were rejected.", "content": bulk},
                "400": {
                    "description": "Body not a JSON list, or every item rejected.",
                    "content": _content(
                        {"anyOf": [_ref(ErrorResponse), _ref(BulkResponse)]}
                    ),
                },
                **_write_errors(max_bytes),
                "503": {
                    "description": "Kafka did not acknowledge some items: send "
                    "those marked unacknowledged again.",
                    "headers": RETRY_AFTER,
                    "content": bulk,
                },
            },
        }
    }


def _components() -> dict[str, Any]:
    """Schemas of every model the document refers to."""
    schemas: dict[str, Any] = {}
    models: list[type[BaseModel]] = [
        RegistrationEvent,
        VoteEvent,
        ErrorResponse,
        AcceptedResponse,
        BulkResponse,
        HealthResponse,
    ]
    for model in models:
        schema = model.model_json_schema(ref_template=REF_TEMPLATE)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return {
        "schemas": schemas,
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    }


@lru_cache
def build_document(max_bulk_items: int, max_body_bytes: int) -> dict[str, Any]:
    """The OpenAPI document of the API.

    Args:
        max_bulk_items: The most events a bulk request may carry.
        max_body_bytes: The largest request body, in bytes.

    Returns:
        An OpenAPI 3.1 document; callers must not change it, as it is cached.
    """
    health = {
        "description": "Whether Kafka answers.",
        "content": _content(_ref(HealthResponse)),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Election events API",
            "version": f"{SCHEMA_VERSION}.0.0",
            "description": "Takes voter registrations and votes and hands them to "
            "Kafka, answering only once the broker acknowledged them.",
        },
        "paths": {
            "/register": _single("registration", RegistrationEvent, max_body_bytes),
            "/register/bulk": _bulk(
                "registration", RegistrationEvent, max_bulk_items, max_body_bytes
            ),
            "/vote": _single("vote", VoteEvent, max_body_bytes),
            "/vote/bulk": _bulk("vote", VoteEvent, max_bulk_items, max_body_bytes),
            "/health": {
                "get": {
                    "operationId": "get_health",
                    "summary": "Report whether the Kafka broker answers.",
                    "responses": {
                        "200": {**health, "description": "Kafka answers."},
                        "503": {
                            **health,
                            "description": "Kafka does not answer.",
                            "headers": RETRY_AFTER,
                        },
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "get_openapi",
                    "summary": "This document.",
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document.",
                            "content": _content({"type": "object"}),
                        }
                    },
                }
            },
        },
        "components": _components(),
    }
