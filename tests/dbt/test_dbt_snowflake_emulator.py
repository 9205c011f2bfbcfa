"""The dbt project on the snowflake target, against the fakesnow emulator.

The same synthetic election as test_dbt_marts must give the same marts in
Snowflake's SQL dialect.
"""

from __future__ import annotations

import pytest
from raw_warehouse import connect_snowflake

pytestmark = pytest.mark.slow


def _rows(env: dict[str, str], sql: str) -> list[tuple]:
    with connect_snowflake(env) as con:
        return con.cursor().execute(sql).fetchall()


class TestSnowflakeTarget:
    def test_electoral_college_on_snowflake_matches_the_duckdb_result(
        self, snowflake_build: dict[str, str]
    ) -> None:
        rows = _rows(
            snowflake_build,
            "select party, electoral_votes from analytics.electoral_college",
        )

        assert {party: int(votes) for party, votes in rows} == {
            "DEM": 59,
            "REP": 43,
            "OTH": 0,
            "UNASSIGNED": 436,
        }

    def test_tied_state_on_snowflake_has_no_winner(
        self, snowflake_build: dict[str, str]
    ) -> None:
        rows = _rows(
            snowflake_build,
            "select winner_party, is_tie from analytics.state_winners "
            "where unit_code = 'GA'",
        )

        assert rows == [(None, True)]

    def test_removed_voter_on_snowflake_leaves_eligible_only(
        self, snowflake_build: dict[str, str]
    ) -> None:
        rows = _rows(
            snowflake_build,
            "select eligible, voted from analytics.turnout_by_state where state = 'CA'",
        )

        assert [(int(eligible), int(voted)) for eligible, voted in rows] == [(11, 10)]
