"""The Flask API served by gunicorn, with its bearer token kept in data_dir."""

from __future__ import annotations

import logging
import os
import secrets
import sys
import urllib.error
import urllib.request

from election.settings import PROJECT_ROOT, Settings
from services.base import ServiceStatus
from services.exceptions import ServiceError
from services.process import (
    launch,
    process_alive,
    require_free_port,
    running_pid,
    stop_process,
    tail,
    wait_until,
)

logger = logging.getLogger(__name__)

_MARKER = "api.gunicorn_conf"


def health(api_url: str, timeout: float = 3.0) -> bool:
    """Whether GET `api_url`/health answers 200: the API runs and Kafka answers."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def ensure_token(settings: Settings) -> None:
    """Write a random API token to data_dir/api-token unless one is configured."""
    token_file = settings.data_dir / "api-token"
    if settings.api_token is not None or token_file.exists():
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    token_file.touch(mode=0o600)
    token_file.write_text(secrets.token_urlsafe(32) + "\n")
    logger.info("wrote a new API token to %s", token_file)


class ApiServer:
    """The API's gunicorn master; `data_dir/api` holds its log and pid."""

    name = "api"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.data_dir / "api"
        self.pid_file = self.home / "api.pid"
        self.log_file = self.home / "api.log"

    @property
    def address(self) -> str:
        """Base address of the API."""
        return self.settings.api_url

    def start(self, timeout: float | None = None) -> None:
        """Start the API unless it runs, and wait until /health answers.

        /health answers only once Kafka does, so start the broker too.

        Raises:
            ServiceError: when the port is taken or the API does not answer.
        """
        timeout = 90.0 if timeout is None else timeout
        ensure_token(self.settings)
        pid = running_pid(self.pid_file, _MARKER)
        if pid is None:
            pid = self._launch()
        if wait_until(
            lambda: health(self.address),
            timeout,
            still_starting=lambda: process_alive(pid, _MARKER),
        ):
            logger.info("api answers at %s", self.address)
            return
        raise ServiceError(
            self.name,
            f"the API (pid {pid}) does not answer at {self.address}/health after "
            f"{timeout:.0f} s; its health needs Kafka: check `make status` and "
            f"read {self.log_file}",
            log_tail=tail(self.log_file),
        )

    def stop(self, timeout: float | None = None) -> None:
        """Stop gunicorn gracefully: workers flush their Kafka producers first."""
        pid = running_pid(self.pid_file, _MARKER)
        if pid is not None:
            stop_process(self.name, pid, _MARKER, 30.0 if timeout is None else timeout)
            logger.info("stopped api (pid %d)", pid)
        self.pid_file.unlink(missing_ok=True)

    def status(self) -> ServiceStatus:
        """Whether gunicorn runs and /health answers."""
        pid = running_pid(self.pid_file, _MARKER)
        if pid is None:
            return ServiceStatus(self.name, "not running", self.address)
        if health(self.address):
            return ServiceStatus(self.name, "healthy", self.address, pid)
        return ServiceStatus(
            self.name, "unhealthy", self.address, pid, "/health does not answer"
        )

    def remove_data(self) -> None:
        """Delete the API's log; the token stays so that producers keep working."""
        self.log_file.unlink(missing_ok=True)

    def _launch(self) -> int:
        settings = self.settings
        require_free_port(
            self.name, settings.api_host, settings.api_port, "ELECTION_API_PORT"
        )
        self.home.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["ELECTION_DATA_DIR"] = str(settings.data_dir)
        env["ELECTION_API_PORT"] = str(settings.api_port)
        env["ELECTION_API_HOST"] = settings.api_host
        env["ELECTION_KAFKA_BOOTSTRAP"] = settings.kafka_servers
        paths = [str(PROJECT_ROOT), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
        # the same command `python -m api` runs, started directly so that the
        # marker is in the process's command line from its first moment
        pid = launch(
            [sys.executable, "-m", "gunicorn", "--config", f"python:{_MARKER}"],
            log_file=self.log_file,
            pid_file=self.pid_file,
            env=env,
            cwd=PROJECT_ROOT,
        )
        logger.info("started api (pid %d) at %s", pid, self.address)
        return pid
