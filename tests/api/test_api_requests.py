"""The API's answers on the validation path: bad events, auth, limits, routes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from api.errors import MissingTokenError
from api.schemas import BulkResponse, ErrorResponse
from election.settings import Settings

ROUTES = ["/register", "/vote"]
Payload = dict[str, Any]


def _bearer(token: str) -> dict[str, str]:
    """The Authorization header that carries `token`."""
    return {"Authorization": f"Bearer {token}"}


def _error(response: Any) -> ErrorResponse:
    """The error body of `response`, checked against its documented model."""
    assert response.mimetype == "application/json"
    return ErrorResponse.model_validate(response.get_json())


def _streamed(auth: dict[str, str], chunked: bool) -> dict[str, Any]:
    """Test-client options that send the body chunked, as gunicorn hands it on."""
    if not chunked:
        return {"headers": auth}
    return {
        "headers": {**auth, "Transfer-Encoding": "chunked"},
        "environ_overrides": {"wsgi.input_terminated": True},
    }


class TestEventValidation:
    @pytest.mark.parametrize(
        ("route", "field"),
        [("/register", "state"), ("/register", "email"), ("/vote", "candidate_id")],
        ids=["registration-state", "registration-email", "vote-candidate"],
    )
    def test_missing_field_gets_400_naming_it(
        self,
        stub_client: FlaskClient,
        auth: dict[str, str],
        make_event: Callable[[str], Payload],
        route: str,
        field: str,
    ) -> None:
        payload = make_event(route)
        del payload[field]

        response = stub_client.post(route, json=payload, headers=auth)

        assert response.status_code == 400
        error = _error(response)
        assert error.error.startswith("invalid ")
        assert error.field == field
        assert error.problems is not None
        assert [p.field for p in error.problems] == [field]
        assert "required" in error.problems[0].message.lower()

    @pytest.mark.parametrize(
        ("route", "field", "value"),
        [
            ("/register", "state", "XX"),
            ("/register", "gender", "robot"),
            ("/register", "registered_at", "2020-10-01T10:00:00"),
            ("/vote", "voter_id", "not-a-uuid"),
            ("/vote", "schema_version", 2),
            ("/vote", "unexpected", "x"),
            ("/register", "registered_at", 1601546400),
            ("/register", "birth_date", 0),
            ("/vote", "district", "2"),
            ("/register", "first_name", "Ada\u0000"),
        ],
        ids=[
            "unknown-state",
            "unknown-gender",
            "naive-datetime",
            "bad-uuid",
            "future-schema",
            "extra-field",
            "number-as-timestamp",
            "number-as-date",
            "string-as-district",
            "nul-character",
        ],
    )
    def test_wrong_field_gets_400_naming_it(
        self,
        stub_client: FlaskClient,
        auth: dict[str, str],
        make_event: Callable[[str], Payload],
        route: str,
        field: str,
        value: object,
    ) -> None:
        payload = {**make_event(route), field: value}

        response = stub_client.post(route, json=payload, headers=auth)

        assert response.status_code == 400
        assert _error(response).field == field

    def test_cross_field_rule_gets_400_with_its_message(
        self,
        stub_client: FlaskClient,
        auth: dict[str, str],
        make_vote: Callable[..., Payload],
    ) -> None:
        payload = make_vote(state="CA", district=2)

        response = stub_client.post("/vote", json=payload, headers=auth)

        assert response.status_code == 400
        error = _error(response)
        assert error.problems is not None
        assert "district must be absent for CA" in error.problems[0].message

    @pytest.mark.parametrize("route", ROUTES)
    def test_invalid_event_is_not_produced(
        self,
        stub_client: FlaskClient,
        stub_producer: Any,
        auth: dict[str, str],
        route: str,
    ) -> None:
        response = stub_client.post(route, json={"state": "CA"}, headers=auth)

        assert response.status_code == 400
        assert stub_producer.sent == []

    @pytest.mark.parametrize("route", ROUTES)
    def test_list_sent_to_single_route_gets_400_pointing_to_bulk(
        self,
        stub_client: FlaskClient,
        auth: dict[str, str],
        make_event: Callable[[str], Payload],
        route: str,
    ) -> None:
        response = stub_client.post(route, json=[make_event(route)], headers=auth)

        assert response.status_code == 400
        assert f"{route}/bulk" in _error(response).error


class TestBodyFormat:
    @pytest.mark.parametrize("route", [*ROUTES, "/register/bulk", "/vote/bulk"])
    def test_body_that_is_not_json_gets_400(
        self, stub_client: FlaskClient, auth: dict[str, str], route: str
    ) -> None:
        response = stub_client.post(
            route, data="{not json", content_type="application/json", headers=auth
        )

        assert response.status_code == 400
        error = _error(response)
        assert error.field == "body"
        assert "not valid JSON" in error.error

    def test_nan_gets_400_as_json_has_none(
        self,
        stub_client: FlaskClient,
        auth: dict[str, str],
        make_vote: Callable[..., Payload],
    ) -> None:
        body = json.dumps(make_vote()).replace('"district": 2', '"district": NaN')

        response = stub_client.post(
            "/vote", data=body, content_type="application/json", headers=auth
        )

        assert response.status_code == 400
        assert "not valid JSON" in _error(response).error

    def test_empty_body_gets_400(
        self, stub_client: FlaskClient, auth: dict[str, str]
    ) -> None:
        response = stub_client.post(
            "/register", data="", content_type="application/json", headers=auth
        )

        assert response.status_code == 400
        assert "empty" in _error(response).error

    @pytest.mark.parametrize("content_type", ["text/plain", None])
    def test_body_not_declared_json_gets_415(
        self,
        stub_client: FlaskClient,
        auth: dict[str, str],
        content_type: str | None,
    ) -> None:
        response = stub_client.post(
            "/register", data="{}", content_type=content_type, headers=auth
        )

        assert response.status_code == 415
        assert _error(response).field == "Content-Type"

    @pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
    def test_body_over_size_limit_gets_413_naming_the_limit(
        self,
        stub_app: Flask,
        stub_client: FlaskClient,
        stub_producer: Any,
        auth: dict[str, str],
        make_vote: Callable[..., Payload],
        chunked: bool,
    ) -> None:
        stub_app.config["MAX_CONTENT_LENGTH"] = 1024
        body = json.dumps([make_vote() for _ in range(10)])

        response = stub_client.post(
            "/vote/bulk",
            data=body,
            content_type="application/json",
            **_streamed(auth, chunked),
        )

        assert response.status_code == 413
        error = _error(response)
        assert error.field == "body"
        assert "over the limit of 1024 bytes" in error.error
        assert "smaller batches" in error.error
        assert stub_producer.sent == []

    @pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
    def test_body_of_exactly_the_size_limit_is_read_whole(
        self,
        stub_app: Flask,
        stub_client: FlaskClient,
        auth: dict[str, str],
        chunked: bool,
    ) -> None:
        stub_app.config["MAX_CONTENT_LENGTH"] = 1024
        body = "[" + " " * 1022 + "]"

        response = stub_client.post(
            "/vote/bulk",
            data=body,
            content_type="application/json",
            **_streamed(auth, chunked),
        )

        assert response.status_code == 202


class TestAuthorization:
    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": "Bearer "},
            {"Authorization": "Bearer api-test-token-and-more"},
            {"Authorization": "Basic abc"},
        ],
        ids=["missing", "wrong-token", "empty-token", "longer-token", "wrong-scheme"],
    )
    @pytest.mark.parametrize("route", [*ROUTES, "/register/bulk", "/vote/bulk"])
    def test_write_without_the_token_gets_401(
        self,
        stub_client: FlaskClient,
        stub_producer: Any,
        make_event: Callable[[str], Payload],
        route: str,
        headers: dict[str, str],
    ) -> None:
        base = route.removesuffix("/bulk")
        payload: object = make_event(base)
        if route.endswith("/bulk"):
            payload = [payload]

        response = stub_client.post(route, json=payload, headers=headers)

        assert response.status_code == 401
        assert _error(response).field == "Authorization"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert stub_producer.sent == []

    @pytest.mark.parametrize(
        "token_file", [None, "", "  \n"], ids=["none", "empty", "blank"]
    )
    def test_app_without_a_token_is_not_made(
        self, stub_settings: Settings, stub_producer: Any, token_file: str | None
    ) -> None:
        settings = stub_settings.model_copy(update={"api_token": None})
        if token_file is not None:
            (settings.data_dir / "api-token").write_text(token_file)

        with pytest.raises(MissingTokenError, match="ELECTION_API_TOKEN") as raised:
            create_app(settings, stub_producer)

        message = str(raised.value)
        assert str(settings.data_dir / "api-token") in message
        assert "make up" in message

    def test_token_of_the_data_dir_file_authorises_writes(
        self, stub_settings: Settings, stub_producer: Any
    ) -> None:
        settings = stub_settings.model_copy(update={"api_token": None})
        (settings.data_dir / "api-token").write_text("from-the-file\n")
        client = create_app(settings, stub_producer).test_client()

        refused = client.post("/vote/bulk", json=[], headers=_bearer("api-test-token"))
        accepted = client.post("/vote/bulk", json=[], headers=_bearer("from-the-file"))

        assert refused.status_code == 401
        assert accepted.status_code == 202

    def test_reads_need_no_token(self, stub_client: FlaskClient) -> None:
        assert stub_client.get("/health").status_code == 200
        assert stub_client.get("/openapi.json").status_code == 200


class TestRouting:
    def test_unknown_route_gets_404_json(self, stub_client: FlaskClient) -> None:
        response = stub_client.get("/ballots")

        assert response.status_code == 404
        error = _error(response)
        assert error.field == "path"
        assert "/ballots" in error.error

    @pytest.mark.parametrize(
        ("method", "route"),
        [("get", "/register"), ("put", "/vote/bulk"), ("post", "/health")],
    )
    def test_wrong_method_gets_405_json(
        self, stub_client: FlaskClient, method: str, route: str
    ) -> None:
        response = getattr(stub_client, method)(route)

        assert response.status_code == 405
        assert _error(response).field == "method"
        assert "Allow" in response.headers


class TestBulkValidation:
    @pytest.mark.parametrize("route", ["/register/bulk", "/vote/bulk"])
    def test_body_that_is_not_a_list_gets_400(
        self,
        stub_client: FlaskClient,
        auth: dict[str, str],
        make_event: Callable[[str], Payload],
        route: str,
    ) -> None:
        payload = make_event(route.removesuffix("/bulk"))

        response = stub_client.post(route, json=payload, headers=auth)

        assert response.status_code == 400
        error = _error(response)
        assert error.field == "body"
        assert "expected a JSON list" in error.error

    def test_too_many_items_get_413(
        self,
        stub_app: Flask,
        stub_client: FlaskClient,
        auth: dict[str, str],
        make_vote: Callable[..., Payload],
    ) -> None:
        stub_app.config["ELECTION_MAX_BULK_ITEMS"] = 3
        payload = [make_vote() for _ in range(4)]

        response = stub_client.post("/vote/bulk", json=payload, headers=auth)

        assert response.status_code == 413
        assert "bulk of 4 vote events is over the limit of 3" in _error(response).error

    def test_all_items_rejected_gets_400_with_each_items_errors(
        self,
        stub_client: FlaskClient,
        stub_producer: Any,
        auth: dict[str, str],
        make_registration: Callable[..., Payload],
    ) -> None:
        payload = [make_registration(state="XX"), "not an object", {}]

        response = stub_client.post("/register/bulk", json=payload, headers=auth)

        assert response.status_code == 400
        body = BulkResponse.model_validate(response.get_json())
        assert (body.accepted, body.rejected, body.unacknowledged) == (0, 3, 0)
        assert [item.index for item in body.results] == [0, 1, 2]
        assert all(item.status == "rejected" for item in body.results)
        first = body.results[0]
        assert first.status == "rejected"
        assert [problem.field for problem in first.errors] == ["state"]
        assert body.error is not None
        assert body.field == "body"
        assert stub_producer.sent == []

    def test_empty_list_gets_202_with_nothing_accepted(
        self, stub_client: FlaskClient, auth: dict[str, str]
    ) -> None:
        response = stub_client.post("/vote/bulk", json=[], headers=auth)

        assert response.status_code == 202
        assert response.get_json() == {
            "accepted": 0,
            "rejected": 0,
            "unacknowledged": 0,
            "results": [],
        }
