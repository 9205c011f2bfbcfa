"""Scenarios: an official presidential election scaled down to quotas per cell."""

from __future__ import annotations

import csv
import heapq
import logging
import math
import random
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Literal, TypeVar, cast

from election.contracts import (
    DISTRICTS,
    PARTIES,
    STATE_CODES,
    Party,
    election_id,
    stable_id,
)
from election.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

SEEDS_DIR = PROJECT_ROOT / "dbt" / "seeds"
DEFAULT_RATIO = 10_000
ELECTION_DAYS = {2020: date(2020, 11, 3), 2024: date(2024, 11, 5)}
OTHER_CANDIDATES = "Other candidates"

T = TypeVar("T")
Mode = Literal["exact", "random"]
Contest = tuple[str, int | None]
"""A contest that awards electors: (state, None) statewide, (state, n) a district."""


class ScenarioError(ValueError):
    """A scenario that cannot be built from the arguments or the seed files."""


@dataclass(frozen=True)
class Cell:
    """The quotas of one electoral cell: a state, or a district of Maine or Nebraska.

    Attributes:
        state: Two-letter code of the state, or DC.
        district: Congressional district in ME and NE, None elsewhere.
        registrations: Voters to register in the cell.
        votes: Ballots to cast per party (DEM, REP, OTH); never more in total
            than `registrations`.
    """

    state: str
    district: int | None
    registrations: int
    votes: Mapping[Party, int]

    @property
    def total_votes(self) -> int:
        """Ballots cast in the cell, all parties together."""
        return sum(self.votes.values())


@dataclass(frozen=True)
class Scenario:
    """An official election at one simulated voter for `ratio` eligible people.

    Attributes:
        year: Year of the election, 2020 or 2024.
        ratio: People represented by one simulated voter or ballot.
        mode: `exact` (largest remainder, totals exact) or `random` (seeded draws).
        seed: Seed of the random mode, None in the exact mode.
        election_id: Id of the election in the events, `us2020-r10000`.
        election_day: The general election day.
        candidates: Name of the candidate of each party (OTH: all the others).
        cells: Quotas per cell, in the order of STATE_CODES then district.
        electors: Electoral votes each contest awards; ME and NE award 2
            statewide and 1 per district.
        official_winners: Party that won each contest officially.
    """

    year: int
    ratio: int
    mode: Mode
    seed: int | None
    election_id: str
    election_day: date
    candidates: Mapping[Party, str]
    cells: tuple[Cell, ...]
    electors: Mapping[Contest, int]
    official_winners: Mapping[Contest, Party]

    @property
    def total_registrations(self) -> int:
        """Voters registered in all cells."""
        return sum(cell.registrations for cell in self.cells)

    @property
    def total_votes(self) -> int:
        """Ballots cast in all cells."""
        return sum(cell.total_votes for cell in self.cells)

    @property
    def party_votes(self) -> dict[Party, int]:
        """Ballots per party, nationwide."""
        return {p: sum(cell.votes[p] for cell in self.cells) for p in PARTIES}

    @property
    def electoral_votes(self) -> dict[str, int]:
        """Electoral votes of each state, districts included."""
        totals: Counter[str] = Counter()
        for (state, _district), count in self.electors.items():
            totals[state] += count
        return dict(totals)

    def cell(self, state: str, district: int | None = None) -> Cell:
        """The cell of `state` (and `district` in ME and NE).

        Raises:
            KeyError: when the scenario has no such cell.
        """
        for cell in self.cells:
            if cell.state == state and cell.district == district:
                return cell
        raise KeyError(
            f"no cell ({state!r}, {district!r}) in {self.election_id}: use a state "
            f"code, with a district only for {sorted(DISTRICTS)}"
        )


@dataclass(frozen=True)
class Voter:
    """One simulated voter: the `index`-th (from 0) of its cell."""

    voter_id: uuid.UUID
    state: str
    district: int | None
    index: int


@dataclass(frozen=True)
class Ballot:
    """The ballot a voter casts for a party."""

    voter: Voter
    party: Party


@dataclass(frozen=True)
class _Official:
    """Official figures of one year, read from the seed files."""

    candidates: dict[Party, str]
    vep: dict[str, int]
    votes: dict[Contest, dict[Party, int]]
    electors: dict[Contest, int]
    winners: dict[Contest, Party]


