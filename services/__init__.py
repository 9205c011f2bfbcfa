"""Local services of the pipeline: PostgreSQL, Kafka, Prefect, the API, a worker."""

from services.api_server import ApiServer
from services.base import ServiceStatus
from services.exceptions import ServiceError
from services.kafka import KafkaBroker
from services.postgres import PostgresServer
from services.prefect_server import PrefectServer
from services.stack import OPTIONAL_NAMES, SERVICE_NAMES, Stack
from services.worker import WorkerService

__all__ = [
    "OPTIONAL_NAMES",
    "SERVICE_NAMES",
    "ApiServer",
    "KafkaBroker",
    "PostgresServer",
    "PrefectServer",
    "ServiceError",
    "ServiceStatus",
    "Stack",
    "WorkerService",
]
