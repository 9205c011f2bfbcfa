"""The API on a real Kafka broker: events acknowledged, produced and read back."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.schemas import AcceptedResponse, BulkResponse, HealthResponse
from election.contracts import (
    REGISTRATION_TOPIC,
    VOTE_TOPIC,
    encode_event,
    parse_event,
)

pytestmark = pytest.mark.slow

TOPIC_OF_ROUTE = {"/register": REGISTRATION_TOPIC, "/vote": VOTE_TOPIC}
Payload = dict[str, Any]


class TestSingleEvent:
    @pytest.mark.parametrize("route", ["/register", "/vote"])
    def test_valid_event_gets_202_after_it_is_in_its_topic(
        self,
        kafka_client: FlaskClient,
        read_topic: Callable[[str], Any],
        auth: dict[str, str],
        make_event: Callable[[str], Payload],
        route: str,
    ) -> None:
        topic = TOPIC_OF_ROUTE[route]
        reader = read_topic(topic)
        payload = make_event(route)

        response = kafka_client.post(route, json=payload, headers=auth)

        assert response.status_code == 202, response.get_json()
        accepted = AcceptedResponse.model_validate(response.get_json())
        assert str(accepted.event_id) == payload["event_id"]
        message = reader.read({payload["event_id"]})[payload["event_id"]]
        assert message.topic() == topic
        assert message.key() == payload["voter_id"].encode()
        assert message.value() == encode_event(parse_event(topic, payload))
        assert json.loads(message.value())["schema_version"] == 1


class TestBulk:
    def test_all_valid_items_get_202_and_reach_the_topic(
        self,
        kafka_client: FlaskClient,
        read_topic: Callable[[str], Any],
        auth: dict[str, str],
        make_vote: Callable[..., Payload],
    ) -> None:
        reader = read_topic(VOTE_TOPIC)
        payload = [make_vote() for _ in range(200)]

        response = kafka_client.post("/vote/bulk", json=payload, headers=auth)

        assert response.status_code == 202
        body = BulkResponse.model_validate(response.get_json())
        assert (body.accepted, body.rejected, body.unacknowledged) == (200, 0, 0)
        ids = {item["event_id"] for item in payload}
        messages = reader.read(ids)
        for item in payload:
            message = messages[item["event_id"]]
            assert message.key() == item["voter_id"].encode()

    def test_some_invalid_items_get_207_and_only_valid_ones_are_produced(
        self,
        kafka_client: FlaskClient,
        read_topic: Callable[[str], Any],
        auth: dict[str, str],
        make_registration: Callable[..., Payload],
    ) -> None:
        reader = read_topic(REGISTRATION_TOPIC)
        valid = [make_registration(), make_registration(state="ME", district=1)]
        invalid = make_registration(gender="robot")
        payload = [valid[0], invalid, valid[1]]

        response = kafka_client.post("/register/bulk", json=payload, headers=auth)

        assert response.status_code == 207
        body = BulkResponse.model_validate(response.get_json())
        assert (body.accepted, body.rejected, body.unacknowledged) == (2, 1, 0)
        statuses = [(item.index, item.status) for item in body.results]
        assert statuses == [(0, "accepted"), (1, "rejected"), (2, "accepted")]
        rejected = body.results[1]
        assert rejected.status == "rejected"
        assert [problem.field for problem in rejected.errors] == ["gender"]
        reader.read({item["event_id"] for item in valid})
        assert invalid["event_id"] not in reader.drain()


class TestHealth:
    def test_reachable_broker_gets_200(self, kafka_client: FlaskClient) -> None:
        response = kafka_client.get("/health")

        assert response.status_code == 200
        health = HealthResponse.model_validate(response.get_json())
        assert health.status == "ok"
        assert health.brokers >= 1
