"""The local stack: PostgreSQL, Kafka, Prefect and the API, run and reset as one."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from election.settings import Settings, get_settings
from services.api_server import ApiServer
from services.base import Service, ServiceStatus
from services.exceptions import ServiceError
from services.kafka import KafkaBroker
from services.postgres import PostgresServer
from services.prefect_server import PrefectServer

logger = logging.getLogger(__name__)

SERVICE_NAMES = ("postgres", "kafka", "prefect", "api")
"""The services in the order `up` starts them; `down` stops them in reverse."""


class Stack:
    """The local services of the pipeline, as the settings describe them.

    Args:
        settings: Addresses, ports and the data folder; `get_settings()` if None.
        only: Names of the services to act on (postgres, kafka, prefect, api);
            all if None or empty.
        migrate: Whether `up` applies the database migrations once PostgreSQL
            answers.
        ui: Whether the Prefect server serves its web UI.

    Raises:
        ServiceError: when `only` names an unknown service.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        only: Iterable[str] | None = None,
        migrate: bool = True,
        ui: bool = True,
    ) -> None:
        self.settings = settings or get_settings()
        chosen = list(only or SERVICE_NAMES)
        unknown = sorted(set(chosen) - set(SERVICE_NAMES))
        if unknown:
            raise ServiceError(
                "stack",
                f"unknown service {', '.join(unknown)}: choose among "
                f"{', '.join(SERVICE_NAMES)}",
            )
        every: dict[str, Service] = {
            "postgres": PostgresServer(self.settings, migrate=migrate),
            "kafka": KafkaBroker(self.settings),
            "prefect": PrefectServer(self.settings, ui=ui),
            "api": ApiServer(self.settings),
        }
        self.services: list[Service] = [
            every[name] for name in SERVICE_NAMES if name in chosen
        ]

    @property
    def whole(self) -> bool:
        """Whether the stack acts on every service, not a chosen few."""
        return len(self.services) == len(SERVICE_NAMES)

    def up(self, timeout: float | None = None) -> list[ServiceStatus]:
        """Start every service that is not running and wait until all answer.

        The services start in order, each in its own thread, so the slowest one
        sets the pace; a service that runs already is left as it is.

        Args:
            timeout: Longest wait for each service; its own default if None.

        Returns:
            The status of each service once it answers.

        Raises:
            ServiceError: listing every service that did not come up, and why.
        """
        started = time.monotonic()
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=len(self.services)) as pool:
            futures = [
                (service, pool.submit(service.start, timeout))
                for service in self.services
            ]
            failures = []
            for service, future in futures:
                try:
                    future.result()
                except ServiceError as error:
                    failures.append(str(error))
                except Exception as error:
                    logger.exception("%s failed to start", service.name)
                    failures.append(f"{service.name}: {type(error).__name__}: {error}")
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
        for service in reversed(self.services):
            service.stop(timeout)

    def status(self) -> list[ServiceStatus]:
        """The status of each service, in the order of `up`."""
        with ThreadPoolExecutor(max_workers=len(self.services)) as pool:
            return list(pool.map(lambda service: service.status(), self.services))

    def reset(self) -> None:
        """Stop the services and delete their data, keeping the installations.

        The whole stack also deletes the DuckDB warehouse when it lies in the data
        folder; the Kafka jars in the cache stay, so `up` afterwards starts
        afresh without downloading.
        """
        self.down()
        for service in self.services:
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
