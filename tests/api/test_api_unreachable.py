"""The API when no Kafka broker answers: 503 within the produce timeout, never 202."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from pydantic import SecretStr

from api import create_app
from api.publisher import get_publisher
from api.schemas import BulkResponse, ErrorResponse, HealthResponse
from election.settings import Settings

pytestmark = pytest.mark.slow

TIMEOUT_S = 2.0
MARGIN_S = 1.5
Payload = dict[str, Any]


@pytest.fixture
def dead_client(
    tmp_path: Path, auth: dict[str, str], unused_port: int
) -> Iterator[FlaskClient]:
    """A client of the API whose broker address has nothing listening."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        api_token=SecretStr(auth["Authorization"].removeprefix("Bearer ")),
        kafka_bootstrap=f"127.0.0.1:{unused_port}",
        produce_timeout_s=TIMEOUT_S,
    )
    app = create_app(settings)
    yield app.test_client()
    get_publisher(app).close()


class TestBrokerDown:
    @pytest.mark.parametrize("route", ["/register", "/vote"])
    def test_single_event_gets_503_within_the_timeout(
        self,
        dead_client: FlaskClient,
        auth: dict[str, str],
        make_event: Callable[[str], Payload],
        route: str,
    ) -> None:
        started = time.monotonic()

        response = dead_client.post(route, json=make_event(route), headers=auth)

        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert elapsed < TIMEOUT_S + MARGIN_S
        error = ErrorResponse.model_validate(response.get_json())
        assert error.error == (
            f"Kafka did not acknowledge the event within {TIMEOUT_S:.1f} s; retry later"
        )
        assert response.headers["Retry-After"] == "1"

    def test_bulk_gets_503_naming_each_unacknowledged_item(
        self,
        dead_client: FlaskClient,
        auth: dict[str, str],
        make_vote: Callable[..., Payload],
    ) -> None:
        payload = [make_vote(), make_vote(state="XX"), make_vote()]
        started = time.monotonic()

        response = dead_client.post("/vote/bulk", json=payload, headers=auth)

        assert time.monotonic() - started < TIMEOUT_S + MARGIN_S
        assert response.status_code == 503
        body = BulkResponse.model_validate(response.get_json())
        assert (body.accepted, body.rejected, body.unacknowledged) == (0, 1, 2)
        statuses = [item.status for item in body.results]
        assert statuses == ["unacknowledged", "rejected", "unacknowledged"]
        assert body.error is not None
        assert "2 of the 2 valid vote events" in body.error

    def test_health_gets_503(self, dead_client: FlaskClient) -> None:
        started = time.monotonic()

        response = dead_client.get("/health")

        assert time.monotonic() - started < TIMEOUT_S + MARGIN_S
        assert response.status_code == 503
        health = HealthResponse.model_validate(response.get_json())
        assert health.status == "unavailable"
        assert health.error is not None
        assert "did not answer" in health.error
