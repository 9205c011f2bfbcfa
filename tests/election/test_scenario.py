"""Tests of the scenarios: quotas, rounding, winners, districts and voter ids."""

from __future__ import annotations

import csv
import logging
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

from election.contracts import DISTRICTS, PARTIES, STATE_CODES, stable_id
from election.scenario import (
    ScenarioError,
    apportion,
    ballot_parties,
    contest_winners,
    electoral_college,
    iter_ballots,
    iter_voters,
    load_scenario,
    voter_id,
)
from election.settings import PROJECT_ROOT

SEEDS = PROJECT_ROOT / "dbt" / "seeds"
YEARS = (2020, 2024)


def _rows(name: str, year: int) -> list[dict[str, str]]:
    """Rows of a seed file for `year`."""
    with (SEEDS / name).open(newline="") as handle:
        return [row for row in csv.DictReader(handle) if int(row["year"]) == year]


def _rounded(total: int, ratio: int) -> int:
    """`total / ratio` rounded half up."""
    return int(Fraction(total, ratio) + Fraction(1, 2))


@pytest.mark.parametrize("year", YEARS)
def test_load_scenario_exact_totals_equal_rounded_official_totals(year: int) -> None:
    scenario = load_scenario(year, 10_000)

    vep = sum(int(row["vep"]) for row in _rows("vep_turnout_2020_2024.csv", year))
    votes = sum(
        int(row["total_votes"]) for row in _rows(f"pres_results_{year}.csv", year)
    )
    assert scenario.total_registrations == _rounded(vep, 10_000)
    assert scenario.total_votes == _rounded(votes, 10_000)


def test_load_scenario_2020_totals_are_about_23700_and_15800() -> None:
    scenario = load_scenario(2020)

    assert scenario.total_registrations == 23_711
    assert scenario.total_votes == 15_843
    assert scenario.election_id == "us2020-r10000"
    assert str(scenario.election_day) == "2020-11-03"
    assert scenario.candidates["DEM"] == "Joseph R. Biden Jr."


@pytest.mark.parametrize(
    ("year", "dem", "rep"), [(2020, 306, 232), (2024, 226, 312)], ids=["2020", "2024"]
)
def test_electoral_college_exact_ratio_10000_gives_official_electors(
    year: int, dem: int, rep: int
) -> None:
    scenario = load_scenario(year, 10_000)

    assert electoral_college(scenario) == {"DEM": dem, "REP": rep, "OTH": 0}
    assert sum(scenario.electoral_votes.values()) == 538


@pytest.mark.parametrize("ratio", [1_000, 10_000, 30_000, 100_000])
@pytest.mark.parametrize("year", YEARS)
def test_contest_winners_exact_mode_equal_official_winners(
    year: int, ratio: int
) -> None:
    scenario = load_scenario(year, ratio)

    assert contest_winners(scenario) == dict(scenario.official_winners)


@pytest.mark.parametrize("year", YEARS)
def test_load_scenario_exact_state_votes_within_one_of_quota(year: int) -> None:
    scenario = load_scenario(year, 10_000)
    official = {
        row["state_po"]: int(row["total_votes"])
        for row in _rows(f"pres_results_{year}.csv", year)
    }

    for state in STATE_CODES:
        cast = sum(c.total_votes for c in scenario.cells if c.state == state)
        assert abs(cast - Fraction(official[state], 10_000)) < 1, state


@pytest.mark.parametrize("year", YEARS)
def test_load_scenario_exact_cells_sum_to_national_totals(year: int) -> None:
    scenario = load_scenario(year, 10_000)
    vep = sum(int(row["vep"]) for row in _rows("vep_turnout_2020_2024.csv", year))

    assert sum(c.registrations for c in scenario.cells) == _rounded(vep, 10_000)
    assert sum(scenario.party_votes.values()) == scenario.total_votes
    for cell in scenario.cells:
        assert set(cell.votes) == set(PARTIES)


@pytest.mark.parametrize("ratio", [100, 10_000, 1_000_000])
@pytest.mark.parametrize("mode", ["exact", "random"])
def test_load_scenario_any_mode_votes_never_exceed_registrations(
    mode: str, ratio: int
) -> None:
    scenario = load_scenario(2020, ratio, mode=mode, seed=7)  # type: ignore[arg-type]

    for cell in scenario.cells:
        assert 0 <= cell.total_votes <= cell.registrations, cell


@pytest.mark.parametrize("year", YEARS)
def test_load_scenario_maine_nebraska_cells_are_districts(year: int) -> None:
    scenario = load_scenario(year, 10_000)
    districts = {
        (row["state_po"], int(row["district"])): row
        for row in _rows("district_results.csv", year)
    }

    for state, numbers in DISTRICTS.items():
        cells = [c for c in scenario.cells if c.state == state]
        assert [c.district for c in cells] == list(numbers)
        state_votes = sum(int(districts[(state, d)]["total_votes"]) for d in numbers)
        state_registrations = sum(c.registrations for c in cells)
        for cell in cells:
            row = districts[(state, cell.district)]
            for party, column in zip(
                PARTIES, ("dem_votes", "rep_votes", "other_votes"), strict=True
            ):
                quota = Fraction(int(row[column]), 10_000)
                assert abs(cell.votes[party] - quota) < 1, (cell, party)
            share = Fraction(int(row["total_votes"]), state_votes)
            assert abs(cell.registrations - share * state_registrations) <= 1, cell


