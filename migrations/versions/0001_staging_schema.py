"""The staging schema: elections, candidates, voters, votes and held events.

Every table the sync copies carries `created_at` and `updated_at`, stamped by the
database, and `change_xid`, the id of the transaction that last wrote the row.
The sync's watermark is a transaction id, not a clock: see tasks/sync.py.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYNCED_TABLES = ("elections", "candidates", "voters", "votes")


def upgrade() -> None:
    op.execute(
        """
        create function stamp_row() returns trigger language plpgsql as $$
        begin
            if tg_op = 'INSERT' then
                new.created_at := now();
            else
                new.created_at := old.created_at;
            end if;
            new.updated_at := now();
            new.change_xid := pg_current_xact_id();
            return new;
        end
        $$
        """
    )
    op.execute(
        """
        create table elections (
            election_id text primary key,
            year smallint not null check (year between 1788 and 2100),
            ratio integer not null check (ratio > 0),
            name text not null,
            election_day date not null
        )
        """
    )
    op.execute(
        """
        create table candidates (
            candidate_id text primary key,
            election_id text not null references elections,
            party text not null check (party in ('DEM', 'REP', 'OTH')),
            name text not null,
            unique (election_id, party)
        )
        """
    )
    op.execute(
        """
        create table voters (
            voter_id uuid primary key,
            election_id text not null references elections,
            state char(2) not null,
            district smallint,
            first_name text not null,
            last_name text not null,
            email text not null,
            phone text not null,
            gender text not null,
            birth_date date not null,
            registered_at timestamptz not null,
            removed_at timestamptz,
            last_event_id uuid not null,
            last_event_at timestamptz not null
        )
        """
    )
    op.execute(
        """
        create table votes (
            vote_id uuid primary key,
            election_id text not null references elections,
            voter_id uuid not null references voters,
            candidate_id text not null references candidates,
            state char(2) not null,
            district smallint,
            cast_at timestamptz not null,
            constraint one_vote_per_voter unique (election_id, voter_id)
        )
        """
    )
    for table in SYNCED_TABLES:
        op.execute(
            f"""
            alter table {table}
                add column created_at timestamptz not null default now(),
                add column updated_at timestamptz not null default now(),
                add column change_xid xid8 not null default pg_current_xact_id()
            """
        )
        op.execute(f"create index {table}_change_xid on {table} (change_xid)")
        op.execute(
            f"""
            create trigger {table}_stamp before insert or update on {table}
            for each row execute function stamp_row()
            """
        )
    op.execute("create index votes_voter_id on votes (voter_id)")
    op.execute(
        """
        create table held_events (
            event_id uuid primary key,
            topic text not null,
            status text not null
                check (status in ('parked', 'rejected', 'dead_letter')),
            reason text not null,
            payload text not null,
            voter_id uuid,
            kafka_partition integer,
            kafka_offset bigint,
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now()
        )
        """
    )
    op.execute(
        "create index held_events_parked on held_events (voter_id) "
        "where status = 'parked'"
    )


def downgrade() -> None:
    op.execute("drop table held_events")
    for table in reversed(SYNCED_TABLES):
        op.execute(f"drop table {table}")
    op.execute("drop function stamp_row()")
