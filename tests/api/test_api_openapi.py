"""The OpenAPI document that the API serves at /openapi.json."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask.testing import FlaskClient

from api.openapi import EXAMPLES
from election.contracts import parse_event

WRITES = ["/register", "/register/bulk", "/vote", "/vote/bulk"]


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

    def test_document_is_valid_openapi_3_1(self, stub_client: FlaskClient) -> None:
        document = stub_client.get("/openapi.json").get_json()

        schemathesis.openapi.from_dict(document).validate()

        assert document["openapi"] == "3.1.0"

    @pytest.mark.parametrize("route", WRITES)
    def test_writes_need_the_bearer_scheme(
        self, stub_client: FlaskClient, route: str
    ) -> None:
        document = stub_client.get("/openapi.json").get_json()

        operation = document["paths"][route]["post"]

        assert operation["security"] == [{"bearerAuth": []}]
        schemes = document["components"]["securitySchemes"]
        assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer"}

    def test_reads_need_no_credentials(self, stub_client: FlaskClient) -> None:
        document = stub_client.get("/openapi.json").get_json()

        for route in ("/health", "/openapi.json"):
            assert "security" not in document["paths"][route]["get"]

    @pytest.mark.parametrize("route", WRITES)
    def test_every_answer_of_a_write_has_a_schema(
        self, stub_client: FlaskClient, route: str
    ) -> None:
        document = stub_client.get("/openapi.json").get_json()
        responses = document["paths"][route]["post"]["responses"]

        expected = {"202", "400", "401", "413", "415", "503"}
        if route.endswith("/bulk"):
            expected.add("207")
        assert set(responses) == expected
        for status, response in responses.items():
            assert response["content"]["application/json"]["schema"], status
        assert "WWW-Authenticate" in responses["401"]["headers"]
        assert "Retry-After" in responses["503"]["headers"]
        assert str(4 * 1024 * 1024) in responses["413"]["description"]

    @pytest.mark.parametrize("route", WRITES)
    def test_request_examples_satisfy_the_contracts(
        self, stub_client: FlaskClient, route: str
    ) -> None:
        document = stub_client.get("/openapi.json").get_json()
        body = document["paths"][route]["post"]["requestBody"]
        topic = "registration" if route.startswith("/register") else "vote"

        example = body["content"]["application/json"]["example"]

        events = example if route.endswith("/bulk") else [example]
        assert events == [EXAMPLES[topic]]
        parse_event(topic, events[0])
