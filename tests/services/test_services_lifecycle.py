"""Tests of starting, stopping, restarting and resetting services of their own."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

import pytest

from election.settings import Settings
from services import KafkaBroker, Stack
from services.process import port_taken, process_alive, wait_until

pytestmark = pytest.mark.slow


def test_postgres_goes_up_down_up_and_resets(
    make_service_settings: Callable[[], Settings],
) -> None:
    settings = make_service_settings()
    stack = Stack(settings, only=["postgres"], migrate=False)

    stack.up()
    [status] = stack.status()
    assert status.state == "healthy"

    stack.down()
    assert [s.state for s in stack.status()] == ["not running"]
    assert not port_taken(settings.postgres_host, settings.postgres_port)

    stack.up()
    assert [s.state for s in stack.status()] == ["healthy"]

    stack.reset()
    assert [s.state for s in stack.status()] == ["not running"]
    assert not (settings.data_dir / "postgres").exists()


def test_kafka_restarts_after_its_process_was_killed(
    make_service_settings: Callable[[], Settings],
) -> None:
    settings = make_service_settings()
    broker = KafkaBroker(settings)
    broker.start()
    killed = broker.status().pid
    assert killed is not None

    try:
        os.kill(killed, signal.SIGKILL)
        assert wait_until(lambda: not process_alive(killed), 10)
        assert broker.status().state == "not running"
        assert broker.pid_file.exists()

        broker.start()
        status = broker.status()
        assert status.state == "healthy"
        assert status.pid != killed
    finally:
        broker.stop()

    assert broker.status().state == "not running"
    assert not broker.pid_file.exists()
    assert not port_taken(settings.kafka_host, settings.kafka_port)
