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

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """Serve the OpenAPI document that describes every route."""
    limit: int = current_app.config["ELECTION_MAX_BULK_ITEMS"]
    return json_response(build_document(limit), 200)


def _ref(model: type[BaseModel]) -> dict[str, str]:
    """A reference to the component schema of `model`."""
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON media type holding `schema`."""
    return {"application/json": {"schema": schema}}


def _error(description: str) -> dict[str, Any]:
    """A response that carries an ErrorResponse."""
    return {"description": description, "content": _content(_ref(ErrorResponse))}


def _write_errors() -> dict[str, Any]:
    """Error responses every write route may give."""
    return {
        "401": _error("Missing or wrong bearer token."),
        "413": _error("Body over the size limit, or too many events."),
        "415": _error("Body not declared as application/json."),
    }


def _single(name: str, model: type[BaseModel]) -> dict[str, Any]:
    """The operation that takes one event of `model`."""
    return {
        "post": {
            "operationId": f"post_{name}",
            "summary": f"Accept one {name} event once Kafka acknowledged it.",
            "security": [{"bearerAuth": []}],
            "requestBody": {"required": True, "content": _content(_ref(model))},
            "responses": {
                "202": {
                    "description": "Kafka acknowledged the event.",
                    "content": _content(_ref(AcceptedResponse)),
                },
                "400": _error("Body not JSON, or an event field missing or wrong."),
                **_write_errors(),
                "503": _error("Kafka did not acknowledge the event in time."),
            },
        }
    }


def _bulk(name: str, model: type[BaseModel], limit: int) -> dict[str, Any]:
    """The operation that takes a list of events of `model`."""
    bulk = _content(_ref(BulkResponse))
    items = {"type": "array", "items": _ref(model), "maxItems": limit}
    return {
        "post": {
            "operationId": f"post_{name}_bulk",
            "summary": f"Accept up to {limit} {name} events, answering for each.",
            "security": [{"bearerAuth": []}],
            "requestBody": {"required": True, "content": _content(items)},
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
                **_write_errors(),
                "503": {
                    "description": "Kafka did not acknowledge some.",
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
def build_document(max_bulk_items: int) -> dict[str, Any]:
    """The OpenAPI document, with bulk routes taking at most `max_bulk_items`."""
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
            "/register": _single("registration", RegistrationEvent),
            "/register/bulk": _bulk("registration", RegistrationEvent, max_bulk_items),
            "/vote": _single("vote", VoteEvent),
            "/vote/bulk": _bulk("vote", VoteEvent, max_bulk_items),
            "/health": {
                "get": {
                    "operationId": "get_health",
                    "summary": "Report whether the Kafka broker answers.",
                    "responses": {
                        "200": {**health, "description": "Kafka answers."},
                        "503": {**health, "description": "Kafka does not answer."},
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
