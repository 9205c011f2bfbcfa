"""Reference rows of each simulated election: the election and its candidates."""

from __future__ import annotations

import re
from collections.abc import Iterable

import psycopg

from election.contracts import PARTIES, candidate_id

_ELECTION_ID = re.compile(r"^us(?P<year>\d{4})-r(?P<ratio>\d+)$")


def parse_election_id(election: str) -> tuple[int, int]:
    """The (year, ratio) that `election`, such as us2020-r10000, stands for."""
    match = _ELECTION_ID.match(election)
    if match is None:
        raise ValueError(
            f"election id {election!r} is not of the form us<year>-r<ratio>, "
            "such as us2020-r10000"
        )
    return int(match["year"]), int(match["ratio"])


def ensure_elections(conn: psycopg.Connection, elections: Iterable[str]) -> None:
    """Insert the rows of `elections` and their candidates where they are missing."""
    from election.scenario import load_scenario

    wanted = sorted(set(elections))
    present = {
        row[0]
        for row in conn.execute(
            "select election_id from elections where election_id = any(%s)", (wanted,)
        )
    }
    for election in (e for e in wanted if e not in present):
        year, ratio = parse_election_id(election)
        scenario = load_scenario(year, ratio)
        conn.execute(
            """
            insert into elections (election_id, year, ratio, name, election_day)
            values (%s, %s, %s, %s, %s)
            on conflict (election_id) do nothing
            """,
            (
                election,
                year,
                ratio,
                f"US presidential election {year}, 1:{ratio:,}",
                scenario.election_day,
            ),
        )
        with conn.cursor() as cur:
            cur.executemany(
                """
                insert into candidates (candidate_id, election_id, party, name)
                values (%s, %s, %s, %s)
                on conflict (candidate_id) do nothing
                """,
                [
                    (
                        candidate_id(election, party),
                        election,
                        party,
                        scenario.candidates[party],
                    )
                    for party in PARTIES
                ],
            )
