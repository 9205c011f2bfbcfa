"""Local services of the pipeline: PostgreSQL, Kafka and the Prefect server."""

from services.base import ServiceStatus
from services.exceptions import ServiceError
from services.kafka import KafkaBroker
from services.postgres import PostgresServer
from services.prefect_server import PrefectServer
from services.stack import SERVICE_NAMES, Stack

__all__ = [
    "SERVICE_NAMES",
    "KafkaBroker",
    "PostgresServer",
    "PrefectServer",
    "ServiceError",
    "ServiceStatus",
    "Stack",
]
