"""Tests of what the services say when the machine or the settings stand in the way."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from election.settings import Settings, get_settings
from services import KafkaBroker, PostgresServer, PrefectServer, ServiceError, Stack
from services.__main__ import main
from services.kafka_install import install_kafka


@pytest.fixture
def settings(make_service_settings: Callable[[], Settings]) -> Settings:
    """Settings of services that nothing has started."""
    return make_service_settings()


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port that a socket of the test listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has already exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


class TestMissingTools:
    def test_kafka_without_java_names_java(
        self, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(ServiceError, match="no `java` on PATH"):
            KafkaBroker(settings).start()

    def test_install_without_maven_names_maven(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(ServiceError, match="no `mvn` on PATH"):
            install_kafka("4.1.1")


class TestTakenPorts:
    def test_kafka_names_the_taken_port(
        self, settings: Settings, taken_port: int
    ) -> None:
        settings = settings.model_copy(update={"kafka_port": taken_port})
        with pytest.raises(ServiceError, match=f"{taken_port}.*ELECTION_KAFKA_PORT"):
            KafkaBroker(settings).start()

    def test_postgres_names_the_taken_port(
        self, settings: Settings, taken_port: int
    ) -> None:
        settings = settings.model_copy(update={"postgres_port": taken_port})
        with pytest.raises(ServiceError, match=f"{taken_port}.*ELECTION_POSTGRES_PORT"):
            PostgresServer(settings, migrate=False).start()

    def test_prefect_names_the_taken_port(
        self, settings: Settings, taken_port: int
    ) -> None:
        settings = settings.model_copy(update={"prefect_port": taken_port})
        with pytest.raises(ServiceError, match=f"{taken_port}.*ELECTION_PREFECT_PORT"):
            PrefectServer(settings).start()


class TestStaleState:
    def test_stale_pid_files_read_as_not_running(
        self, settings: Settings, dead_pid: int
    ) -> None:
        for pid_file in (
            settings.data_dir / "kafka" / "kafka.pid",
            settings.data_dir / "prefect" / "server.pid",
            settings.data_dir / "postgres" / "data" / "postmaster.pid",
            settings.data_dir / "api" / "api.pid",
        ):
            pid_file.parent.mkdir(parents=True)
            pid_file.write_text(f"{dead_pid}\n")

        states = {status.name: status.state for status in Stack(settings).status()}

        assert states == dict.fromkeys(
            ("postgres", "kafka", "prefect", "api"), "not running"
        )

    def test_down_of_a_stack_that_never_ran_does_nothing(
        self, settings: Settings
    ) -> None:
        Stack(settings).down()


class TestReset:
    def test_reset_deletes_data_and_warehouse_but_keeps_jars(
        self, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        jar = (
            tmp_path / "cache" / "election-pipeline" / "kafka-4.1.1" / "libs" / "k.jar"
        )
        jar.parent.mkdir(parents=True)
        jar.touch()
        data = settings.data_dir
        for folder in ("postgres", "kafka/data", "prefect"):
            (data / folder).mkdir(parents=True)
        settings.warehouse_path.touch()

        Stack(settings).reset()

        assert sorted(path.name for path in data.iterdir()) == []
        assert jar.exists()

    def test_reset_of_one_service_keeps_the_warehouse(self, settings: Settings) -> None:
        (settings.data_dir / "kafka").mkdir()
        settings.warehouse_path.touch()

        Stack(settings, only=["kafka"]).reset()

        assert not (settings.data_dir / "kafka").exists()
        assert settings.warehouse_path.exists()


class TestChoiceOfServices:
    def test_unknown_service_is_refused_with_the_known_ones(
        self, settings: Settings
    ) -> None:
        with pytest.raises(ServiceError, match="redis.*postgres, kafka, prefect"):
            Stack(settings, only=["redis"])

    def test_cli_refuses_an_unknown_service(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as exit_info:
            main(["up", "--only", "kafka,redis"])
        assert exit_info.value.code == 2
        assert "unknown service 'redis'" in capsys.readouterr().err

    def test_cli_status_of_stopped_services_exits_one(
        self,
        settings: Settings,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("ELECTION_DATA_DIR", str(settings.data_dir))
        monkeypatch.setenv("ELECTION_KAFKA_PORT", str(settings.kafka_port))
        get_settings.cache_clear()
        try:
            code = main(["status", "--only", "kafka"])
        finally:
            get_settings.cache_clear()
        assert code == 1
        assert capsys.readouterr().out.split()[:2] == ["kafka", "not"]
