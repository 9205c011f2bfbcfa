"""The dbt marts on a small synthetic election: winners, ties, turnout, late ballots."""

from __future__ import annotations

from pathlib import Path

import pytest
from raw_warehouse import SYNTHETIC_ELECTION_ID, query, query_one

pytestmark = pytest.mark.slow


def _unit(path: Path, unit_code: str) -> dict:
    return query_one(
        path,
        "select * from analytics.state_winners where election_id = ? and unit_code = ?",
        [SYNTHETIC_ELECTION_ID, unit_code],
    )


def _electoral_votes(path: Path) -> dict[str, int]:
    rows = query(
        path,
        "select party, electoral_votes from analytics.electoral_college "
        "where election_id = ?",
        [SYNTHETIC_ELECTION_ID],
    )
    return dict(rows)


class TestStateWinners:
    @pytest.mark.parametrize(
        ("unit_code", "winner_party", "electoral_votes"),
        [
            ("CA", "DEM", 55),
            ("TX", "REP", 38),
            ("ME", "DEM", 2),
            ("ME-1", "DEM", 1),
            ("ME-2", "REP", 1),
            ("NE", "REP", 2),
            ("NE-1", "REP", 1),
            ("NE-2", "DEM", 1),
            ("NE-3", "REP", 1),
        ],
    )
    def test_unit_with_a_leader_is_won_by_the_leader_with_its_electoral_votes(
        self,
        synthetic_build: Path,
        unit_code: str,
        winner_party: str,
        electoral_votes: int,
    ) -> None:
        unit = _unit(synthetic_build, unit_code)

        assert unit["winner_party"] == winner_party
        assert unit["electoral_votes"] == electoral_votes
        assert unit["is_tie"] is False
        assert unit["unassigned_electoral_votes"] == 0

    def test_tied_state_has_no_winner_and_leaves_its_votes_unassigned(
        self, synthetic_build: Path
    ) -> None:
        georgia = _unit(synthetic_build, "GA")

        assert georgia["winner_party"] is None
        assert georgia["is_tie"] is True
        assert (georgia["dem_votes"], georgia["rep_votes"]) == (4, 4)
        assert georgia["unassigned_electoral_votes"] == 16

    def test_state_without_ballots_has_no_winner_and_is_no_tie(
        self, synthetic_build: Path
    ) -> None:
        ohio = _unit(synthetic_build, "OH")

        assert ohio["winner_party"] is None
        assert ohio["is_tie"] is False
        assert ohio["total_votes"] == 0

    def test_statewide_units_of_me_and_ne_count_the_ballots_of_all_districts(
        self, synthetic_build: Path
    ) -> None:
        maine = _unit(synthetic_build, "ME")
        nebraska = _unit(synthetic_build, "NE")

        assert (maine["dem_votes"], maine["rep_votes"]) == (4, 3)
        assert (nebraska["dem_votes"], nebraska["rep_votes"]) == (3, 6)

    def test_election_has_56_units_worth_538_electoral_votes(
        self, synthetic_build: Path
    ) -> None:
        rows = query(
            synthetic_build,
            "select count(*), sum(electoral_votes) from analytics.state_winners",
        )

        assert rows == [(56, 538)]


class TestElectoralCollege:
    def test_parties_get_the_votes_of_units_they_won_and_the_rest_is_unassigned(
        self, synthetic_build: Path
    ) -> None:
        assert _electoral_votes(synthetic_build) == {
            "DEM": 55 + 2 + 1 + 1,
            "REP": 38 + 1 + 2 + 1 + 1,
            "OTH": 0,
            "UNASSIGNED": 538 - 59 - 43,
        }

    def test_election_without_a_majority_has_no_winner(
        self, synthetic_build: Path
    ) -> None:
        winners = query(
            synthetic_build,
            "select count(*) from analytics.electoral_college where is_winner",
        )
        summary = query_one(
            synthetic_build,
            "select winner_party, dem_electoral_votes, rep_electoral_votes, "
            "unassigned_electoral_votes from analytics.national_summary",
        )

        assert winners == [(0,)]
        assert summary == {
            "winner_party": None,
            "dem_electoral_votes": 59,
            "rep_electoral_votes": 43,
            "unassigned_electoral_votes": 436,
        }


