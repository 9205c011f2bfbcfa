"""The local PostgreSQL server: Debian's binaries, one cluster in data_dir/postgres."""

from __future__ import annotations

import grp
import logging
import os
import pwd
import shutil
import stat
import subprocess
from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from election.settings import Settings
from services.base import ServiceStatus, State
from services.exceptions import ServiceError
from services.postgres_install import find_binaries, install_binaries
from services.process import (
    process_alive,
    require_free_port,
    stop_process,
    tail,
    wait_until,
)

logger = logging.getLogger(__name__)

SYSTEM_USER = "postgres"
"""System user that runs the server when we are root: PostgreSQL refuses root."""
SUPERUSER = "postgres"
"""Bootstrap superuser of the cluster, whoever runs initdb."""

_MARKER = "postgres"
_CONFIG_NAME = "election.conf"


def apply_migrations(settings: Settings) -> None:
    """Bring the staging database's schema to the newest migration."""
    # NOTE: imported here so that `status`, `down` and `reset` work without
    # loading the database layer and its migrations.
    from election.db import upgrade

    upgrade(settings)


class PostgresServer:
    """One PostgreSQL cluster in `data_dir/postgres`, reached over TCP with trust.

    `data/` holds the cluster (and its unix socket), `postgres.log` the server
    log. When we are root, the server runs as the `postgres` system user, which
    owns `data_dir/postgres`. With `settings.database_url` set, nothing is
    started: `start` only checks that database answers.
    """

    name = "postgres"

    def __init__(self, settings: Settings, migrate: bool = True) -> None:
        self.settings = settings
        self.migrate = migrate
        self.home = settings.data_dir / "postgres"
        self.pgdata = self.home / "data"
        self.log_file = self.home / "postgres.log"

    @property
    def address(self) -> str:
        """Host, port and database of the server, without credentials."""
        if self.external:
            parts = conninfo_to_dict(self.settings.postgres_dsn)
            return (
                f"{parts.get('host')}:{parts.get('port', 5432)}/{parts.get('dbname')}"
            )
        return f"{self.settings.postgres_host}:{self.settings.postgres_port}"

    @property
    def external(self) -> bool:
        """Whether the settings point at an existing database instead of ours."""
        return not self.settings.uses_local_postgres

    def start(self, timeout: float | None = None) -> None:
        """Start the server unless it runs, create the role and database, migrate.

        Args:
            timeout: Longest wait in seconds for the server to answer; 60 by default.

        Raises:
            ServiceError: naming what is missing or why the server did not answer.
        """
        timeout = 60.0 if timeout is None else timeout
        if self.external:
            if not wait_until(self._answers, min(timeout, 30.0)):
                raise ServiceError(
                    self.name,
                    "the database of ELECTION_DATABASE_URL does not answer: check "
                    "the URL, or unset it to run the local server",
                )
            logger.info("external postgres database answers")
        else:
            pid = self.running_pid()
            if pid is None:
                self._launch(timeout)
            else:
                logger.info("postgres already runs (pid %d) at %s", pid, self.address)
            self._wait_ready(timeout)
            self._create_role_and_database()
        if self.migrate:
            apply_migrations(self.settings)
            logger.info("applied migrations to %s", self.settings.postgres_db)

    def stop(self, timeout: float | None = None) -> None:
        """Stop the local server with `pg_ctl stop -m fast`, harder if it hangs."""
        timeout = 30.0 if timeout is None else timeout
        if self.external:
            logger.info("postgres is external: leaving it running")
            return
        pid = self.running_pid()
        if pid is None:
            logger.info("postgres is not running")
            return
        logger.info("stopping postgres (pid %d)", pid)
        bin_dir = find_binaries(self._data_version())
        if bin_dir is not None:
            for mode in ("fast", "immediate"):
                result = self._pg_ctl(bin_dir, "stop", "-m", mode, timeout=timeout)
                if result.returncode == 0:
                    logger.info("stopped postgres (pid %d)", pid)
                    return
                logger.warning(
                    "pg_ctl stop -m %s failed (exit %d): %s",
                    mode,
                    result.returncode,
                    result.stderr.strip(),
                )
        stop_process(self.name, pid, _MARKER, timeout)

    def status(self) -> ServiceStatus:
        """Whether the server runs and answers `select 1` as the project's role."""
        if self.external:
            state: State = "healthy" if self._answers() else "unhealthy"
            return ServiceStatus(self.name, state, self.address, detail="external")
        pid = self.running_pid()
        if pid is None:
            return ServiceStatus(self.name, "not running", self.address)
        if self._answers():
            return ServiceStatus(self.name, "healthy", self.address, pid)
        return ServiceStatus(
            self.name,
            "unhealthy",
            self.address,
            pid,
            f"does not answer as {self.settings.postgres_user}"
            f"@{self.settings.postgres_db}",
        )

    def remove_data(self) -> None:
        """Delete the cluster and its log.

        Raises:
            ServiceError: when the server still runs.
        """
        if self.running_pid() is not None:
            raise ServiceError(
                self.name, f"cannot delete {self.home} while the server runs: stop it"
            )
        if self.home.exists():
            shutil.rmtree(self.home)
            logger.info("deleted postgres data in %s", self.home)

    def running_pid(self) -> int | None:
        """Pid of the postmaster of our cluster, from postmaster.pid, or None."""
        try:
            first_line = (self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0]
            pid = int(first_line)
        except (FileNotFoundError, ValueError):
            return None
        return pid if process_alive(pid, _MARKER) else None

    def _launch(self, timeout: float) -> None:
        """Check the port, find or install the binaries, initdb once, pg_ctl start."""
        settings = self.settings
        require_free_port(
            self.name,
            settings.postgres_host,
            settings.postgres_port,
            "ELECTION_POSTGRES_PORT",
        )
        bin_dir = find_binaries(self._data_version()) or install_binaries()
        self._prepare_home()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(bin_dir)
        self._write_config()

        result = self._pg_ctl(bin_dir, "start", "-l", self.log_file, timeout=timeout)
        if result.returncode != 0:
            raise ServiceError(
                self.name,
                f"pg_ctl start failed (exit {result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}; "
                f"read {self.log_file}",
                log_tail=tail(self.log_file),
            )
        logger.info(
            "started postgres %s at %s, log in %s",
            bin_dir.parent.name,
            self.address,
            self.log_file,
        )

    def _data_version(self) -> str | None:
        """Major version of the existing cluster, or None before initdb."""
        try:
            return (self.pgdata / "PG_VERSION").read_text().strip()
        except (FileNotFoundError, PermissionError):
            return None

    def _prepare_home(self) -> None:
        """Create data_dir/postgres, owned by the postgres user when we are root."""
        self.home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        try:
            account = pwd.getpwnam(SYSTEM_USER)
        except KeyError as error:
            raise ServiceError(
                self.name,
                f"PostgreSQL refuses to run as root and there is no {SYSTEM_USER!r} "
                f"system user to run it: create one (useradd --system {SYSTEM_USER}) "
                "or run as a normal user",
            ) from error
        for path in (self.home, *self.home.rglob("*")):
            os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
        blocked = _first_unreachable(self.home, account)
        if blocked is not None:
            raise ServiceError(
                self.name,
                f"the {SYSTEM_USER} user cannot reach {self.home} because {blocked} "
                f"is closed to it (mode {stat.filemode(blocked.stat().st_mode)}): "
                f"grant passage with `chmod o+x {blocked}`, or set ELECTION_DATA_DIR "
                "to a folder under an open one",
            )

    def _initdb(self, bin_dir: Path) -> None:
        """Create the cluster: UTF-8, trust for local and localhost connections."""
        result = self._run(
            [
                bin_dir / "initdb",
                "-D",
                self.pgdata,
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ],
        )
        if result.returncode != 0:
            raise ServiceError(
                self.name,
                f"initdb into {self.pgdata} failed (exit {result.returncode}): delete "
                "it (`python -m services reset --only postgres`) and start again",
                log_tail=(result.stdout + result.stderr).strip(),
            )
        with (self.pgdata / "postgresql.conf").open("a") as config:
            config.write(f"\ninclude_if_exists = '{_CONFIG_NAME}'\n")
        logger.info("initialised a postgres cluster in %s", self.pgdata)

    def _write_config(self) -> None:
        """Write the address, port and socket folder of the current settings."""
        settings = self.settings
        path = self.pgdata / _CONFIG_NAME
        path.write_text(
            "# Written by services/postgres.py at every start: edit the settings.\n"
            f"listen_addresses = '{settings.postgres_host}'\n"
            f"port = {settings.postgres_port}\n"
            f"unix_socket_directories = '{self.pgdata}'\n"
        )
        if os.geteuid() == 0:
            account = pwd.getpwnam(SYSTEM_USER)
            os.chown(path, account.pw_uid, account.pw_gid)

    def _run(self, command: Sequence[str | Path]) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool, as the postgres user when we are root."""
        args = [str(part) for part in command]
        if os.geteuid() == 0:
            args = ["runuser", "-u", SYSTEM_USER, "--", *args]
        return subprocess.run(
            args, capture_output=True, text=True, check=False, cwd="/"
        )

    def _pg_ctl(
        self, bin_dir: Path, action: str, *args: str | Path, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Run `pg_ctl <action>` on our cluster and wait up to `timeout` seconds."""
        return self._run(
            [
                bin_dir / "pg_ctl",
                action,
                "-D",
                self.pgdata,
                *args,
                "-w",
                "-t",
                str(int(timeout)),
            ]
        )

    def _admin_dsn(self) -> str:
        """Address of the maintenance database as the bootstrap superuser."""
        settings = self.settings
        return (
            f"postgresql://{SUPERUSER}@{settings.postgres_host}:"
            f"{settings.postgres_port}/postgres"
        )

    def _answers(self) -> bool:
        """Whether the project's database answers `select 1`."""
        try:
            with psycopg.connect(self.settings.postgres_dsn, connect_timeout=3) as conn:
                conn.execute("select 1")
        except psycopg.Error:
            return False
        return True

    def _wait_ready(self, timeout: float) -> None:
        """Wait until the server accepts connections as its superuser."""

        def accepts() -> bool:
            try:
                with psycopg.connect(self._admin_dsn(), connect_timeout=3):
                    return True
            except psycopg.Error:
                return False

        if not wait_until(
            accepts, timeout, still_starting=lambda: bool(self.running_pid())
        ):
            raise ServiceError(
                self.name,
                f"the server does not accept connections at {self.address} after "
                f"{timeout:.0f} s: read {self.log_file}",
                log_tail=tail(self.log_file),
            )

    def _create_role_and_database(self) -> None:
        """Create the project's role (a superuser) and database unless they exist."""
        user, database = self.settings.postgres_user, self.settings.postgres_db
        with psycopg.connect(self._admin_dsn(), autocommit=True) as conn:
            if not conn.execute(
                "select 1 from pg_roles where rolname = %s", (user,)
            ).fetchone():
                conn.execute(
                    sql.SQL("create role {} with login superuser").format(
                        sql.Identifier(user)
                    )
                )
                logger.info("created postgres role %s", user)
            if not conn.execute(
                "select 1 from pg_database where datname = %s", (database,)
            ).fetchone():
                conn.execute(
                    sql.SQL("create database {} owner {}").format(
                        sql.Identifier(database), sql.Identifier(user)
                    )
                )
                logger.info("created postgres database %s", database)


def _first_unreachable(path: Path, account: pwd.struct_passwd) -> Path | None:
    """The first folder above `path` that `account` may not pass through, or None."""
    groups = {account.pw_gid} | {
        group.gr_gid for group in grp.getgrall() if account.pw_name in group.gr_mem
    }
    for folder in reversed(path.parents):
        info = folder.stat()
        if info.st_uid == account.pw_uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return folder
    return None
