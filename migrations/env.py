"""Alembic environment: runs the staging database's migrations online."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from election.settings import get_settings

config = context.config


def run_migrations_online() -> None:
    """Apply the migrations over one connection to the configured database."""
    url = config.get_main_option("sqlalchemy.url") or get_settings().sqlalchemy_url
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run them online")
run_migrations_online()