def load_scenario(
    year: int,
    ratio: int = DEFAULT_RATIO,
    *,
    mode: Mode = "exact",
    seed: int = 0,
    seeds_dir: Path | None = None,
) -> Scenario:
    """Build the quotas of the `year` election at one voter for `ratio` people.

    Exact mode apportions by largest remainder at two levels so totals are exact:

    - registrations: round(sum VEP / ratio) voters go to the cells by the largest
      remainder of VEP / ratio (ME and NE split their VEP among districts in
      proportion to each district's total votes);
    - votes: round(sum total votes / ratio) ballots go to the states by the
      largest remainder of total votes / ratio, then each state's ballots go to
      its (district, party) cells by the largest remainder of votes / ratio.

    Largest remainder never reverses the order of two parties in a cell; a tie
    between a contest's official winner and its runner-up is broken by moving one
    ballot to the winner, so every winner matches the official one where the
    ratio leaves the runner-up a ballot to move.

    Random mode draws the same national registrations over the cells in
    proportion to VEP (multinomial), then each registered voter of a cell votes
    for a party, or abstains, with the official shares of the cell.

    Args:
        year: 2020 or 2024.
        ratio: People represented by one simulated voter; 1 or more.
        mode: `exact` or `random`.
        seed: Seed of the random mode; ignored in the exact mode.
        seeds_dir: Folder of the seed CSVs; default PROJECT_ROOT/dbt/seeds.

    Returns:
        The scenario, the same for the same arguments on every run.

    Raises:
        ScenarioError: when the year, ratio or mode is not supported or a seed
            file is missing or inconsistent.
    """
    if year not in ELECTION_DAYS:
        raise ScenarioError(
            f"no scenario for year {year!r}: use one of {sorted(ELECTION_DAYS)}"
        )
    if isinstance(ratio, bool) or not isinstance(ratio, int) or ratio < 1:
        raise ScenarioError(
            f"ratio must be a whole number of people per voter, 1 or more; "
            f"got {ratio!r}: use e.g. {DEFAULT_RATIO}"
        )
    official = _read_official(year, seeds_dir or SEEDS_DIR)

    # quotas per cell, exact fractions
    contests = list(official.votes)
    cells_keys = [c for c in contests if c[1] is not None or c[0] not in DISTRICTS]
    vep_quota = {key: _cell_vep(official, key) / ratio for key in cells_keys}
    vote_quota = {
        key: {p: Fraction(official.votes[key][p], ratio) for p in PARTIES}
        for key in cells_keys
    }

    if mode == "exact":
        registrations = _exact_registrations(vep_quota)
        votes = _exact_votes(vote_quota)
        _break_ties(votes, official, ratio)
    elif mode == "random":
        rng = random.Random(seed)
        registrations = _random_registrations(vep_quota, rng)
        votes = _random_votes(vep_quota, vote_quota, registrations, rng)
    else:
        raise ScenarioError(f"unknown mode {mode!r}: use 'exact' or 'random'")
    _cover_votes(registrations, votes)

    cells = tuple(
        Cell(
            state, district, registrations[(state, district)], votes[(state, district)]
        )
        for state, district in cells_keys
    )
    return Scenario(
        year=year,
        ratio=ratio,
        mode=mode,
        seed=seed if mode == "random" else None,
        election_id=election_id(year, ratio),
        election_day=ELECTION_DAYS[year],
        candidates=official.candidates,
        cells=cells,
        electors=official.electors,
        official_winners=official.winners,
    )


def voter_id(
    year: int, ratio: int, state: str, district: int | None, index: int
) -> uuid.UUID:
    """Id of the `index`-th voter (from 0) of a cell; the same on every run."""
    return stable_id(year, ratio, state, district, index)


def iter_voters(scenario: Scenario) -> Iterator[Voter]:
    """Every registered voter of `scenario`, cell by cell, index 0 first."""
    for cell in scenario.cells:
        for index in range(cell.registrations):
            yield _voter(scenario, cell, index)


def ballot_parties(scenario: Scenario, cell: Cell) -> tuple[Party, ...]:
    """The party of each ballot of `cell`: item i is the choice of voter i.

    Voters 0 to total_votes - 1 of the cell vote; the parties are mixed among
    them by a shuffle seeded by the cell, so the vote producer needs no database.
    """
    parties: list[Party] = [p for p in PARTIES for _ in range(cell.votes[p])]
    seed = f"ballots|{scenario.year}|{scenario.ratio}|{cell.state}|{cell.district}"
    random.Random(seed).shuffle(parties)
    return tuple(parties)


