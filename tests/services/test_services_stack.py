"""Tests of the session's running services: health, topics, messages and queries."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
import uuid

import psycopg
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from election.contracts import TOPICS, dead_letter_topic
from election.settings import PROJECT_ROOT, Settings, get_settings
from services import Stack
from services.topics import DEAD_LETTER_RETENTION_MS, RETENTION_MS

pytestmark = pytest.mark.slow


class TestStackHealth:
    def test_every_service_reports_healthy(self, stack: Settings) -> None:
        statuses = Stack(stack).status()

        assert [(s.name, s.state) for s in statuses] == [
            ("postgres", "healthy"),
            ("kafka", "healthy"),
            ("prefect", "healthy"),
            ("api", "healthy"),
        ]

    def test_up_again_keeps_the_running_processes(self, stack: Settings) -> None:
        before = {s.name: s.pid for s in Stack(stack).status()}

        after = {s.name: s.pid for s in Stack(stack, ui=False).up()}

        assert after == before

    def test_cli_status_prints_healthy_lines_and_exits_zero(
        self, stack: Settings
    ) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "services", "status"],
            cwd=PROJECT_ROOT,
            env=os.environ,
            capture_output=True,
            text=True,
            timeout=60,
        )

        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert [line.split()[:2] for line in lines] == [
            ["postgres", "healthy"],
            ["kafka", "healthy"],
            ["prefect", "healthy"],
            ["api", "healthy"],
        ]
        assert f"127.0.0.1:{stack.kafka_port}" in lines[1]

    def test_get_settings_points_at_the_session_services(self, stack: Settings) -> None:
        settings = get_settings()

        assert settings.kafka_servers == stack.kafka_servers
        assert settings.postgres_dsn == stack.postgres_dsn
        assert settings.prefect_api_url == stack.prefect_api_url


class TestKafkaBroker:
    def test_event_and_dead_letter_topics_have_the_configured_partitions(
        self, kafka: Settings
    ) -> None:
        admin = AdminClient({"bootstrap.servers": kafka.kafka_servers})
        topics = admin.list_topics(timeout=10).topics

        for topic in (*TOPICS, *map(dead_letter_topic, TOPICS)):
            assert len(topics[topic].partitions) == kafka.kafka_partitions, topic

    def test_topics_keep_messages_for_their_retention(self, kafka: Settings) -> None:
        admin = AdminClient({"bootstrap.servers": kafka.kafka_servers})
        resources = [
            ConfigResource(ResourceType.TOPIC, topic)
            for topic in ("vote", dead_letter_topic("vote"))
        ]
        configs = {
            resource.name: future.result()["retention.ms"].value
            for resource, future in admin.describe_configs(resources).items()
        }

        assert configs == {
            "vote": str(RETENTION_MS),
            "vote.dead-letter": str(DEAD_LETTER_RETENTION_MS),
        }

    def test_message_round_trips_through_a_topic(self, kafka: Settings) -> None:
        topic = f"services-test-{uuid.uuid4().hex[:8]}"
        admin = AdminClient({"bootstrap.servers": kafka.kafka_servers})
        admin.create_topics([NewTopic(topic, num_partitions=1)])[topic].result()
        producer = Producer({"bootstrap.servers": kafka.kafka_servers})
        producer.produce(topic, key=b"voter-1", value=b'{"hello": "kafka"}')
        assert producer.flush(10) == 0

        consumer = Consumer(
            {
                "bootstrap.servers": kafka.kafka_servers,
                "group.id": topic,
                "auto.offset.reset": "earliest",
            }
        )
        consumer.subscribe([topic])
        try:
            message = None
            for _ in range(30):
                message = consumer.poll(1.0)
                if message is not None and message.error() is None:
                    break
        finally:
            consumer.close()

        assert message is not None and message.error() is None
        assert (message.key(), message.value()) == (b"voter-1", b'{"hello": "kafka"}')


class TestPostgresServer:
    def test_database_answers_as_the_project_role(self, postgres: Settings) -> None:
        with psycopg.connect(postgres.postgres_dsn) as conn:
            row = conn.execute("select current_user, current_database()").fetchone()

        assert row == (postgres.postgres_user, postgres.postgres_db)

    def test_migrations_are_applied(self, postgres: Settings) -> None:
        with psycopg.connect(postgres.postgres_dsn) as conn:
            revision = conn.execute(
                "select version_num from alembic_version"
            ).fetchone()

        assert revision is not None


class TestPrefectServer:
    def test_health_answers(self, prefect_api: str) -> None:
        with urllib.request.urlopen(f"{prefect_api}/health", timeout=10) as reply:
            assert reply.status == 200

    def test_prefect_clients_here_use_the_session_server(
        self, prefect_api: str
    ) -> None:
        from prefect.settings import PREFECT_API_URL

        assert PREFECT_API_URL.value() == prefect_api
