"""The API when its broker goes away after it produced: 503 in time, 202 once back."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from pydantic import SecretStr

from api import create_app
from api.publisher import get_publisher
from api.schemas import BulkResponse, ErrorResponse
from election.contracts import VOTE_TOPIC
from election.settings import Settings
from services import KafkaBroker

pytestmark = pytest.mark.slow

TIMEOUT_S = 2.0
MARGIN_S = 1.5
RECOVERY_S = 60.0
Payload = dict[str, Any]


@pytest.fixture
def outage_settings(private_broker: KafkaBroker, token: str) -> Settings:
    """Settings of an API on the private broker, with a short produce timeout."""
    return private_broker.settings.model_copy(
        update={"api_token": SecretStr(token), "produce_timeout_s": TIMEOUT_S}
    )


@pytest.fixture
def outage_client(outage_settings: Settings) -> Iterator[FlaskClient]:
    """A client of the API producing to the private broker."""
    app = create_app(outage_settings)
    yield app.test_client()
    get_publisher(app).close()


def _post_timed(
    client: FlaskClient, route: str, payload: object, auth: dict[str, str]
) -> tuple[Any, float]:
    """The answer to a POST of `payload` and the seconds it took."""
    started = time.monotonic()
    response = client.post(route, json=payload, headers=auth)
    return response, time.monotonic() - started


def test_broker_that_goes_away_gets_503_in_time_and_202_once_back(
    private_broker: KafkaBroker,
    outage_settings: Settings,
    outage_client: FlaskClient,
    open_reader: Callable[[Settings, str], Any],
    auth: dict[str, str],
    make_vote: Callable[..., Payload],
) -> None:
    reader = open_reader(outage_settings, VOTE_TOPIC)
    acknowledged: set[str] = set()
    before = make_vote()
    response, _ = _post_timed(outage_client, "/vote", before, auth)
    assert response.status_code == 202, response.get_json()
    acknowledged.add(before["event_id"])

    private_broker.stop()

    response, elapsed = _post_timed(outage_client, "/vote", make_vote(), auth)
    assert response.status_code == 503, response.get_json()
    assert elapsed < TIMEOUT_S + MARGIN_S
    error = ErrorResponse.model_validate(response.get_json())
    assert error.field == "kafka"
    assert f"did not acknowledge the event within {TIMEOUT_S:.1f} s" in error.error
    assert response.headers["Retry-After"] == "1"

    response, elapsed = _post_timed(
        outage_client, "/vote/bulk", [make_vote(), make_vote()], auth
    )
    assert response.status_code == 503, response.get_json()
    assert elapsed < TIMEOUT_S + MARGIN_S
    bulk = BulkResponse.model_validate(response.get_json())
    assert (bulk.accepted, bulk.unacknowledged, bulk.field) == (0, 2, "kafka")

    private_broker.start()

    deadline = time.monotonic() + RECOVERY_S
    while True:
        after = make_vote()
        response, elapsed = _post_timed(outage_client, "/vote", after, auth)
        assert response.status_code in (202, 503), response.get_json()
        assert elapsed < TIMEOUT_S + MARGIN_S
        if response.status_code == 202:
            acknowledged.add(after["event_id"])
            break
        assert time.monotonic() < deadline, (
            f"the API still answers 503 {RECOVERY_S:.0f} s after the broker is back"
        )

    response = outage_client.post("/vote/bulk", json=[make_vote()], headers=auth)
    assert response.status_code == 202, response.get_json()
    acknowledged.update(item["event_id"] for item in response.get_json()["results"])
    reader.read(acknowledged)
