"""Mart tables filled with known values, written straight to a DuckDB file.

The columns copy those of the dbt marts (a slow test checks them against a real
build); the rows follow from a few units' ballots, so a test can work out what
every page must show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

MART_COLUMNS: dict[str, str] = {
    "national_summary": """
        election_id varchar, election_year integer, ratio integer,
        election_name varchar, dem_votes bigint, rep_votes bigint,
        oth_votes bigint, total_votes bigint, dem_share double,
        rep_share double, oth_share double, dem_electoral_votes bigint,
        rep_electoral_votes bigint, oth_electoral_votes bigint,
        unassigned_electoral_votes bigint, winner_party varchar,
        winner_candidate_name varchar, eligible bigint, voted bigint,
        turnout_rate double, official_votes bigint, official_eligible bigint,
        official_turnout_rate double""",
    "electoral_college": """
        election_id varchar, party varchar, candidate_id varchar,
        candidate_name varchar, electoral_votes bigint, count_units bigint,
        total_electoral_votes bigint, electoral_votes_to_win bigint,
        is_winner boolean""",
    "state_winners": """
        election_id varchar, unit_code varchar, state varchar,
        district integer, electoral_votes integer, dem_votes bigint,
        rep_votes bigint, oth_votes bigint, total_votes bigint,
        leading_votes bigint, runner_up_votes bigint, margin_votes bigint,
        winner_party varchar, is_tie boolean,
        unassigned_electoral_votes integer""",
    "turnout_by_state": """
        election_id varchar, state varchar, registered bigint, removed bigint,
        eligible bigint, voted bigint, turnout_rate double,
        official_votes bigint, official_eligible bigint,
        official_turnout_rate double""",
    "election_results": """
        election_id varchar, state varchar, candidate_id varchar,
        party varchar, candidate_name varchar, votes bigint,
        state_total_votes bigint, vote_share double""",
    "results_vs_official": """
        election_id varchar, unit_code varchar, state varchar,
        district integer, electoral_votes integer,
        simulated_winner_party varchar, official_winner_party varchar,
        winner_matches boolean, simulated_votes bigint, official_votes bigint,
        simulated_dem_share double, official_dem_share double,
        simulated_rep_share double, official_rep_share double,
        simulated_oth_share double, official_oth_share double""",
    "fct_votes": """
        vote_id varchar, election_id varchar, candidate_id varchar,
        state varchar, district integer, cast_at timestamptz,
        _synced_at timestamptz""",
}
"""Columns of each mart, in the order dbt builds them."""

PARTIES = ("DEM", "REP", "OTH")
TOTAL_ELECTORAL_VOTES = 538
VOTES_TO_WIN = 270


@dataclass(frozen=True)
class KnownElection:
    """An election of a few units, each with its electoral votes and ballots."""

    election_id: str
    year: int
    candidates: dict[str, str]
    units: dict[str, tuple[int, int, int, int]]
    """Unit code to (electoral votes, DEM, REP, OTH ballots)."""
    official_winners: dict[str, str]
    first_synced_at: datetime

    @property
    def name(self) -> str:
        """Display name, as stg_raw__elections makes it."""
        return f"{self.year} at 1:10000"

    def winner(self, unit: str) -> str | None:
        """The party with more ballots than every other in `unit`, else None."""
        _, *ballots = self.units[unit]
        top = max(ballots)
        leaders = [p for p, n in zip(PARTIES, ballots, strict=True) if n == top]
        return leaders[0] if top and len(leaders) == 1 else None

    def is_tie(self, unit: str) -> bool:
        """Whether two parties share the lead with ballots."""
        _, *ballots = self.units[unit]
        return max(ballots) > 0 and ballots.count(max(ballots)) > 1

    def electoral_votes(self, party: str) -> int:
        """Electoral votes of the units `party` carried."""
        return sum(
            ev for unit, (ev, *_) in self.units.items() if self.winner(unit) == party
        )

    @property
    def unassigned(self) -> int:
        """Electoral votes nobody carried, the units not listed included."""
        return TOTAL_ELECTORAL_VOTES - sum(self.electoral_votes(p) for p in PARTIES)

    def statewide(self) -> dict[str, tuple[int, int, int, int]]:
        """The units that are whole states."""
        return {unit: row for unit, row in self.units.items() if "-" not in unit}

    def popular(self, party: str) -> int:
        """Ballots for `party` in all states."""
        index = PARTIES.index(party) + 1
        return sum(row[index] for row in self.statewide().values())

    @property
    def total_votes(self) -> int:
        """Every ballot."""
        return sum(self.popular(party) for party in PARTIES)


ELECTION_2020 = KnownElection(
    election_id="us2020-r10000",
    year=2020,
    candidates={"DEM": "Joseph R. Biden Jr.", "REP": "Donald J. Trump"},
    units={
        "PA": (20, 6, 4, 0),
        "TX": (38, 2, 5, 1),
        "GA": (16, 4, 4, 0),
        "OH": (18, 0, 0, 0),
        "ME": (2, 4, 3, 0),
        "ME-1": (1, 3, 1, 0),
        "ME-2": (1, 1, 2, 0),
        "NE": (2, 3, 6, 0),
        "NE-1": (1, 1, 2, 0),
        "NE-2": (1, 2, 1, 0),
        "NE-3": (1, 0, 3, 0),
    },
    official_winners=dict.fromkeys(["PA", "GA", "ME", "ME-1", "NE-2"], "DEM")
    | dict.fromkeys(["TX", "OH", "ME-2", "NE", "NE-1", "NE-3"], "REP"),
    first_synced_at=datetime(2020, 11, 3, 20, 0, tzinfo=UTC),
)
"""The default election: its ballots reached the warehouse last."""

ELECTION_2024 = KnownElection(
    election_id="us2024-r10000",
    year=2024,
    candidates={"DEM": "Kamala D. Harris", "REP": "Donald J. Trump"},
    units={"PA": (19, 1, 3, 0), "WI": (10, 2, 1, 0)},
    official_winners={"PA": "REP", "WI": "REP"},
    first_synced_at=datetime(2020, 11, 3, 19, 0, tzinfo=UTC),
)
"""An older-synced election, of a later year: not the default."""

OFFICIAL_TURNOUT = (6_000_000, 9_000_000)
"""Official (votes, eligible) of every state in the known marts."""


def _election_rows(e: KnownElection) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of every mart for one election."""
    names = {**e.candidates, "OTH": "Other candidates"}
    cid = {party: f"{e.election_id}-{party.lower()}" for party in PARTIES}
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in MART_COLUMNS}

    for unit, (ev, *ballots) in e.units.items():
        state, _, district = unit.partition("-")
        total = sum(ballots)
        ranked = sorted(ballots, reverse=True)
        winner = e.winner(unit)
        rows["state_winners"].append(
            (e.election_id, unit, state, int(district) if district else None, ev)
            + (*ballots, total, ranked[0], ranked[1], ranked[0] - ranked[1])
            + (winner, e.is_tie(unit), 0 if winner else ev)
        )
        official = e.official_winners[unit]
        shares = [n / total if total else None for n in ballots]
        rows["results_vs_official"].append(
            (e.election_id, unit, state, int(district) if district else None, ev)
            + (winner, official, winner == official, total, 1_000_000)
            + (shares[0], 0.5, shares[1], 0.48, shares[2], 0.02)
        )

    official_votes, official_eligible = OFFICIAL_TURNOUT
    for state, (_, *ballots) in e.statewide().items():
        total = sum(ballots)
        registered, removed = total + 3, 1
        rows["turnout_by_state"].append(
            (e.election_id, state, registered, removed, registered - removed, total)
            + (total / (registered - removed), official_votes, official_eligible)
            + (official_votes / official_eligible,)
        )
        for party, votes in zip(PARTIES, ballots, strict=True):
            rows["election_results"].append(
                (e.election_id, state, cid[party], party, names[party], votes, total)
                + (votes / total if total else None,)
            )

    winner = next((p for p in PARTIES if e.electoral_votes(p) >= VOTES_TO_WIN), None)
    for party in PARTIES:
        rows["electoral_college"].append(
            (e.election_id, party, cid[party], names[party], e.electoral_votes(party))
            + (sum(1 for u in e.units if e.winner(u) == party),)
            + (TOTAL_ELECTORAL_VOTES, VOTES_TO_WIN, party == winner)
        )
    rows["electoral_college"].append(
        (e.election_id, "UNASSIGNED", None, None, e.unassigned, 0)
        + (TOTAL_ELECTORAL_VOTES, VOTES_TO_WIN, False)
    )

    eligible = sum(r[4] for r in rows["turnout_by_state"])
    states = len(e.statewide())
    total = e.total_votes
    rows["national_summary"].append(
        (e.election_id, e.year, 10_000, e.name)
        + tuple(e.popular(p) for p in PARTIES)
        + (total,)
        + tuple(e.popular(p) / total for p in PARTIES)
        + tuple(e.electoral_votes(p) for p in PARTIES)
        + (e.unassigned, winner, names[winner] if winner else None)
        + (eligible, total, total / eligible)
        + (official_votes * states, official_eligible * states)
        + (official_votes / official_eligible,)
    )
    rows["fct_votes"] = list(_ballots(e, cid))
    return rows


