"""The local Prefect server, run from the venv's `prefect` with its home in data_dir."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path

from election.settings import Settings
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

_MARKER = "server start"


def prefect_executable() -> Path:
    """The `prefect` command of the running Python's environment.

    Raises:
        ServiceError: when it is not next to the Python executable.
    """
    path = Path(sys.executable).parent / "prefect"
    if not path.exists():
        raise ServiceError(
            "prefect",
            f"there is no `prefect` next to {sys.executable}: install the project's "
            "requirements into that environment (pip install -r requirements.lock)",
        )
    return path


def api_answers(api_url: str, timeout: float = 3.0) -> bool:
    """Whether GET `api_url`/health answers 200."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def prefect_home(settings: Settings) -> Path:
    """PREFECT_HOME of the stack of `settings`, for its server and its clients."""
    return settings.data_dir / "prefect"


class PrefectServer:
    """A Prefect server with its SQLite database and logs in `data_dir/prefect`.

    `data_dir/prefect` is its PREFECT_HOME; `server.log` is its output and
    `server.pid` its pid.
    """

    name = "prefect"

    def __init__(self, settings: Settings, ui: bool = True) -> None:
        self.settings = settings
        self.ui = ui
        self.home = prefect_home(settings)
        self.pid_file = self.home / "server.pid"
        self.log_file = self.home / "server.log"

    @property
    def address(self) -> str:
        """The server's API address, the value of PREFECT_API_URL."""
        return self.settings.prefect_api_url

    def environment(self) -> dict[str, str]:
        """Environment of the server: its home, its address, no analytics."""
        env = dict(os.environ)
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_API_URL=self.address,
            PREFECT_SERVER_API_HOST=self.settings.prefect_host,
            PREFECT_SERVER_API_PORT=str(self.settings.prefect_port),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_UI_ENABLED="true" if self.ui else "false",
            DO_NOT_TRACK="1",
            # old flow runs and events go after 14 days, on purpose
            PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED="events,flow_runs",
            PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD=str(14 * 24 * 3600),
        )
        return env

    def start(self, timeout: float | None = None) -> None:
        """Start the server unless it runs, and wait until /health answers.

        Args:
            timeout: Longest wait in seconds; 120 by default, since the first start
                creates the database.

        Raises:
            ServiceError: naming what is missing or why the server did not answer.
        """
        timeout = 120.0 if timeout is None else timeout
        pid = running_pid(self.pid_file, _MARKER)
        if pid is None:
            pid = self._launch()
        else:
            logger.info("prefect already runs (pid %d) at %s", pid, self.address)

        if wait_until(
            lambda: api_answers(self.address),
            timeout,
            still_starting=lambda: process_alive(pid, _MARKER),
        ):
            logger.info("prefect answers at %s", self.address)
            return
        if not process_alive(pid, _MARKER):
            self.pid_file.unlink(missing_ok=True)
            raise ServiceError(
                self.name,
                f"the server exited while starting: read {self.log_file}",
                log_tail=tail(self.log_file),
            )
        raise ServiceError(
            self.name,
            f"the server (pid {pid}) does not answer at {self.address}/health after "
            f"{timeout:.0f} s: read {self.log_file}; if it was started with another "
            "port, run `python -m services down --only prefect` and start it again",
            log_tail=tail(self.log_file),
        )

    def stop(self, timeout: float | None = None) -> None:
        """Stop the server (SIGTERM, then SIGKILL after `timeout`, 20 s)."""
        pid = running_pid(self.pid_file, _MARKER)
        if pid is None:
            logger.info("prefect is not running")
        else:
            stop_process(self.name, pid, _MARKER, 20.0 if timeout is None else timeout)
            logger.info("stopped prefect (pid %d)", pid)
        self.pid_file.unlink(missing_ok=True)

    def status(self) -> ServiceStatus:
        """Whether the server runs and /health answers."""
        pid = running_pid(self.pid_file, _MARKER)
        if pid is None:
            return ServiceStatus(self.name, "not running", self.address)
        if api_answers(self.address):
            return ServiceStatus(self.name, "healthy", self.address, pid)
        return ServiceStatus(
            self.name, "unhealthy", self.address, pid, "/health does not answer"
        )

    def remove_data(self) -> None:
        """Delete PREFECT_HOME: the database of flows, runs, blocks and the log.

        Raises:
            ServiceError: when the server still runs.
        """
        if running_pid(self.pid_file, _MARKER) is not None:
            raise ServiceError(
                self.name, f"cannot delete {self.home} while the server runs: stop it"
            )
        if self.home.exists():
            shutil.rmtree(self.home)
            logger.info("deleted prefect data in %s", self.home)

    def _launch(self) -> int:
        """Check the port and start `prefect server start` detached."""
        settings = self.settings
        require_free_port(
            self.name,
            settings.prefect_host,
            settings.prefect_port,
            "ELECTION_PREFECT_PORT",
        )
        executable = prefect_executable()
        self.home.mkdir(parents=True, exist_ok=True)
        self.pid_file.unlink(missing_ok=True)
        command = [
            str(executable),
            "server",
            "start",
            "--host",
            settings.prefect_host,
            "--port",
            str(settings.prefect_port),
            "--analytics-off",
        ]
        pid = launch(
            command,
            log_file=self.log_file,
            pid_file=self.pid_file,
            env=self.environment(),
            cwd=self.home,
        )
        logger.info(
            "started prefect (pid %d) at %s, log in %s",
            pid,
            self.address,
            self.log_file,
        )
        return pid
