"""The JSON feeds on known marts: the numbers, the default election, the errors."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from known_marts import ELECTION_2020, ELECTION_2024, PARTIES

from dashboard.marts import NO_RESULTS_HINT


def _get(client: FlaskClient, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


class TestElections:
    def test_newest_election_is_the_one_synced_last_not_the_latest_year(
        self, client: FlaskClient
    ) -> None:
        body = _get(client, "/api/elections")

        assert body["default"] == ELECTION_2020.election_id
        assert [e["id"] for e in body["elections"]] == [
            ELECTION_2020.election_id,
            ELECTION_2024.election_id,
        ]

    def test_national_feed_without_election_shows_the_newest(
        self, client: FlaskClient
    ) -> None:
        body = _get(client, "/api/national")

        assert body["election"]["id"] == ELECTION_2020.election_id
        assert body["election"]["name"] == "2020 at 1:10000"

    def test_election_parameter_picks_another_election(
        self, client: FlaskClient
    ) -> None:
        body = _get(client, f"/api/national?election={ELECTION_2024.election_id}")

        assert body["election"]["id"] == ELECTION_2024.election_id
        assert body["popular"]["total"] == ELECTION_2024.total_votes


class TestNational:
    def test_electoral_votes_per_party_are_those_of_the_units_won(
        self, client: FlaskClient
    ) -> None:
        electoral = _get(client, "/api/national")["electoral"]

        assert {p["party"]: p["electoral_votes"] for p in electoral["parties"]} == {
            party: ELECTION_2020.electoral_votes(party) for party in PARTIES
        }
        assert electoral["unassigned"] == ELECTION_2020.unassigned
        assert (electoral["to_win"], electoral["total"]) == (270, 538)

    def test_popular_vote_counts_statewide_ballots_once(
        self, client: FlaskClient
    ) -> None:
        popular = _get(client, "/api/national")["popular"]

        assert {p["party"]: p["votes"] for p in popular["parties"]} == {
            "DEM": 19,
            "REP": 22,
            "OTH": 1,
        }
        assert popular["total"] == 42
        assert popular["parties"][0]["candidate"] == "Joseph R. Biden Jr."

    def test_nobody_short_of_270_is_the_winner(self, client: FlaskClient) -> None:
        assert _get(client, "/api/national")["winner"] is None

    @pytest.mark.parametrize(
        ("unit", "winner", "is_tie"),
        [
            ("PA", "DEM", False),
            ("TX", "REP", False),
            ("GA", None, True),
            ("OH", None, False),
            ("ME-1", "DEM", False),
            ("ME-2", "REP", False),
            ("NE-2", "DEM", False),
        ],
        ids=["dem", "rep", "tie", "no-ballots", "me-1", "me-2", "ne-2"],
    )
    def test_every_unit_carries_its_winner_and_tie_flag(
        self, client: FlaskClient, unit: str, winner: str | None, is_tie: bool
    ) -> None:
        units = {u["unit"]: u for u in _get(client, "/api/national")["units"]}

        assert (units[unit]["winner"], units[unit]["is_tie"]) == (winner, is_tie)

    def test_state_rows_put_turnout_next_to_the_official_turnout(
        self, client: FlaskClient
    ) -> None:
        states = {s["code"]: s for s in _get(client, "/api/national")["states"]}

        pennsylvania = states["PA"]
        assert pennsylvania["name"] == "Pennsylvania"
        assert pennsylvania["turnout"]["voted"] == 10
        assert pennsylvania["turnout"]["eligible"] == 12
        assert pennsylvania["turnout"]["official_rate"] == pytest.approx(2 / 3)
        assert pennsylvania["shares"]["DEM"] == pytest.approx(0.6)
        assert set(states) == {"PA", "TX", "GA", "OH", "ME", "NE"}


class TestTimeline:
    @pytest.mark.parametrize("by", ["synced", "cast"])
    def test_cumulative_counts_start_at_zero_and_end_at_every_ballot(
        self, client: FlaskClient, by: str
    ) -> None:
        body = _get(client, f"/api/timeline?by={by}")
        points = body["points"]

        assert body["by"] == by
        assert points[0]["total"] == 0
        assert points[-1]["total"] == ELECTION_2020.total_votes
        assert {party: points[-1][party] for party in PARTIES} == {
            party: ELECTION_2020.popular(party) for party in PARTIES
        }
        totals = [point["total"] for point in points]
        assert totals == sorted(totals)

    def test_synced_clock_steps_once_per_sync_batch(self, client: FlaskClient) -> None:
        points = _get(client, "/api/timeline?by=synced")["points"]

        # 42 ballots synced ten at a time, five minutes apart: five batches
        assert [p["total"] for p in points] == [0, 10, 20, 30, 40, 42]
        assert points[1]["t"] == "2020-11-03T20:00:10Z"

    def test_unknown_clock_is_a_400_naming_the_field(self, client: FlaskClient) -> None:
        body = _get(client, "/api/timeline?by=sundial", 400)

        assert body["field"] == "by"
        assert "'sundial'" in body["error"]


class TestState:
    def test_state_feed_lists_candidates_by_votes_and_every_district(
        self, client: FlaskClient
    ) -> None:
        body = _get(client, "/api/states/ne")

        assert body["state"] == {"code": "NE", "name": "Nebraska"}
        assert [(c["party"], c["votes"]) for c in body["candidates"]] == [
            ("REP", 6),
            ("DEM", 3),
            ("OTH", 0),
        ]
        assert [u["unit"] for u in body["units"]] == ["NE", "NE-1", "NE-2", "NE-3"]
        assert body["turnout"]["voted"] == 9

    def test_unknown_state_is_a_404_naming_the_code(self, client: FlaskClient) -> None:
        body = _get(client, "/api/states/ZZ", 404)

        assert body["field"] == "code"
        assert "'ZZ'" in body["error"]


class TestErrors:
    def test_unknown_election_is_a_404_listing_the_known_ones(
        self, client: FlaskClient
    ) -> None:
        body = _get(client, "/api/national?election=us1860-r1", 404)

        assert body["field"] == "election"
        assert ELECTION_2020.election_id in body["error"]

    @pytest.mark.parametrize(
        "url", ["/api/elections", "/api/national", "/api/timeline", "/api/states/PA"]
    )
    def test_feeds_before_anything_is_published_are_404_saying_what_to_do(
        self, empty_client: FlaskClient, url: str
    ) -> None:
        body = _get(empty_client, url, 404)

        assert body["error"].startswith("no results yet")
        assert NO_RESULTS_HINT in body["error"]

    def test_unknown_feed_is_a_json_404(self, client: FlaskClient) -> None:
        assert _get(client, "/api/nothing", 404)["field"] == "path"

    def test_health_says_whether_results_are_published(
        self, client: FlaskClient, empty_client: FlaskClient
    ) -> None:
        assert _get(client, "/health")["published"] is True
        assert _get(empty_client, "/health")["published"] is False

    def test_feeds_are_never_cached(self, client: FlaskClient) -> None:
        assert client.get("/api/national").headers["Cache-Control"] == "no-store"
