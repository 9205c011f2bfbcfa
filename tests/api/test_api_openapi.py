"""The OpenAPI document that the API serves at /openapi.json."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask.testing import FlaskClient


def _refs(node: Any) -> Iterator[str]:
    """Every `$ref` value inside `node`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


class TestOpenApiDocument:
    def test_document_lists_every_route_and_method(
        self, stub_client: FlaskClient
    ) -> None:
        document = stub_client.get("/openapi.json").get_json()

        assert document["openapi"].startswith("3.")
        routes = {path: set(item) for path, item in document["paths"].items()}
        assert routes == {
            "/register": {"post"},
            "/register/bulk": {"post"},
            "/vote": {"post"},
            "/vote/bulk": {"post"},
            "/health": {"get"},
            "/openapi.json": {"get"},
        }

    def test_every_reference_resolves_to_a_component(
        self, stub_client: FlaskClient
    ) -> None:
        document = stub_client.get("/openapi.json").get_json()
        schemas = document["components"]["schemas"]

        refs = set(_refs(document))

        assert "#/components/schemas/RegistrationEvent" in refs
        for ref in refs:
            name = ref.removeprefix("#/components/schemas/")
            assert name in schemas, f"{ref} does not resolve"

    def test_request_bodies_come_from_the_contracts(
        self, stub_client: FlaskClient
    ) -> None:
        document = stub_client.get("/openapi.json").get_json()
        schemas = document["components"]["schemas"]
        bulk = document["paths"]["/vote/bulk"]["post"]["requestBody"]

        schema = bulk["content"]["application/json"]["schema"]

        assert schema["items"] == {"$ref": "#/components/schemas/VoteEvent"}
        assert schema["maxItems"] == 5000
        assert "state" in schemas["RegistrationEvent"]["required"]
        assert schemas["VoteEvent"]["additionalProperties"] is False
