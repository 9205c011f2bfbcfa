"""The API served by gunicorn with `python -m api`, as in production."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from api import MAX_CONTENT_LENGTH
from election.contracts import REGISTRATION_TOPIC

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[2]
Payload = dict[str, Any]


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """`body` in pieces, so that requests sends it chunked, without Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_gunicorn_serves_one_registration_to_kafka(
    served_api: str,
    read_topic: Callable[[str], Any],
    auth: dict[str, str],
    make_registration: Callable[..., Payload],
) -> None:
    reader = read_topic(REGISTRATION_TOPIC)
    payload = make_registration()

    response = requests.post(
        f"{served_api}/register", json=payload, headers=auth, timeout=10
    )

    assert response.status_code == 202, response.text
    assert response.json() == {"event_id": payload["event_id"]}
    message = reader.read({payload["event_id"]})[payload["event_id"]]
    assert message.key() == payload["voter_id"].encode()


def test_gunicorn_answers_unknown_routes_in_json(served_api: str) -> None:
    response = requests.get(f"{served_api}/nowhere", timeout=10)

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["field"] == "path"


class TestBodySizeLimit:
    @pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
    def test_body_over_the_limit_gets_413_json_naming_it(
        self, served_api: str, auth: dict[str, str], chunked: bool
    ) -> None:
        body = b"[" + b" " * MAX_CONTENT_LENGTH + b"]"
        data: bytes | Iterator[bytes] = _chunks(body) if chunked else body
        headers = {**auth, "Content-Type": "application/json"}

        response = requests.post(
            f"{served_api}/vote/bulk", data=data, headers=headers, timeout=30
        )

        assert response.status_code == 413
        assert response.headers["Content-Type"] == "application/json"
        error = response.json()
        assert error["field"] == "body"
        assert f"over the limit of {MAX_CONTENT_LENGTH} bytes" in error["error"]
        assert "smaller batches" in error["error"]

    def test_chunked_body_of_exactly_the_limit_is_read_whole(
        self, served_api: str, auth: dict[str, str]
    ) -> None:
        body = b"[" + b" " * (MAX_CONTENT_LENGTH - 2) + b"]"
        headers = {**auth, "Content-Type": "application/json"}

        response = requests.post(
            f"{served_api}/vote/bulk", data=_chunks(body), headers=headers, timeout=30
        )

        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == 0


def test_gunicorn_refuses_to_start_without_a_token(
    tmp_path: Path, unused_port: int
) -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "ELECTION_API_TOKEN"
    }
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        ELECTION_API_HOST="127.0.0.1",
        ELECTION_API_PORT=str(unused_port),
        ELECTION_DATA_DIR=str(tmp_path),
    )

    finished = subprocess.run(
        [sys.executable, "-m", "api"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode != 0
    assert "ELECTION_API_TOKEN" in finished.stderr
    assert str(tmp_path / "api-token") in finished.stderr
    assert "make up" in finished.stderr