def iter_ballots(scenario: Scenario) -> Iterator[Ballot]:
    """Every ballot of `scenario`, cell by cell, in the order of voter indexes."""
    for cell in scenario.cells:
        for index, party in enumerate(ballot_parties(scenario, cell)):
            yield Ballot(_voter(scenario, cell, index), party)


def contest_votes(scenario: Scenario) -> dict[Contest, dict[Party, int]]:
    """Ballots per party of each contest; ME and NE sum their districts statewide."""
    totals: dict[Contest, dict[Party, int]] = {}
    for cell in scenario.cells:
        keys = [(cell.state, None)]
        if cell.district is not None:
            keys.append((cell.state, cell.district))
        for key in keys:
            row = totals.setdefault(key, dict.fromkeys(PARTIES, 0))
            for party in PARTIES:
                row[party] += cell.votes[party]
    return totals


def contest_winners(scenario: Scenario) -> dict[Contest, Party | None]:
    """The party with most ballots in each contest, None on a tie for first."""
    return {key: _winner(row) for key, row in contest_votes(scenario).items()}


def electoral_college(scenario: Scenario) -> dict[Party, int]:
    """Electoral votes each party wins with the scenario's ballots.

    Electors of a contest tied for first go to no one, so the counts may sum
    to less than 538 at a coarse ratio.
    """
    result = dict.fromkeys(PARTIES, 0)
    for key, winner in contest_winners(scenario).items():
        if winner is not None:
            result[winner] += scenario.electors[key]
    return result


def apportion(total: int, quotas: Sequence[Fraction]) -> list[int]:
    """Split `total` into whole numbers near `quotas` by the largest remainder.

    Each item gets the floor of its quota; the units still missing go one each to
    the largest fractional parts, the first item winning a tie.

    Raises:
        ScenarioError: when `total` is not within the floors and ceilings.
    """
    counts = [math.floor(quota) for quota in quotas]
    missing = total - sum(counts)
    if not 0 <= missing <= len(quotas):
        raise ScenarioError(
            f"cannot apportion {total} among quotas summing to "
            f"{float(sum(quotas)):.3f}: the total must be their sum rounded"
        )
    order = sorted(range(len(quotas)), key=lambda i: (counts[i] - quotas[i], i))
    for i in order[:missing]:
        counts[i] += 1
    return counts


def _round(value: Fraction) -> int:
    """`value` rounded to the nearest whole number, halves up."""
    return math.floor(value + Fraction(1, 2))


def _voter(scenario: Scenario, cell: Cell, index: int) -> Voter:
    """The `index`-th voter of `cell`."""
    vid = voter_id(scenario.year, scenario.ratio, cell.state, cell.district, index)
    return Voter(vid, cell.state, cell.district, index)


def _winner(row: Mapping[Party, int]) -> Party | None:
    """The party with most votes in `row`, None on a tie for first."""
    ranked = sorted(PARTIES, key=lambda p: row[p], reverse=True)
    return None if row[ranked[0]] == row[ranked[1]] else ranked[0]


def _cell_vep(official: _Official, key: Contest) -> Fraction:
    """VEP of a cell; a district gets its state's VEP times its share of votes."""
    state, district = key
    if district is None:
        return Fraction(official.vep[state])
    state_total = sum(official.votes[(state, None)].values())
    return Fraction(
        official.vep[state] * sum(official.votes[key].values()), state_total
    )


def _exact_registrations(vep_quota: dict[Contest, Fraction]) -> dict[Contest, int]:
    """National registrations, round(sum of quotas), apportioned to the cells."""
    keys = list(vep_quota)
    quotas = [vep_quota[key] for key in keys]
    return dict(zip(keys, apportion(_round(sum(quotas)), quotas), strict=True))


