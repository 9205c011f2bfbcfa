"""The local Kafka broker: one KRaft node (broker and controller) in data_dir/kafka."""

from __future__ import annotations

import base64
import logging
import shutil
import subprocess
import uuid
from xml.sax.saxutils import escape

from election.settings import Settings
from services.base import ServiceStatus, State
from services.exceptions import ServiceError
from services.kafka_install import check_java, install_kafka
from services.process import (
    launch,
    process_alive,
    require_free_port,
    running_pid,
    stop_process,
    tail,
    wait_until,
)
from services.topics import RETENTION_MS, admin_client, broker_answers, ensure_topics

logger = logging.getLogger(__name__)

_MARKER = "kafka.Kafka"
_NODE_ID = 1


def new_cluster_id() -> str:
    """A random cluster id in Kafka's form: 16 bytes in URL-safe base64, unpadded."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


class KafkaBroker:
    """One Kafka broker in KRaft combined mode (broker and controller) in data_dir.

    Its files live in `data_dir/kafka`: `server.properties`, `log4j2.xml`, the
    log segments in `data/`, the logs in `logs/` and the pid in `kafka.pid`.
    When `settings.kafka_bootstrap` names an existing cluster, nothing is started:
    `start` only checks that cluster answers and creates the topics.
    """

    name = "kafka"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.data_dir / "kafka"
        self.data_path = self.home / "data"
        self.logs = self.home / "logs"
        self.config_file = self.home / "server.properties"
        self.log4j_file = self.home / "log4j2.xml"
        self.pid_file = self.home / "kafka.pid"
        self.stdout_log = self.logs / "stdout.log"

    @property
    def address(self) -> str:
        """Bootstrap servers of the broker."""
        return self.settings.kafka_servers

    @property
    def external(self) -> bool:
        """Whether the settings point at an existing cluster instead of ours."""
        return self.settings.kafka_bootstrap is not None

    def start(self, timeout: float | None = None) -> None:
        """Start the broker unless it runs, wait until it answers, create the topics.

        Args:
            timeout: Longest wait in seconds for the broker to answer; 90 by default.

        Raises:
            ServiceError: naming what is missing or why the broker did not answer.
        """
        timeout = 90.0 if timeout is None else timeout
        if self.external:
            self._wait_external(timeout)
        else:
            pid = running_pid(self.pid_file, _MARKER)
            if pid is None:
                pid = self._launch()
            else:
                logger.info("kafka already runs (pid %d) at %s", pid, self.address)
            self._wait_ready(pid, timeout)
        ensure_topics(self.settings)

    def stop(self, timeout: float | None = None) -> None:
        """Stop the local broker (SIGTERM, then SIGKILL after `timeout`, 30 s)."""
        if self.external:
            logger.info("kafka at %s is external: leaving it running", self.address)
            return
        pid = running_pid(self.pid_file, _MARKER)
        if pid is None:
            logger.info("kafka is not running")
        else:
            stop_process(self.name, pid, _MARKER, 30.0 if timeout is None else timeout)
            logger.info("stopped kafka (pid %d)", pid)
        self.pid_file.unlink(missing_ok=True)

    def status(self) -> ServiceStatus:
        """Whether the broker runs and returns its metadata."""
        if self.external:
            healthy = broker_answers(
                admin_client(self.settings, quiet=True), timeout=5.0
            )
            state: State = "healthy" if healthy else "unhealthy"
            return ServiceStatus(self.name, state, self.address, detail="external")
        pid = running_pid(self.pid_file, _MARKER)
        if pid is None:
            return ServiceStatus(self.name, "not running", self.address)
        if broker_answers(admin_client(self.settings, quiet=True), timeout=5.0):
            return ServiceStatus(self.name, "healthy", self.address, pid)
        return ServiceStatus(
            self.name, "unhealthy", self.address, pid, "does not return metadata"
        )

    def remove_data(self) -> None:
        """Delete the broker's configuration, messages and logs; keep the jars.

        Raises:
            ServiceError: when the broker still runs.
        """
        if running_pid(self.pid_file, _MARKER) is not None:
            raise ServiceError(
                self.name, f"cannot delete {self.home} while the broker runs: stop it"
            )
        if self.home.exists():
            shutil.rmtree(self.home)
            logger.info("deleted kafka data in %s", self.home)

    def _launch(self) -> int:
        """Check the machine, write the configuration, format once and start."""
        java = check_java()
        settings = self.settings
        require_free_port(
            self.name, settings.kafka_host, settings.kafka_port, "ELECTION_KAFKA_PORT"
        )
        require_free_port(
            self.name,
            settings.kafka_host,
            settings.kafka_controller_port,
            "ELECTION_KAFKA_CONTROLLER_PORT",
        )
        libs = install_kafka(settings.kafka_version)

        self.logs.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self._server_properties())
        self.log4j_file.write_text(self._log4j_config())
        classpath = f"{libs}/*"
        if not (self.data_path / "meta.properties").exists():
            self._format(java, classpath)

        self.pid_file.unlink(missing_ok=True)
        command = [
            java,
            f"-Xmx{settings.kafka_heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j_file}",
            f"-Dkafka.logs.dir={self.logs}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(self.config_file),
        ]
        pid = launch(
            command, log_file=self.stdout_log, pid_file=self.pid_file, cwd=self.home
        )
        logger.info(
            "started kafka %s (pid %d) at %s, logs in %s",
            settings.kafka_version,
            pid,
            self.address,
            self.logs,
        )
        return pid

    def _format(self, java: str, classpath: str) -> None:
        """Format the KRaft storage with a new cluster id, once per data folder."""
        cluster_id = new_cluster_id()
        result = subprocess.run(
            [
                java,
                f"-Dlog4j2.configurationFile={self.log4j_file}",
                f"-Dkafka.logs.dir={self.logs}",
                "-cp",
                classpath,
                "kafka.tools.StorageTool",
                "format",
                "--cluster-id",
                cluster_id,
                "--config",
                str(self.config_file),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ServiceError(
                self.name,
                f"StorageTool could not format {self.data_path} "
                f"(exit {result.returncode}): delete that folder "
                "(`python -m services reset --only kafka`) and start again",
                log_tail=(result.stdout + result.stderr).strip(),
            )
        logger.info(
            "formatted kafka storage %s as cluster %s", self.data_path, cluster_id
        )

    def _wait_ready(self, pid: int, timeout: float) -> None:
        """Wait until the broker returns metadata, or fail with its log's tail."""
        admin = admin_client(self.settings, quiet=True)
        if wait_until(
            lambda: broker_answers(admin),
            timeout,
            still_starting=lambda: process_alive(pid, _MARKER),
        ):
            logger.info("kafka answers at %s", self.address)
            return
        log_tail = tail(self.stdout_log) or tail(self.logs / "server.log")
        if not process_alive(pid, _MARKER):
            self.pid_file.unlink(missing_ok=True)
            raise ServiceError(
                self.name,
                f"the broker exited while starting: read {self.stdout_log} and "
                f"{self.logs / 'server.log'}",
                log_tail=log_tail,
            )
        raise ServiceError(
            self.name,
            f"the broker (pid {pid}) does not answer at {self.address} after "
            f"{timeout:.0f} s: read {self.logs / 'server.log'}; if it was started "
            "with other ports, run `python -m services down --only kafka` and start "
            "it again",
            log_tail=log_tail,
        )

    def _wait_external(self, timeout: float) -> None:
        """Wait until the existing cluster of ELECTION_KAFKA_BOOTSTRAP answers."""
        admin = admin_client(self.settings, quiet=True)
        if not wait_until(lambda: broker_answers(admin), min(timeout, 30.0)):
            raise ServiceError(
                self.name,
                "no Kafka cluster answers at "
                f"ELECTION_KAFKA_BOOTSTRAP={self.address!r}: check the address, or "
                "unset it to run the local broker",
            )
        logger.info("kafka cluster at %s answers", self.address)

    def _advertised_host(self) -> str:
        """The host clients and the controller quorum are told to connect to."""
        host = self.settings.kafka_host
        return "127.0.0.1" if host in ("", "0.0.0.0") else host

    def _server_properties(self) -> str:
        """The broker configuration for the current settings."""
        s = self.settings
        advertised = self._advertised_host()
        lines = {
            "process.roles": "broker,controller",
            "node.id": _NODE_ID,
            "controller.quorum.voters": (
                f"{_NODE_ID}@{advertised}:{s.kafka_controller_port}"
            ),
            "listeners": (
                f"PLAINTEXT://{s.kafka_host}:{s.kafka_port},"
                f"CONTROLLER://{s.kafka_host}:{s.kafka_controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://{advertised}:{s.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": (
                "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
            ),
            "log.dirs": self.data_path,
            "num.partitions": s.kafka_partitions,
            "default.replication.factor": 1,
            "min.insync.replicas": 1,
            "offsets.topic.replication.factor": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "share.coordinator.state.topic.replication.factor": 1,
            "share.coordinator.state.topic.min.isr": 1,
            "auto.create.topics.enable": "false",
            # NOTE: one local node: consumers join without delay, and the session of
            # a killed broker expires in 3 s, so that its restart registers quickly.
            "group.initial.rebalance.delay.ms": 0,
            "broker.heartbeat.interval.ms": 1000,
            "broker.session.timeout.ms": 3000,
            "log.retention.ms": RETENTION_MS,
        }
        body = "\n".join(f"{key}={value}" for key, value in lines.items())
        return (
            "# Written by services/kafka.py at every start: edit the settings, not "
            "this file.\n"
            "# Topics are created on purpose with their retention, never by a "
            "producer's typo.\n" + body + "\n"
        )

    def _log4j_config(self) -> str:
        """log4j2 configuration: INFO to logs/server.log, warnings to stdout.log."""
        logs = escape(str(self.logs))
        pattern = "[%d] %p %m (%c)%n"
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by services/kafka.py at every start. -->
<Configuration status="WARN" shutdownHook="disable">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="{pattern}"/>
      <ThresholdFilter level="WARN"/>
    </Console>
    <RollingFile name="server" fileName="{logs}/server.log"
                 filePattern="{logs}/server.log.%i">
      <PatternLayout pattern="{pattern}"/>
      <Policies><SizeBasedTriggeringPolicy size="50 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Root level="INFO">
      <AppenderRef ref="server"/>
      <AppenderRef ref="stdout"/>
    </Root>
  </Loggers>
</Configuration>
"""
