"""The local stack: PostgreSQL, Kafka, Prefect, the API and a worker, run as one."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from election.settings import Settings, get_settings
from services.api_server import ApiServer
from services.base import Service, ServiceStatus
from services.exceptions import ServiceError
from services.kafka import KafkaBroker
from services.postgres import PostgresServer
from services.prefect_server import PrefectServer, prefect_home
from services.process import free_ports
from services.worker import WorkerService

logger = logging.getLogger(__name__)

SERVICE_NAMES = ("postgres", "kafka", "prefect", "api")
"""The services in the order `up` starts them; `down` stops them in reverse."""
OPTIONAL_NAMES = ("worker",)
"""Services that `up` starts only when asked, once the others answer."""


class Stack:
    """The local services of the pipeline, as the settings describe them.

    Args:
        settings: Addresses, ports and the data folder; `get_settings()` if None.
        only: Names of the services to act on (postgres, kafka, prefect, api,
            worker); those of SERVICE_NAMES if None or empty.
        migrate: Whether `up` applies the database migrations once PostgreSQL
            answers.
        ui: Whether the Prefect server serves its web UI.
        worker: Whether `up` also starts a worker of the `election-process`
            pool, after the Prefect server answers. The whole stack stops,
            reports and resets a running worker in any case.

    Attributes:
        services: The services that `up` starts, in order.
        members: The services that `down`, `status` and `reset` act on: those,
            and a worker that the whole stack did not start.

    Raises:
        ServiceError: when `only` names an unknown service.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        only: Iterable[str] | None = None,
        migrate: bool = True,
        ui: bool = True,
        worker: bool = False,
    ) -> None:
        self.settings = settings or get_settings()
        known = SERVICE_NAMES + OPTIONAL_NAMES
        chosen = [*(only or SERVICE_NAMES), *(["worker"] if worker else [])]
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            raise ServiceError(
                "stack",
                f"unknown service {', '.join(unknown)}: choose among "
                f"{', '.join(known)}",
            )
        every: dict[str, Service] = {
            "postgres": PostgresServer(self.settings, migrate=migrate),
            "kafka": KafkaBroker(self.settings),
            "prefect": PrefectServer(self.settings, ui=ui),
            "api": ApiServer(self.settings),
            "worker": WorkerService(self.settings),
        }
        self.services: list[Service] = [every[name] for name in known if name in chosen]
        idle = [every[name] for name in OPTIONAL_NAMES if name not in chosen]
        self.members: list[Service] = self.services + (idle if self.whole else [])

    @property
    def whole(self) -> bool:
        """Whether the stack acts on every service, not a chosen few."""
        names = {service.name for service in self.services}
        return names.issuperset(SERVICE_NAMES)

    def up(self, timeout: float | None = None) -> list[ServiceStatus]:
        """Start every service that is not running and wait until all answer.

        The services start in order, each in its own thread, so the slowest one
        sets the pace; the worker starts after them, since it needs the Prefect
        server. A service that runs already is left as it is.

        Args:
            timeout: Longest wait for each service; its own default if None.

        Returns:
            The status of each service once it answers.

        Raises:
            ServiceError: listing every service that did not come up, and why.
        """
        started = time.monotonic()
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        first = [s for s in self.services if s.name not in OPTIONAL_NAMES]
        failures = _start(first, timeout)
        if not failures:
            then = [s for s in self.services if s.name in OPTIONAL_NAMES]
            failures = _start(then, timeout)
        if failures:
            raise ServiceError("stack", "could not start:\n" + "\n".join(failures))
        logger.info(
            "%d services up in %.1f s", len(self.services), time.monotonic() - started
        )
        return self.status()

    def down(self, timeout: float | None = None) -> None:
        """Stop every running service, in the reverse order of `up`.

        Args:
            timeout: Seconds each service gets before it is killed; its own
                default if None.
        """
        for service in reversed(self.members):
            service.stop(timeout)

    def status(self) -> list[ServiceStatus]:
        """The status of each service, in the order of `up`.

        A worker that this stack would not start is listed only while it runs.
        """
        with ThreadPoolExecutor(max_workers=len(self.members)) as pool:
            statuses = list(pool.map(lambda service: service.status(), self.members))
        started = {service.name for service in self.services}
        return [s for s in statuses if s.name in started or s.state != "not running"]

    def reset(self) -> None:
        """Stop the services and delete their data, keeping the installations.

        The whole stack also deletes the DuckDB warehouse when it lies in the data
        folder; the Kafka jars in the cache stay, so `up` afterwards starts
        afresh without downloading.
        """
        self.down()
        for service in self.members:
            service.remove_data()
        if self.whole:
            self._remove_warehouse()

    def _remove_warehouse(self) -> None:
        """Delete the DuckDB warehouse file and its write-ahead log in data_dir."""
        warehouse = self.settings.warehouse_path
        data_dir = self.settings.data_dir.resolve()
        if not warehouse.resolve().is_relative_to(data_dir):
            logger.info(
                "keeping the warehouse %s: it lies outside the data folder %s",
                warehouse,
                data_dir,
            )
            return
        from warehouse.duckdb_target import published_path

        published = published_path(warehouse)
        for path in (
            warehouse,
            warehouse.with_name(warehouse.name + ".wal"),
            warehouse.with_name(warehouse.name + ".lock"),
            published,
        ):
            if path.exists():
                path.unlink()
                logger.info("deleted warehouse file %s", path)


def _start(services: list[Service], timeout: float | None) -> list[str]:
    """Start `services` together, one thread each; returns why each one failed."""
    failures: list[str] = []
    if not services:
        return failures
    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        futures = [
            (service, pool.submit(service.start, timeout)) for service in services
        ]
        for service, future in futures:
            try:
                future.result()
            except ServiceError as error:
                failures.append(str(error))
            except Exception as error:
                logger.exception("%s failed to start", service.name)
                failures.append(f"{service.name}: {type(error).__name__}: {error}")
    return failures


def private_settings(data_dir: Path) -> Settings:
    """Settings of a stack of its own (tests, benchmarks): free ports, `data_dir`.

    Every service is a local one, whatever ELECTION_* says, so the stack never
    touches one on the default ports.
    """
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


def stack_environment(settings: Settings) -> dict[str, str]:
    """Variables that point `get_settings()`, Prefect and child processes at it."""
    return {
        "ELECTION_DATA_DIR": str(settings.data_dir),
        "ELECTION_POSTGRES_PORT": str(settings.postgres_port),
        "ELECTION_KAFKA_PORT": str(settings.kafka_port),
        "ELECTION_KAFKA_CONTROLLER_PORT": str(settings.kafka_controller_port),
        "ELECTION_PREFECT_PORT": str(settings.prefect_port),
        "ELECTION_API_PORT": str(settings.api_port),
        "PREFECT_API_URL": settings.prefect_api_url,
        "PREFECT_HOME": str(prefect_home(settings)),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
