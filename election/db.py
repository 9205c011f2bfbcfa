"""The staging database: migrations and connections."""

from __future__ import annotations

import argparse
import logging

import psycopg
from alembic import command
from alembic.config import Config

from election.settings import PROJECT_ROOT, Settings, get_settings

logger = logging.getLogger(__name__)


def alembic_config(settings: Settings) -> Config:
    """Alembic's configuration, pointed at the configured staging database."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    # NOTE: ConfigParser treats % as interpolation, so a password holding one
    # must be doubled before it goes in.
    config.set_main_option("sqlalchemy.url", settings.sqlalchemy_url.replace("%", "%%"))
    return config


def upgrade(settings: Settings | None = None, revision: str = "head") -> None:
    """Migrate the staging database to `revision`; a no-op when it is there."""
    settings = settings or get_settings()
    command.upgrade(alembic_config(settings), revision)


def current_revision(settings: Settings | None = None) -> str | None:
    """The revision the staging database is at, or None before the first."""
    settings = settings or get_settings()
    with connect(settings) as conn:
        exists = conn.execute("select to_regclass('alembic_version')").fetchone()
        if exists is None or exists[0] is None:
            return None
        row = conn.execute("select version_num from alembic_version").fetchone()
        return row[0] if row else None


def connect(settings: Settings | None = None, **kwargs: object) -> psycopg.Connection:
    """A new psycopg connection to the staging database of `settings`."""
    settings = settings or get_settings()
    return psycopg.connect(settings.postgres_dsn, **kwargs)


def main() -> None:
    """`python -m election.db upgrade|current`: migrate or show the revision."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("command", choices=["upgrade", "current"])
    parser.add_argument("--revision", default="head")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "upgrade":
        upgrade(revision=args.revision)
    print(current_revision() or "empty")


if __name__ == "__main__":
    main()