def _exact_votes(
    vote_quota: dict[Contest, dict[Party, Fraction]],
) -> dict[Contest, dict[Party, int]]:
    """National ballots apportioned to the states, then to their party cells."""
    states = list(dict.fromkeys(state for state, _ in vote_quota))
    state_quotas = [
        sum(sum(row.values()) for (s, _), row in vote_quota.items() if s == state)
        for state in states
    ]
    state_totals = apportion(_round(sum(state_quotas)), state_quotas)

    votes: dict[Contest, dict[Party, int]] = {}
    for state, state_total in zip(states, state_totals, strict=True):
        items = [(key, p) for key in vote_quota if key[0] == state for p in PARTIES]
        counts = apportion(state_total, [vote_quota[key][p] for key, p in items])
        for (key, party), count in zip(items, counts, strict=True):
            votes.setdefault(key, {})[party] = count
    return votes


def _break_ties(
    votes: dict[Contest, dict[Party, int]], official: _Official, ratio: int
) -> None:
    """Move ballots to each contest's official winner until it leads, in place.

    Cells come first; the statewide contests of ME and NE come last, so moving a
    ballot inside a district they won cannot undo a fix already made.
    """
    ordered = sorted(
        official.winners.items(), key=lambda kv: _is_split_statewide(kv[0])
    )
    for contest, winner in ordered:
        state, district = contest
        if not _is_split_statewide(contest):
            _lead(votes[contest], winner, contest, ratio)
            continue
        # a statewide contest of ME or NE: move within a district the winner won
        while True:
            total = {
                p: sum(votes[(state, d)][p] for d in DISTRICTS[state]) for p in PARTIES
            }
            rival = max((p for p in PARTIES if p != winner), key=lambda p: total[p])
            if total[winner] > total[rival]:
                break
            ours = [
                (state, d)
                for d in DISTRICTS[state]
                if official.winners[(state, d)] == winner and votes[(state, d)][rival]
            ]
            if not ours:
                _warn_tie(contest, winner, ratio)
                break
            votes[ours[0]][rival] -= 1
            votes[ours[0]][winner] += 1


def _is_split_statewide(contest: Contest) -> bool:
    """Whether `contest` is the statewide contest of a state voting by district."""
    return contest[1] is None and contest[0] in DISTRICTS


def _lead(row: dict[Party, int], winner: Party, contest: Contest, ratio: int) -> None:
    """Move ballots of `row` from the strongest rival to `winner` until it leads."""
    while True:
        rival = max((p for p in PARTIES if p != winner), key=lambda p: row[p])
        if row[winner] > row[rival]:
            return
        if row[rival] == 0:
            _warn_tie(contest, winner, ratio)
            return
        row[rival] -= 1
        row[winner] += 1


def _warn_tie(contest: Contest, winner: Party, ratio: int) -> None:
    """Log that `contest` cannot show its official winner at `ratio`."""
    logger.warning(
        "contest %s cannot show its official winner %s at 1:%s: too few ballots; "
        "use a smaller ratio",
        contest,
        winner,
        f"{ratio:,}",
    )


def _cover_votes(
    registrations: dict[Contest, int], votes: dict[Contest, dict[Party, int]]
) -> None:
    """Move registrations to cells with more ballots than voters, in place."""
    slack = [(-(registrations[k] - sum(votes[k].values())), k) for k in registrations]
    heapq.heapify(slack)
    moved = 0
    for key in registrations:
        while registrations[key] < sum(votes[key].values()):
            negative, donor = heapq.heappop(slack)
            if -negative <= 0:
                raise ScenarioError(
                    f"more ballots than registrations at this ratio "
                    f"({sum(registrations.values())} voters): use a smaller ratio"
                )
            registrations[donor] -= 1
            registrations[key] += 1
            moved += 1
            heapq.heappush(slack, (negative + 1, donor))
    if moved:
        logger.info(
            "moved %d registrations to cells with more ballots than voters", moved
        )


def _random_registrations(
    vep_quota: dict[Contest, Fraction], rng: random.Random
) -> dict[Contest, int]:
    """National registrations drawn over the cells in proportion to VEP."""
    keys = list(vep_quota)
    total = _round(sum(vep_quota.values()))
    weights = [float(vep_quota[key]) for key in keys]
    drawn = Counter(rng.choices(range(len(keys)), weights=weights, k=total))
    return {key: drawn[i] for i, key in enumerate(keys)}


