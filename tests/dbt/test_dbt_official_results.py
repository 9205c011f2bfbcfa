"""The dbt marts on the 2020 and 2024 elections replayed at 1:10,000 from the seeds.

Ballots per state and party are the official votes divided by the ratio, the
state's total rounded and split by largest remainder, Maine and Nebraska by
district; registrations per state are the eligible population over the ratio.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from raw_warehouse import query, read_seed

pytestmark = pytest.mark.slow

YEARS = (2020, 2024)


class TestElectoralCollegeOfficialReplay:
    @pytest.mark.parametrize(
        ("election_id", "expected"),
        [
            ("us2020-r10000", {"DEM": 306, "REP": 232, "OTH": 0, "UNASSIGNED": 0}),
            ("us2024-r10000", {"DEM": 226, "REP": 312, "OTH": 0, "UNASSIGNED": 0}),
        ],
    )
    def test_replayed_election_gives_the_official_electoral_votes(
        self, official_build: Path, election_id: str, expected: dict[str, int]
    ) -> None:
        rows = query(
            official_build,
            "select party, electoral_votes from analytics.electoral_college "
            f"where election_id = '{election_id}'",
        )

        assert dict(rows) == expected

    @pytest.mark.parametrize(
        ("election_id", "winner_party", "winner_name"),
        [
            ("us2020-r10000", "DEM", "Joseph R. Biden Jr."),
            ("us2024-r10000", "REP", "Donald J. Trump"),
        ],
    )
    def test_replayed_election_has_the_official_winner(
        self,
        official_build: Path,
        election_id: str,
        winner_party: str,
        winner_name: str,
    ) -> None:
        rows = query(
            official_build,
            "select winner_party, winner_candidate_name "
            "from analytics.national_summary "
            f"where election_id = '{election_id}'",
        )

        assert rows == [(winner_party, winner_name)]


class TestResultsVsOfficialOfficialReplay:
    def test_every_unit_of_both_years_has_the_official_winner(
        self, official_build: Path
    ) -> None:
        rows = query(
            official_build,
            "select election_id, count(*), sum(case when winner_matches "
            "then 1 else 0 end) from analytics.results_vs_official "
            "group by election_id order by election_id",
        )

        assert rows == [("us2020-r10000", 56, 56), ("us2024-r10000", 56, 56)]

    def test_simulated_shares_miss_official_shares_by_under_two_ballots(
        self, official_build: Path
    ) -> None:
        # largest remainder keeps each party within a ballot of its quota in
        # a district or state, within two in the statewide units of ME and NE
        rows = query(
            official_build,
            """
            select max(greatest(
                abs(simulated_dem_share - official_dem_share),
                abs(simulated_rep_share - official_rep_share),
                abs(simulated_oth_share - official_oth_share)
            ) * simulated_votes)
            from analytics.results_vs_official
            """,
        )

        assert rows[0][0] < 2


class TestNationalSummaryOfficialReplay:
    @pytest.mark.parametrize("year", YEARS)
    def test_turnout_matches_official_presidential_turnout_within_rounding(
        self, official_build: Path, year: int
    ) -> None:
        rows = query(
            official_build,
            "select turnout_rate, official_turnout_rate, dem_share, rep_share "
            f"from analytics.national_summary where election_year = {year}",
        )
        official = read_seed(f"pres_results_{year}")
        total = sum(int(row["total_votes"]) for row in official)

        turnout, official_turnout, dem_share, rep_share = rows[0]
        assert turnout == pytest.approx(official_turnout, abs=0.001)
        assert dem_share == pytest.approx(
            sum(int(row["dem_votes"]) for row in official) / total, abs=0.001
        )
        assert rep_share == pytest.approx(
            sum(int(row["rep_votes"]) for row in official) / total, abs=0.001
        )
