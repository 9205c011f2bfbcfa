"""Reads an election's results out of the marts that dbt built."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from election.settings import Settings

Rows = list[tuple[Any, ...]]
Query = Callable[[str, tuple[Any, ...]], Rows]

MARTS = "analytics"


def results_query(settings: Settings) -> tuple[Query, Callable[[], None]]:
    """A function that runs read-only SQL on the marts, and one that closes it.

    On DuckDB it reads the published copy, so it never holds the file a writer
    needs. The SQL takes `%s` placeholders on both warehouses.
    """
    if settings.warehouse == "duckdb":
        import duckdb

        from warehouse.duckdb_target import published_path

        conn = duckdb.connect(
            str(published_path(settings.warehouse_path)), read_only=True
        )

        def run(sql: str, params: tuple[Any, ...]) -> Rows:
            return conn.execute(sql.replace("%s", "?"), list(params)).fetchall()

        return run, conn.close

    from warehouse.snowflake_target import connect_snowflake

    sf = connect_snowflake(settings)

    def run_sf(sql: str, params: tuple[Any, ...]) -> Rows:
        with sf.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    return run_sf, sf.close


def read_results(settings: Settings, election_id: str) -> dict[str, Any]:
    """Electoral votes, winners, turnout and totals of `election_id` from the marts.

    Returns:
        A JSON-ready document with `electoral_votes` (party to votes), `winners`
        (unit such as `NE-2` to party, or `TIE`), `candidates`, `turnout` per
        state and `national` totals.
    """
    query, close = results_query(settings)
    try:
        college = query(
            f"select party, candidate_name, electoral_votes, is_winner "
            f"from {MARTS}.electoral_college where election_id = %s order by party",
            (election_id,),
        )
        units = query(
            f"select unit_code, winner_party, is_tie, electoral_votes "
            f"from {MARTS}.state_winners where election_id = %s order by unit_code",
            (election_id,),
        )
        turnout = query(
            f"select state, eligible, voted, turnout_rate, official_turnout_rate "
            f"from {MARTS}.turnout_by_state where election_id = %s order by state",
            (election_id,),
        )
        national = query(
            f"select total_votes, eligible, voted, turnout_rate, "
            f"official_turnout_rate, winner_party, unassigned_electoral_votes "
            f"from {MARTS}.national_summary where election_id = %s",
            (election_id,),
        )
        mismatches = query(
            f"select unit_code from {MARTS}.results_vs_official "
            f"where election_id = %s and not winner_matches order by unit_code",
            (election_id,),
        )
    finally:
        close()

    total_votes, eligible, voted, rate, official_rate, winner, unassigned = (
        national[0] if national else (0, 0, 0, None, None, None, 0)
    )
    return {
        "election_id": election_id,
        "electoral_votes": {
            party: int(votes) for party, _, votes, _ in college if party != "UNASSIGNED"
        },
        "unassigned_electoral_votes": int(unassigned or 0),
        "candidates": {party: name for party, name, _, _ in college},
        "winner": winner,
        "winners": {
            unit: ("TIE" if is_tie else party) for unit, party, is_tie, _ in units
        },
        "winners_differing_from_official": [row[0] for row in mismatches],
        "turnout": {
            state: {
                "eligible": int(eligible_),
                "voted": int(voted_),
                "rate": _float(rate_),
                "official_rate": _float(official_),
            }
            for state, eligible_, voted_, rate_, official_ in turnout
        },
        "national": {
            "votes": int(total_votes or 0),
            "eligible": int(eligible or 0),
            "voted": int(voted or 0),
            "turnout_rate": _float(rate),
            "official_turnout_rate": _float(official_rate),
        },
    }


def _float(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)