def _random_votes(
    vep_quota: dict[Contest, Fraction],
    vote_quota: dict[Contest, dict[Party, Fraction]],
    registrations: dict[Contest, int],
    rng: random.Random,
) -> dict[Contest, dict[Party, int]]:
    """Each registered voter votes for a party, or abstains, at official shares."""
    votes: dict[Contest, dict[Party, int]] = {}
    for key, row in vote_quota.items():
        abstain = max(vep_quota[key] - sum(row.values()), Fraction(0))
        choices: list[Party | None] = [*PARTIES, None]
        weights = [float(row[p]) for p in PARTIES] + [float(abstain)]
        drawn = Counter(rng.choices(choices, weights=weights, k=registrations[key]))
        votes[key] = {p: drawn[p] for p in PARTIES}
    return votes


def _read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a seed CSV as dicts."""
    if not path.is_file():
        raise ScenarioError(
            f"seed file {str(path)!r} is missing: run from a checkout that has "
            f"dbt/seeds, or pass seeds_dir"
        )
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _read_official(year: int, seeds_dir: Path) -> _Official:
    """Official candidates, VEP, votes, electors and winners of `year`."""
    results = _read_csv(seeds_dir / f"pres_results_{year}.csv")
    turnout = _read_csv(seeds_dir / "vep_turnout_2020_2024.csv")
    districts = _read_csv(seeds_dir / "district_results.csv")
    splits = _read_csv(seeds_dir / "electoral_splits.csv")

    first = results[0]
    candidates: dict[Party, str] = {
        "DEM": first["dem_candidate"],
        "REP": first["rep_candidate"],
        "OTH": OTHER_CANDIDATES,
    }
    vep = {
        row["state_po"]: int(row["vep"]) for row in turnout if int(row["year"]) == year
    }
    votes: dict[Contest, dict[Party, int]] = {}
    electors: dict[Contest, int] = {}
    for row in results:
        votes[(row["state_po"], None)] = _party_row(row)
        electors[(row["state_po"], None)] = int(row["electoral_votes"])
    for row in districts:
        if int(row["year"]) == year:
            votes[(row["state_po"], int(row["district"]))] = _party_row(row)

    winners = {key: _winner_of(row) for key, row in votes.items()}
    for row in splits:
        if int(row["year"]) != year:
            continue
        district = None if row["district"] == "STATEWIDE" else int(row["district"])
        electors[(row["state_po"], district)] = int(row["electoral_votes"])
        winners[(row["state_po"], district)] = _party(row["winner_party"])

    official = _Official(candidates, vep, _ordered(votes), _ordered(electors), winners)
    _check_official(year, official)
    return official


def _party_row(row: Mapping[str, str]) -> dict[Party, int]:
    """Votes per party of a seed row."""
    return {
        "DEM": int(row["dem_votes"]),
        "REP": int(row["rep_votes"]),
        "OTH": int(row["other_votes"]),
    }


def _party(value: str) -> Party:
    """`value` as a party code."""
    if value not in PARTIES:
        raise ScenarioError(
            f"electoral_splits seed names party {value!r}: use one of {list(PARTIES)}"
        )
    return cast(Party, value)


def _winner_of(row: Mapping[Party, int]) -> Party:
    """The party with most official votes."""
    return max(PARTIES, key=lambda p: row[p])


def _ordered(items: dict[Contest, T]) -> dict[Contest, T]:
    """`items` in the order of STATE_CODES, statewide before districts."""
    return dict(
        sorted(
            items.items(), key=lambda kv: (STATE_CODES.index(kv[0][0]), kv[0][1] or 0)
        )
    )


def _check_official(year: int, official: _Official) -> None:
    """Raise when the seed files miss a state or disagree with each other."""
    for name, keys in (
        ("pres_results", {s for s, d in official.votes if d is None}),
        ("vep_turnout", set(official.vep)),
    ):
        missing = sorted(set(STATE_CODES) - keys)
        if missing:
            raise ScenarioError(
                f"{name} seed of {year} has no row for {missing}: restore the "
                f"file from the repository"
            )
    for state, numbers in DISTRICTS.items():
        parts = [official.votes.get((state, d)) for d in numbers]
        if any(part is None for part in parts):
            raise ScenarioError(
                f"district_results seed of {year} misses a district of {state}: "
                f"it needs districts {list(numbers)}"
            )
        statewide = official.votes[(state, None)]
        summed = {p: sum(part[p] for part in parts if part) for p in PARTIES}
        if summed != statewide:
            raise ScenarioError(
                f"districts of {state} in {year} add up to {summed}, not to the "
                f"statewide {statewide}: fix district_results.csv"
            )
