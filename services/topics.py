"""Kafka administration: the health probe and the event and dead-letter topics."""

from __future__ import annotations

import logging
from concurrent.futures import Future

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourceType,
)

from election.contracts import TOPICS, dead_letter_topic
from election.settings import Settings
from services.exceptions import ServiceError

logger = logging.getLogger(__name__)

RETENTION_MS = 7 * 24 * 3600 * 1000
"""How long the event topics keep a message: a week, to replay a consumer."""
DEAD_LETTER_RETENTION_MS = 30 * 24 * 3600 * 1000
"""How long the dead-letter topics keep a message: a month, for a person to look."""

_ERROR_LEVEL = 3
"""librdkafka's syslog level for admin clients: errors only, no notices at exit."""
_QUIET_LEVEL = 2
"""Level of the health probes, whose refused connections are expected."""


def topic_retention(topic: str) -> int:
    """Retention in milliseconds that `topic` is created with."""
    if topic in {dead_letter_topic(source) for source in TOPICS}:
        return DEAD_LETTER_RETENTION_MS
    return RETENTION_MS


def wanted_topics() -> list[str]:
    """The event topics and their dead-letter topics, in that order."""
    return [*TOPICS, *(dead_letter_topic(topic) for topic in TOPICS)]


def admin_client(settings: Settings, quiet: bool = False) -> AdminClient:
    """An admin client of the configured cluster; `quiet` mutes connection errors."""
    config: dict[str, str | int | float | bool] = {
        "bootstrap.servers": settings.kafka_servers,
        "log_level": _QUIET_LEVEL if quiet else _ERROR_LEVEL,
    }
    return AdminClient(config)


def broker_answers(admin: AdminClient, timeout: float = 2.0) -> bool:
    """Whether the cluster behind `admin` returns its metadata within `timeout`."""
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException:
        return False
    return bool(metadata.brokers)


def ensure_topics(settings: Settings, timeout: float = 30.0) -> None:
    """Create the event and dead-letter topics that are missing; keep the others.

    New topics get `settings.kafka_partitions` partitions and their retention;
    an existing topic with fewer partitions is widened, and its retention is set.

    Raises:
        ServiceError: when the broker refuses to create or change a topic.
    """
    admin = admin_client(settings)
    try:
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException as error:
        raise ServiceError(
            "kafka",
            f"cannot list the topics at {settings.kafka_servers}: "
            f"{error.args[0].str()}; check the broker with `python -m services "
            "status`",
        ) from error
    wanted = wanted_topics()
    partitions = settings.kafka_partitions

    missing = [
        NewTopic(
            topic,
            num_partitions=partitions,
            replication_factor=-1,
            config={"retention.ms": str(topic_retention(topic))},
        )
        for topic in wanted
        if topic not in existing
    ]
    if missing:
        futures = admin.create_topics(missing, operation_timeout=timeout)
        for topic, future in futures.items():
            _check(future, f"create topic {topic!r}", KafkaError.TOPIC_ALREADY_EXISTS)
        logger.info(
            "created %d topics with %d partitions: %s",
            len(missing),
            partitions,
            ", ".join(futures),
        )

    present = {
        topic: len(existing[topic].partitions) for topic in wanted if topic in existing
    }
    _widen(admin, present, partitions)
    _set_retention(admin, list(present))


def _set_retention(admin: AdminClient, topics: list[str]) -> None:
    """Set the retention of existing `topics` to the one they are created with."""
    if not topics:
        return
    resources = [
        ConfigResource(
            ResourceType.TOPIC,
            topic,
            incremental_configs=[
                ConfigEntry(
                    "retention.ms",
                    str(topic_retention(topic)),
                    incremental_operation=AlterConfigOpType.SET,
                )
            ],
        )
        for topic in topics
    ]
    for resource, future in admin.incremental_alter_configs(resources).items():
        _check(future, f"set the retention of topic {resource.name!r}")


def _widen(admin: AdminClient, current: dict[str, int], partitions: int) -> None:
    """Give every topic in `current` at least `partitions` partitions."""
    narrow = [
        NewPartitions(t, partitions) for t, n in current.items() if n < partitions
    ]
    if narrow:
        for topic, future in admin.create_partitions(narrow).items():
            _check(future, f"widen topic {topic!r} to {partitions} partitions")
            logger.info("widened topic %s to %d partitions", topic, partitions)
    for topic, count in current.items():
        if count > partitions:
            logger.warning(
                "topic %s has %d partitions, more than ELECTION_KAFKA_PARTITIONS=%d: "
                "Kafka cannot remove partitions, so it keeps them; reset the stack "
                "to start with fewer",
                topic,
                count,
                partitions,
            )


def _check(future: Future[object], action: str, tolerated: int | None = None) -> None:
    """Wait for an admin `future` and turn its failure into a ServiceError."""
    try:
        future.result()
    except KafkaException as error:
        kafka_error = error.args[0]
        if tolerated is not None and kafka_error.code() == tolerated:
            return
        raise ServiceError(
            "kafka", f"the broker refused to {action}: {kafka_error.str()}"
        ) from error
