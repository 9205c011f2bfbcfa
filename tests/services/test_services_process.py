"""Tests of the process helpers: pid files, liveness, ports, stopping, log tails."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.base import ServiceStatus
from services.exceptions import ServiceError
from services.process import (
    launch,
    port_taken,
    process_alive,
    read_pid,
    require_free_port,
    running_pid,
    stop_process,
    tail,
)


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has already exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.fixture
def listener() -> Iterator[tuple[str, int]]:
    """A loopback socket that listens, and its host and port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield "127.0.0.1", sock.getsockname()[1]


class TestPidFiles:
    def test_read_pid_of_missing_file_is_none(self, tmp_path: Path) -> None:
        assert read_pid(tmp_path / "absent.pid") is None

    def test_read_pid_of_garbled_file_is_none(self, tmp_path: Path) -> None:
        pid_file = tmp_path / "garbled.pid"
        pid_file.write_text("not a number\n")
        assert read_pid(pid_file) is None

    def test_running_pid_of_stale_file_is_none(
        self, tmp_path: Path, dead_pid: int
    ) -> None:
        pid_file = tmp_path / "stale.pid"
        pid_file.write_text(f"{dead_pid}\n")
        assert running_pid(pid_file, "sleep") is None

    def test_running_pid_of_a_reused_pid_is_none(self, tmp_path: Path) -> None:
        pid_file = tmp_path / "reused.pid"
        pid_file.write_text(f"{os.getpid()}\n")
        assert running_pid(pid_file, "kafka.Kafka") is None


class TestProcessAlive:
    def test_exited_process_is_not_alive(self, dead_pid: int) -> None:
        assert not process_alive(dead_pid)

    def test_marker_must_be_in_the_command_line(self) -> None:
        with subprocess.Popen(["sleep", "30"]) as process:
            try:
                assert process_alive(process.pid, "sleep 30")
                assert not process_alive(process.pid, "kafka.Kafka")
            finally:
                process.kill()


class TestPorts:
    def test_port_with_a_listener_is_taken(self, listener: tuple[str, int]) -> None:
        assert port_taken(*listener)

    def test_port_after_its_listener_closed_is_free(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        assert not port_taken("127.0.0.1", port)

    def test_require_free_port_names_port_and_variable(
        self, listener: tuple[str, int]
    ) -> None:
        host, port = listener
        with pytest.raises(ServiceError, match=rf"{port}.*ELECTION_KAFKA_PORT"):
            require_free_port("kafka", host, port, "ELECTION_KAFKA_PORT")

    def test_foreign_host_is_refused_with_advice(self) -> None:
        with pytest.raises(ServiceError, match=r"postgres: .*address of this machine"):
            require_free_port("postgres", "192.0.2.1", 5432, "ELECTION_POSTGRES_HOST")


class TestLaunchAndStop:
    def test_launched_process_is_detached_and_recorded(self, tmp_path: Path) -> None:
        pid_file, log_file = tmp_path / "sleep.pid", tmp_path / "out" / "sleep.log"
        pid = launch(
            [
                sys.executable,
                "-c",
                "print('ready', flush=True); import time; time.sleep(30)",
            ],
            log_file=log_file,
            pid_file=pid_file,
        )
        try:
            assert read_pid(pid_file) == pid
            assert os.getpgid(pid) == pid
            deadline = time.monotonic() + 10
            while "ready" not in tail(log_file) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert tail(log_file) == "ready"
        finally:
            stop_process("sleeper", pid, "time.sleep", timeout=5)
        assert not process_alive(pid)

    def test_process_ignoring_sigterm_is_killed(self, tmp_path: Path) -> None:
        pid = launch(
            ["bash", "-c", "trap '' TERM; sleep 30 & wait"],
            log_file=tmp_path / "stubborn.log",
            pid_file=tmp_path / "stubborn.pid",
        )
        started = time.monotonic()
        stop_process("stubborn", pid, "trap", timeout=0.5)
        assert not process_alive(pid)
        assert time.monotonic() - started < 10


class TestTail:
    def test_tail_keeps_the_last_lines(self, tmp_path: Path) -> None:
        log = tmp_path / "server.log"
        log.write_text("".join(f"line {n}\n" for n in range(100)))
        assert tail(log, lines=2) == "line 98\nline 99"

    def test_tail_of_missing_file_is_empty(self, tmp_path: Path) -> None:
        assert tail(tmp_path / "absent.log") == ""


class TestServiceStatus:
    def test_line_shows_state_address_and_pid(self) -> None:
        status = ServiceStatus("kafka", "healthy", "127.0.0.1:9092", pid=42)
        assert status.healthy
        assert status.line().split() == [
            "kafka",
            "healthy",
            "127.0.0.1:9092",
            "(pid",
            "42)",
        ]

    def test_not_running_is_not_healthy(self) -> None:
        assert not ServiceStatus("prefect", "not running", "http://x/api").healthy
