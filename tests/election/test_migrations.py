"""The staging schema's migrations on a real, empty PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from alembic import command

from election.db import alembic_config, current_revision, upgrade
from election.settings import Settings

pytestmark = pytest.mark.slow

TABLES = {"elections", "candidates", "voters", "votes", "held_events"}


@pytest.fixture
def empty_database(postgres: Settings) -> Iterator[Settings]:
    """Settings pointing at a new, empty database on the session's server."""
    name = f"empty_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres.postgres_dsn, autocommit=True) as conn:
        conn.execute(f"create database {name}")
    yield postgres.model_copy(update={"postgres_db": name})
    with psycopg.connect(postgres.postgres_dsn, autocommit=True) as conn:
        conn.execute(f"drop database {name} with (force)")


def tables(settings: Settings) -> set[str]:
    with psycopg.connect(settings.postgres_dsn) as conn:
        rows = conn.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'public'"
        ).fetchall()
    return {row[0] for row in rows} - {"alembic_version"}


def test_upgrade_of_an_empty_database_creates_the_schema(
    empty_database: Settings,
) -> None:
    assert current_revision(empty_database) is None

    upgrade(empty_database)

    assert tables(empty_database) == TABLES
    assert current_revision(empty_database) == "0001"


def test_upgrade_of_an_up_to_date_database_changes_nothing(
    empty_database: Settings,
) -> None:
    upgrade(empty_database)
    with psycopg.connect(empty_database.postgres_dsn) as conn:
        conn.execute(
            "insert into elections values ('us2020-r1', 2020, 1, 'x', '2020-11-03')"
        )

    upgrade(empty_database)

    with psycopg.connect(empty_database.postgres_dsn) as conn:
        assert conn.execute("select count(*) from elections").fetchone()[0] == 1
    assert current_revision(empty_database) == "0001"


def test_downgrade_to_base_removes_the_schema_and_upgrade_restores_it(
    empty_database: Settings,
) -> None:
    upgrade(empty_database)

    command.downgrade(alembic_config(empty_database), "base")
    assert tables(empty_database) == set()

    upgrade(empty_database)
    assert tables(empty_database) == TABLES


def test_the_database_stamps_rows_itself(empty_database: Settings) -> None:
    upgrade(empty_database)
    with psycopg.connect(empty_database.postgres_dsn) as conn:
        conn.execute(
            "insert into elections values ('us2020-r1', 2020, 1, 'x', '2020-11-03')"
        )
        created, updated, xid = conn.execute(
            "select created_at, updated_at, change_xid::text from elections"
        ).fetchone()
        conn.commit()
        conn.execute("update elections set name = 'y'")
        created_after, updated_after, xid_after = conn.execute(
            "select created_at, updated_at, change_xid::text from elections"
        ).fetchone()

    assert created_after == created
    assert updated_after > updated
    assert int(xid_after) > int(xid)
