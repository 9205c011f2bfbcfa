"""Local services of the pipeline: PostgreSQL, Kafka, the Prefect server and the API."""

from services.api_server import ApiServer
from services.base import ServiceStatus
from services.exceptions import ServiceError
from services.kafka import KafkaBroker
from services.postgres import PostgresServer
from services.prefect_server import PrefectServer
from services.stack import SERVICE_NAMES, Stack

__all__ = [
    "SERVICE_NAMES",
    "ApiServer",
    "KafkaBroker",
    "PostgresServer",
    "PrefectServer",
    "ServiceError",
    "ServiceStatus",
    "Stack",
]
