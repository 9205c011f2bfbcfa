"""Fixtures of every test: the local services of a test session, on ports of its own."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from election.contracts import RegistrationEvent, VoteEvent, candidate_id
from election.settings import Settings, get_settings
from services import KafkaBroker, PostgresServer, PrefectServer, Stack
from services.process import free_ports
from services.stack import private_settings, stack_environment
from services.watchdog import watch

# No telemetry from Prefect or anything else that honours DO_NOT_TRACK.
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
# NOTE: the session's server creates no scheduled runs: its scheduler would add
# runs of a deployment a test just made, seconds later, racing the test that
# paused it, and a worker would start them beside the run the test started.
os.environ["PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED"] = "false"


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
        return private_settings(data_dir)

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
    variables = stack_environment(settings)

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
                PREFECT_HOME: variables["PREFECT_HOME"],
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


# A Snowflake emulator, for the warehouse and dbt tests

STARTUP_TIMEOUT_S = 30.0


def _wait_until_listening(
    port: int, process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"fakesnow exited with code {process.returncode} before listening on "
                f"port {port}: read {log}"
            )
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(
        f"fakesnow did not listen on port {port} within {STARTUP_TIMEOUT_S:.0f} s: "
        f"read {log}"
    )


@pytest.fixture(scope="session")
def fakesnow_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A fakesnow server in HTTP mode on a free port, for the session; yields the port.

    Its log, and the files PUT into its stages, are in the session's `fakesnow`
    temporary folder.
    """
    (port,) = free_ports(1)
    folder = tmp_path_factory.mktemp("fakesnow")
    log = folder / "fakesnow.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "fakesnow", "-s", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            # fakesnow keeps staged files in a temporary folder it never removes
            env={**os.environ, "TMPDIR": str(folder)},
        )
    try:
        _wait_until_listening(port, process, log)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def emulator(fakesnow_port: int) -> Callable[[], dict[str, Any]]:
    """Makes settings fields that point the Snowflake target at a new fakesnow database.

    fakesnow makes a database the first time a session names it, so each call
    gives a warehouse that shares nothing with the others.
    """

    def fields() -> dict[str, Any]:
        return {
            "warehouse": "snowflake",
            "snowflake_account": "fakesnow",
            "snowflake_user": "fake",
            "snowflake_password": SecretStr("snow"),
            "snowflake_database": f"TEST_{uuid.uuid4().hex[:12].upper()}",
            "snowflake_host": "127.0.0.1",
            "snowflake_port": fakesnow_port,
            "snowflake_protocol": "http",
        }

    return fields


# The staging database and events, for the ingestion and sync tests

ELECTION = "us2020-r10000"
T0 = datetime(2020, 10, 1, 12, 0, 0, 123456, tzinfo=UTC)

MakeRegistration = Callable[..., RegistrationEvent]
MakeVote = Callable[..., VoteEvent]


@pytest.fixture
def db(postgres: Settings) -> Iterator[psycopg.Connection]:
    """A connection to an emptied staging database (autocommit)."""
    with psycopg.connect(postgres.postgres_dsn, autocommit=True) as conn:
        conn.execute(
            "truncate elections, candidates, voters, votes, held_events cascade"
        )
        yield conn


@pytest.fixture
def registration() -> MakeRegistration:
    """Makes a valid registration event; keyword arguments override its fields."""

    def make(**overrides: object) -> RegistrationEvent:
        fields: dict[str, object] = {
            "event_id": uuid.uuid4(),
            "voter_id": uuid.uuid4(),
            "election_id": ELECTION,
            "state": "PA",
            "district": None,
            "occurred_at": T0,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "phone": "(215)-555-0100",
            "gender": "female",
            "birth_date": date(1980, 5, 17),
            "registered_at": T0,
        }
        fields.update(overrides)
        return RegistrationEvent(**fields)

    return make


@pytest.fixture
def vote() -> MakeVote:
    """Makes a valid vote event for DEM; keyword arguments override its fields."""

    def make(
        voter: RegistrationEvent, party: str = "dem", **overrides: object
    ) -> VoteEvent:
        fields: dict[str, object] = {
            "event_id": uuid.uuid4(),
            "voter_id": voter.voter_id,
            "election_id": voter.election_id,
            "state": voter.state,
            "district": voter.district,
            "candidate_id": candidate_id(voter.election_id, party),
            "cast_at": T0 + timedelta(days=30),
        }
        fields.update(overrides)
        return VoteEvent(**fields)

    return make


@pytest.fixture
def write_events(db: psycopg.Connection) -> Callable[..., None]:
    """Writes registration or vote events into the staging database, one batch."""
    from tasks.ingest import Positioned, write_registrations, write_votes

    def write(*events: RegistrationEvent | VoteEvent) -> None:
        with db.transaction():
            batch = [Positioned(event) for event in events]
            if isinstance(events[0], RegistrationEvent):
                write_registrations(db, batch)
            else:
                write_votes(db, batch)

    return write


@pytest.fixture
def read_table_artifact(
    service_settings: Settings,
) -> Callable[[str], list[dict[str, Any]]]:
    """Reads the rows of the newest table artifact of a key from Prefect's API.

    The test itself asks for the Prefect server (`prefect_api` or `stack`).
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    def read(key: str) -> list[dict[str, Any]]:
        with get_client(sync_client=True) as client:
            (artifact,) = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                # the server's default order is by id, a random uuid
                sort=ArtifactSort.CREATED_DESC,
                limit=1,
            )
        data = artifact.data
        return json.loads(data) if isinstance(data, str) else data

    return read