class TestElectionResults:
    def test_state_shares_are_the_candidates_votes_over_the_states_votes(
        self, synthetic_build: Path
    ) -> None:
        rows = query(
            synthetic_build,
            "select party, candidate_name, votes, vote_share "
            "from analytics.election_results where state = 'CA' order by party",
        )

        assert rows == [
            ("DEM", "Joseph R. Biden Jr.", 6, pytest.approx(0.6)),
            ("OTH", "Other candidates", 1, pytest.approx(0.1)),
            ("REP", "Donald J. Trump", 3, pytest.approx(0.3)),
        ]

    def test_candidate_without_ballots_in_a_state_shows_zero_votes(
        self, synthetic_build: Path
    ) -> None:
        rows = query(
            synthetic_build,
            "select votes, vote_share from analytics.election_results "
            "where state = 'TX' and party = 'OTH'",
        )

        assert rows == [(0, 0.0)]


class TestTurnoutByState:
    def test_removed_voter_leaves_eligible_but_their_ballot_still_counts(
        self, synthetic_build: Path
    ) -> None:
        california = query_one(
            synthetic_build,
            "select registered, removed, eligible, voted, turnout_rate "
            "from analytics.turnout_by_state where state = 'CA'",
        )

        assert california == {
            "registered": 12,
            "removed": 1,
            "eligible": 11,
            "voted": 10,
            "turnout_rate": pytest.approx(10 / 11),
        }

    def test_official_turnout_is_presidential_votes_over_eligible_population(
        self, synthetic_build: Path
    ) -> None:
        texas = query_one(
            synthetic_build,
            "select official_votes, official_eligible, official_turnout_rate "
            "from analytics.turnout_by_state where state = 'TX'",
        )

        assert texas == {
            "official_votes": 11_315_056,
            "official_eligible": 18_982_171,
            "official_turnout_rate": pytest.approx(11_315_056 / 18_982_171),
        }

    def test_state_without_registrations_shows_zero_and_no_rate(
        self, synthetic_build: Path
    ) -> None:
        ohio = query_one(
            synthetic_build,
            "select eligible, voted, turnout_rate "
            "from analytics.turnout_by_state where state = 'OH'",
        )

        assert ohio == {"eligible": 0, "voted": 0, "turnout_rate": None}


class TestResultsVsOfficial:
    @pytest.mark.parametrize(
        ("unit_code", "official_winner", "matches"),
        [
            ("CA", "DEM", True),
            ("TX", "REP", True),
            ("GA", "DEM", False),
            ("NE-2", "DEM", True),
            ("ME-2", "REP", True),
        ],
    )
    def test_simulated_winner_is_compared_with_the_official_one(
        self,
        synthetic_build: Path,
        unit_code: str,
        official_winner: str,
        matches: bool,
    ) -> None:
        rows = query(
            synthetic_build,
            "select official_winner_party, winner_matches "
            "from analytics.results_vs_official where unit_code = ?",
            [unit_code],
        )

        assert rows == [(official_winner, matches)]


class TestBallotSecrecy:
    def test_no_analytics_table_holds_a_voter_id(self, synthetic_build: Path) -> None:
        rows = query(
            synthetic_build,
            "select table_name from information_schema.columns "
            "where table_schema = 'analytics' and column_name = 'voter_id'",
        )

        assert rows == []


class TestLateBallots:
    def test_late_ballots_stamped_at_or_after_the_watermark_are_counted(
        self, late_ballots_build: Path
    ) -> None:
        georgia = _unit(late_ballots_build, "GA")

        assert (georgia["dem_votes"], georgia["rep_votes"]) == (6, 4)
        assert georgia["winner_party"] == "DEM"
        assert georgia["is_tie"] is False

    def test_resynced_ballot_replaces_its_old_version_instead_of_adding_one(
        self, late_ballots_build: Path
    ) -> None:
        texas = _unit(late_ballots_build, "TX")

        assert (texas["dem_votes"], texas["rep_votes"], texas["total_votes"]) == (
            3,
            4,
            7,
        )

    def test_fct_votes_holds_one_row_per_ballot_after_the_incremental_run(
        self, late_ballots_build: Path
    ) -> None:
        rows = query(
            late_ballots_build,
            "select count(*), count(distinct vote_id) from analytics.fct_votes",
        )

        assert rows == [(43, 43)]

    def test_tied_state_won_late_moves_its_electoral_votes_to_the_winner(
        self, late_ballots_build: Path
    ) -> None:
        assert _electoral_votes(late_ballots_build) == {
            "DEM": 59 + 16,
            "REP": 43,
            "OTH": 0,
            "UNASSIGNED": 538 - 59 - 16 - 43,
        }