def _ballots(e: KnownElection, cid: dict[str, str]) -> Iterable[tuple[Any, ...]]:
    """One row per ballot: cast ten minutes apart, synced ten at a time."""
    districts = {u: row for u, row in e.units.items() if "-" in u}
    index = 0
    for state, (_, *ballots) in e.statewide().items():
        places: list[tuple[int | None, tuple[int, ...]]] = [
            (int(unit.split("-")[1]), row[1:])
            for unit, row in districts.items()
            if unit.startswith(f"{state}-")
        ] or [(None, tuple(ballots))]
        for district, counts in places:
            for party, count in zip(PARTIES, counts, strict=True):
                for _ in range(count):
                    yield (
                        f"{e.election_id}-vote-{index}",
                        e.election_id,
                        cid[party],
                        state,
                        district,
                        datetime(e.year, 11, 3, 12, tzinfo=UTC)
                        + timedelta(minutes=10 * index),
                        e.first_synced_at + timedelta(minutes=5 * (index // 10)),
                    )
                    index += 1


def write_known_marts(
    path: Path, elections: Iterable[KnownElection] = (ELECTION_2020, ELECTION_2024)
) -> Path:
    """Write the marts of `elections` to a new DuckDB file at `path`."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema analytics")
        for table, columns in MART_COLUMNS.items():
            con.execute(f"create table analytics.{table} ({columns})")
        for election in elections:
            for table, rows in _election_rows(election).items():
                if rows:
                    marks = ", ".join("?" * len(rows[0]))
                    con.executemany(
                        f"insert into analytics.{table} values ({marks})", rows
                    )
    return path
