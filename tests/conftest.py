"""Fixtures of every test: the local services of a test session, on ports of its own."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from election.settings import Settings, get_settings
from services import KafkaBroker, PostgresServer, PrefectServer, Stack
from services.watchdog import watch

# No telemetry from Prefect or anything else that honours DO_NOT_TRACK.
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that nothing listens on right now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="session")
def services_base() -> Iterator[Path]:
    """A folder for this session's service data, outside pytest's private temp.

    NOTE: pytest closes its temp root (0700) again whenever another session starts,
    which would lock the `postgres` user out of a server it has to restart; this
    folder is the session's own, open to passage (0711), removed at the end.
    """
    base = Path(tempfile.mkdtemp(prefix="election-tests-"))
    base.chmod(0o711)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def make_service_settings(services_base: Path) -> Callable[[], Settings]:
    """A factory of settings for services of their own: free ports, a fresh folder.

    Each call gives new ports and a new data folder, and always the local
    PostgreSQL and Kafka; it starts nothing and sets no variable. A watchdog
    stops whatever services are left in those folders should the session die
    before its teardown.
    """
    watch(os.getpid(), services_base)

    def make() -> Settings:
        data_dir = Path(tempfile.mkdtemp(prefix="stack-", dir=services_base))
        data_dir.chmod(0o711)
        postgres, kafka, controller, prefect, api = free_ports(5)
        return Settings(
            data_dir=data_dir,
            postgres_port=postgres,
            kafka_port=kafka,
            kafka_controller_port=controller,
            prefect_port=prefect,
            api_port=api,
            database_url=None,
            kafka_bootstrap=None,
        )

    return make


@pytest.fixture(scope="session")
def service_settings(
    make_service_settings: Callable[[], Settings],
) -> Iterator[Settings]:
    """Settings of this session's services: free ports and a fresh data folder.

    Starts nothing. For the whole session, ELECTION_* and PREFECT_API_URL point
    at these services, `get_settings()` returns the same addresses, and Prefect
    clients in this process talk to this session's server.
    """
    settings = make_service_settings()
    prefect_home = settings.data_dir / "prefect"
    variables = {
        "ELECTION_DATA_DIR": str(settings.data_dir),
        "ELECTION_POSTGRES_PORT": str(settings.postgres_port),
        "ELECTION_KAFKA_PORT": str(settings.kafka_port),
        "ELECTION_KAFKA_CONTROLLER_PORT": str(settings.kafka_controller_port),
        "ELECTION_PREFECT_PORT": str(settings.prefect_port),
        "ELECTION_API_PORT": str(settings.api_port),
        "PREFECT_API_URL": settings.prefect_api_url,
        "PREFECT_HOME": str(prefect_home),
    }

    with pytest.MonkeyPatch.context() as patch:
        for name, value in variables.items():
            patch.setenv(name, value)
        patch.delenv("ELECTION_DATABASE_URL", raising=False)
        patch.delenv("ELECTION_KAFKA_BOOTSTRAP", raising=False)
        get_settings.cache_clear()

        # NOTE: Prefect reads its settings when it is first imported, which may be
        # before this fixture runs; a settings context overrides them here too.
        from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

        with temporary_settings(
            updates={
                PREFECT_API_URL: settings.prefect_api_url,
                PREFECT_HOME: prefect_home,
            }
        ):
            yield settings
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def postgres(service_settings: Settings) -> Iterator[Settings]:
    """A running PostgreSQL with the project's role, database and migrations.

    Yields the session's settings; `settings.postgres_dsn` reaches the database.
    """
    server = PostgresServer(service_settings)
    server.start()
    yield service_settings
    server.stop()


@pytest.fixture(scope="session")
def kafka(service_settings: Settings) -> Iterator[Settings]:
    """A running Kafka broker with the event and dead-letter topics.

    Yields the session's settings; `settings.kafka_servers` reaches the broker.
    """
    broker = KafkaBroker(service_settings)
    broker.start()
    yield service_settings
    broker.stop()


@pytest.fixture(scope="session")
def prefect_api(service_settings: Settings) -> Iterator[str]:
    """A running Prefect server, without its UI; yields its API address."""
    server = PrefectServer(service_settings, ui=False)
    server.start()
    yield service_settings.prefect_api_url
    server.stop()


@pytest.fixture(scope="session")
def stack(service_settings: Settings) -> Iterator[Settings]:
    """PostgreSQL, Kafka and the Prefect server, started together once a session.

    Yields the session's settings, which `get_settings()` also returns; every
    service is stopped when the session ends.
    """
    services = Stack(service_settings, ui=False)
    services.up()
    yield service_settings
    services.down()
