"""The raw tables the sync keeps in the warehouse, and how each is read from staging.

Only what analysis needs leaves PostgreSQL: a voter travels as a pseudonymous id,
state, district, birth year, gender and registration date; names and contact
details never reach the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """A raw column: its name, its warehouse type and the SQL that reads it."""

    name: str
    type: str
    source: str | None = None

    @property
    def select(self) -> str:
        """The select-list item that reads this column from the staging table."""
        return f"{self.source} as {self.name}" if self.source else self.name


@dataclass(frozen=True)
class RawTable:
    """A staging table copied into the warehouse's raw schema."""

    name: str
    key: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        """Names of the columns, in order."""
        return [column.name for column in self.columns]

    def source_query(self) -> str:
        """Postgres query of the rows changed since a watermark, one parameter."""
        items = ",\n    ".join(column.select for column in self.columns)
        return (
            f"select\n    {items}\nfrom {self.name}\nwhere change_xid >= %s::text::xid8"
        )


TIMESTAMPS = (Column("created_at", "timestamptz"), Column("updated_at", "timestamptz"))

ELECTIONS = RawTable(
    "elections",
    "election_id",
    (
        Column("election_id", "varchar"),
        Column("year", "integer"),
        Column("ratio", "integer"),
        Column("name", "varchar"),
        Column("election_day", "date"),
        *TIMESTAMPS,
    ),
)
CANDIDATES = RawTable(
    "candidates",
    "candidate_id",
    (
        Column("candidate_id", "varchar"),
        Column("election_id", "varchar"),
        Column("party", "varchar"),
        Column("name", "varchar"),
        *TIMESTAMPS,
    ),
)
VOTERS = RawTable(
    "voters",
    "voter_id",
    (
        Column("voter_id", "varchar", "voter_id::text"),
        Column("election_id", "varchar"),
        Column("state", "varchar", "state::text"),
        Column("district", "integer"),
        Column("birth_year", "integer", "extract(year from birth_date)::integer"),
        Column("gender", "varchar"),
        Column("registered_date", "date", "(registered_at at time zone 'UTC')::date"),
        Column("removed_at", "timestamptz"),
        *TIMESTAMPS,
    ),
)
VOTES = RawTable(
    "votes",
    "vote_id",
    (
        Column("vote_id", "varchar", "vote_id::text"),
        Column("election_id", "varchar"),
        Column("voter_id", "varchar", "voter_id::text"),
        Column("candidate_id", "varchar"),
        Column("state", "varchar", "state::text"),
        Column("district", "integer"),
        Column("cast_at", "timestamptz"),
        *TIMESTAMPS,
    ),
)

RAW_TABLES: tuple[RawTable, ...] = (ELECTIONS, CANDIDATES, VOTERS, VOTES)
"""In the order they load: a table comes after those it refers to."""

RAW_TABLE_NAMES = tuple(table.name for table in RAW_TABLES)


def raw_table(name: str) -> RawTable:
    """The raw table called `name`."""
    for table in RAW_TABLES:
        if table.name == name:
            return table
    raise ValueError(f"no raw table {name!r}: choose one of {list(RAW_TABLE_NAMES)}")
