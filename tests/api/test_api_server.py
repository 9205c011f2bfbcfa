"""The API served by gunicorn with `python -m api`, as in production."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from election.contracts import REGISTRATION_TOPIC
from election.settings import Settings

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[2]
Payload = dict[str, Any]


def _wait_healthy(url: str, server: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Wait until `url`/health answers 200; fail if the server exits or stays down."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert server.poll() is None, f"gunicorn exited with {server.returncode}"
        try:
            if requests.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the API at {url} was not healthy within {timeout_s} s")


@pytest.fixture
def served_api(
    kafka_settings: Settings, tmp_path: Path, unused_port: int, auth: dict[str, str]
) -> Iterator[str]:
    """The base URL of the API run by `python -m api` on a free port."""
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "ELECTION_API_HOST": "127.0.0.1",
        "ELECTION_API_PORT": str(unused_port),
        "ELECTION_API_WORKERS": "1",
        "ELECTION_API_TOKEN": auth["Authorization"].removeprefix("Bearer "),
        "ELECTION_KAFKA_BOOTSTRAP": kafka_settings.kafka_servers,
        "ELECTION_DATA_DIR": str(tmp_path),
    }
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "api"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{unused_port}"
    try:
        _wait_healthy(url, server, timeout_s=30)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


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
