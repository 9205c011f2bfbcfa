"""The health resource: whether the API can reach its Kafka broker."""

from __future__ import annotations

from flask import Blueprint, Response

from api.errors import json_response
from api.publisher import BrokerUnavailable, get_publisher

HEALTH_TIMEOUT_S = 2.0
"""Longest wait for the broker's answer to a health check."""

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> Response:
    """Answer 200 if the Kafka broker answers a metadata request, else 503."""
    publisher = get_publisher()
    timeout_s = min(HEALTH_TIMEOUT_S, publisher.timeout_s)
    try:
        brokers = publisher.count_brokers(timeout_s)
    except BrokerUnavailable as error:
        body = {
            "status": "unavailable",
            "kafka_servers": publisher.servers,
            "brokers": 0,
            "error": str(error),
            "field": "kafka",
        }
        return json_response(body, 503, {"Retry-After": "1"})
    body = {"status": "ok", "kafka_servers": publisher.servers, "brokers": brokers}
    return json_response(body, 200)