def test_load_scenario_other_states_have_one_statewide_cell() -> None:
    scenario = load_scenario(2024)

    cells = Counter(cell.state for cell in scenario.cells if cell.district is None)
    assert set(cells) == set(STATE_CODES) - set(DISTRICTS)
    assert set(cells.values()) == {1}
    assert scenario.cell("CA").registrations > 2_000


def test_load_scenario_same_arguments_same_scenario() -> None:
    assert load_scenario(2020) == load_scenario(2020)


def test_load_scenario_random_same_seed_same_quotas() -> None:
    first = load_scenario(2024, 10_000, mode="random", seed=42)
    again = load_scenario(2024, 10_000, mode="random", seed=42)
    other = load_scenario(2024, 10_000, mode="random", seed=43)

    assert first.cells == again.cells
    assert first.cells != other.cells
    assert first.seed == 42 and first.mode == "random"


def test_load_scenario_random_totals_near_exact_totals() -> None:
    exact = load_scenario(2020, 10_000)
    drawn = load_scenario(2020, 10_000, mode="random", seed=1)

    assert drawn.total_registrations == exact.total_registrations
    assert abs(drawn.total_votes - exact.total_votes) < 0.02 * exact.total_votes
    for party in ("DEM", "REP"):
        gap = abs(drawn.party_votes[party] - exact.party_votes[party])
        assert gap < 0.03 * exact.party_votes[party]


def test_voter_id_same_cell_and_index_same_uuid() -> None:
    assert voter_id(2020, 10_000, "ME", 2, 5) == stable_id(2020, 10_000, "ME", 2, 5)
    assert voter_id(2020, 10_000, "WY", None, 0) == voter_id(
        2020, 10_000, "WY", None, 0
    )
    assert voter_id(2020, 10_000, "WY", None, 0) != voter_id(
        2024, 10_000, "WY", None, 0
    )


def test_iter_voters_ids_unique_deterministic_and_indexed_from_zero() -> None:
    scenario = load_scenario(2020, 10_000)

    voters = list(iter_voters(scenario))
    assert len(voters) == scenario.total_registrations
    assert len({voter.voter_id for voter in voters}) == len(voters)
    assert [v.voter_id for v in voters] == [v.voter_id for v in iter_voters(scenario)]
    first = voters[0]
    assert (first.state, first.district, first.index) == ("AL", None, 0)
    assert first.voter_id == stable_id(2020, 10_000, "AL", None, 0)


def test_ballot_parties_cell_counts_match_and_parties_mixed() -> None:
    scenario = load_scenario(2020, 10_000)
    cell = scenario.cell("CA")

    parties = ballot_parties(scenario, cell)
    assert Counter(parties) == Counter(dict(cell.votes))
    assert parties == ballot_parties(scenario, cell)
    assert parties != tuple(sorted(parties))


def test_iter_ballots_voters_are_the_first_of_each_cell() -> None:
    scenario = load_scenario(2024, 100_000)

    seen = Counter[tuple[str, int | None]]()
    for ballot in iter_ballots(scenario):
        key = (ballot.voter.state, ballot.voter.district)
        assert ballot.voter.index == seen[key]
        seen[key] += 1
    assert seen == Counter(
        {(c.state, c.district): c.total_votes for c in scenario.cells}
    )


def test_apportion_fractions_largest_remainders_get_the_units() -> None:
    quotas = [Fraction(27, 10), Fraction(36, 10), Fraction(37, 10)]

    assert apportion(10, quotas) == [3, 3, 4]
    assert apportion(9, quotas) == [3, 3, 3]  # a tie of remainders: the first wins


def test_apportion_total_out_of_reach_raises() -> None:
    with pytest.raises(ScenarioError, match="cannot apportion 9"):
        apportion(9, [Fraction(1, 2), Fraction(1, 2)])


def test_load_scenario_unknown_year_raises_with_choices() -> None:
    with pytest.raises(ScenarioError, match=r"year 2016.*\[2020, 2024\]"):
        load_scenario(2016)


@pytest.mark.parametrize("ratio", [0, -5, 2.5])
def test_load_scenario_bad_ratio_raises(ratio: object) -> None:
    with pytest.raises(ScenarioError, match="ratio must be a whole number"):
        load_scenario(2020, ratio)  # type: ignore[arg-type]


def test_load_scenario_unknown_mode_raises() -> None:
    with pytest.raises(ScenarioError, match="unknown mode 'fancy'"):
        load_scenario(2020, mode="fancy")  # type: ignore[arg-type]


def test_load_scenario_missing_seeds_raises_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="pres_results_2020.csv.*missing"):
        load_scenario(2020, seeds_dir=tmp_path)


def test_load_scenario_coarse_ratio_warns_of_unreachable_winners(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="election.scenario"):
        scenario = load_scenario(2020, 1_000_000)

    assert "use a smaller ratio" in caplog.text
    assert scenario.total_votes == 158
