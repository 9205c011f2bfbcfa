"""Fixtures of the producer tests: local HTTP servers that answer from a script."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from election.settings import get_settings
from producers.retries import RetryPolicy

DATA = Path(__file__).parent / "data"
RECORDED = DATA / "response_v1.3_200_us.json"


Reply = tuple[int, Any] | tuple[int, Any, dict[str, str]]
"""What the server answers: (status, JSON body or raw text[, headers])."""


@dataclass(frozen=True)
class Received:
    """A request the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


Handler = Callable[[Received], Reply]


class ScriptedServer:
    """A ThreadingHTTPServer on 127.0.0.1 that answers from a script.

    Each request takes the next item of `script`, a reply or a handler; once it
    is used up, `default` answers. Every request is kept in `received`.
    """

    def __init__(self, default: Handler) -> None:
        self.default = default
        self.script: list[Reply | Handler] = []
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )

    @property
    def url(self) -> str:
        """Base address of the server."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, request: Received) -> Reply:
        """The reply to `request`: the next scripted one, else the default."""
        with self._lock:
            self.received.append(request)
            step = self.script.pop(0) if self.script else self.default
        return step if isinstance(step, tuple) else step(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = Received(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers=dict(self.headers.items()),
                    body=json.loads(raw) if raw else None,
                )
                status, body, *extra = server.answer(request)
                data = (
                    body.encode()
                    if isinstance(body, str)
                    else json.dumps(body).encode()
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (extra[0] if extra else {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        return _Handler


@pytest.fixture(scope="session")
def recorded_response() -> dict[str, Any]:
    """The recorded randomuser answer: 200 US people of API version 1.3."""
    return json.loads(RECORDED.read_text(encoding="utf-8"))


@pytest.fixture
def fast_retries() -> RetryPolicy:
    """A retry policy of 3 tries that waits milliseconds, not seconds."""
    return RetryPolicy(attempts=3, backoff_s=0.001, max_backoff_s=0.01)


@pytest.fixture
def randomuser_server(recorded_response: dict[str, Any]) -> Iterator[ScriptedServer]:
    """A randomuser API that serves the first `results` recorded people."""

    def serve_recorded(request: Received) -> Reply:
        count = int(request.query.get("results", 1))
        people = recorded_response["results"][:count]
        info = {**recorded_response["info"], "results": len(people)}
        return 200, {"results": people, "info": info}

    server = ScriptedServer(serve_recorded)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api_server() -> Iterator[ScriptedServer]:
    """An election API that accepts every event, in bulk or one by one."""

    def accept(request: Received) -> Reply:
        if request.path.endswith("/bulk"):
            results = [
                {"index": i, "event_id": event["event_id"], "status": "accepted"}
                for i, event in enumerate(request.body)
            ]
            return 202, {"accepted": len(results), "rejected": 0, "results": results}
        return 202, {"event_id": request.body["event_id"], "status": "accepted"}

    server = ScriptedServer(accept)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api_token(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An API token set through ELECTION_API_TOKEN, with the settings re-read."""
    monkeypatch.setenv("ELECTION_API_TOKEN", "test-token")
    get_settings.cache_clear()
    yield "test-token"
    get_settings.cache_clear()
