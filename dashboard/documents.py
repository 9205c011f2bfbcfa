"""The JSON documents the dashboard shows, read from one snapshot of the marts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dashboard.exceptions import (
    InvalidParameter,
    NoResultsYet,
    UnknownElection,
    UnknownState,
)
from dashboard.mapshapes import state_names
from dashboard.marts import NO_RESULTS_HINT, Row, Snapshot

PARTIES = ("DEM", "REP", "OTH")
"""Parties in the order the pages show them."""

TIMELINE_AXES = {"synced": "_synced_at", "cast": "cast_at"}
"""Clocks the votes-over-time chart can follow: arrival in the warehouse, or cast."""

TIMELINE_MAX_POINTS = 120
BUCKET_SECONDS = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
    21600, 43200, 86400, 172800, 604800,
)  # fmt: skip
"""Widths of the chart's time buckets, the narrowest that fits is used."""


def list_elections(snap: Snapshot) -> list[dict[str, Any]]:
    """Every election in the marts, the newest first.

    The newest is the one whose ballots reached the warehouse last (the one a
    running pipeline is filling), then the latest year.
    """
    rows = snap.rows(
        """
        select
            n.election_id, n.election_name, n.election_year, n.ratio,
            n.total_votes, v.last_synced_at
        from {marts}.national_summary as n
        left join (
            select election_id, max(_synced_at) as last_synced_at
            from {marts}.fct_votes
            group by election_id
        ) as v using (election_id)
        order by
            v.last_synced_at desc nulls last, n.election_year desc,
            n.election_id desc
        """
    )
    return [
        {
            "id": row["election_id"],
            "name": row["election_name"],
            "year": row["election_year"],
            "ratio": row["ratio"],
            "total_votes": int(row["total_votes"] or 0),
            "last_synced_at": iso(row["last_synced_at"]),
        }
        for row in rows
    ]


def resolve_election(
    elections: list[dict[str, Any]], election_id: str | None
) -> dict[str, Any]:
    """The election asked for among `elections`, or the newest when none is asked.

    Raises:
        NoResultsYet: when the marts hold no election.
        UnknownElection: when `election_id` is not among `elections`.
    """
    if not elections:
        raise NoResultsYet(
            f"no results yet: the marts hold no election; {NO_RESULTS_HINT}"
        )
    if not election_id:
        return elections[0]
    for election in elections:
        if election["id"] == election_id:
            return election
    known = ", ".join(election["id"] for election in elections)
    raise UnknownElection(
        f"no election {election_id!r} in the marts; pick one of {known}", "election"
    )


def national(snap: Snapshot, election: dict[str, Any]) -> dict[str, Any]:
    """The national picture of `election`: electoral and popular vote, every unit.

    Returns:
        `electoral` (tally per party against the votes to win), `popular`
        (votes and share per party), `turnout` (simulated and official),
        `units` (each state, DC and district with its winner) and `states`
        (one row per state with its winner, shares and turnout).
    """
    election_id = election["id"]
    summary = snap.rows(
        "select * from {marts}.national_summary where election_id = ?", [election_id]
    )[0]
    college: dict[str, Row] = {
        row["party"]: row
        for row in snap.rows(
            "select * from {marts}.electoral_college where election_id = ?",
            [election_id],
        )
    }
    units = _units(snap, election_id)
    turnout = snap.rows(
        "select * from {marts}.turnout_by_state where election_id = ? order by state",
        [election_id],
    )
    return {
        **_header(snap, election),
        "electoral": _electoral(college),
        "winner": (
            {
                "party": summary["winner_party"],
                "candidate": summary["winner_candidate_name"],
            }
            if summary["winner_party"]
            else None
        ),
        "popular": {
            "total": int(summary["total_votes"]),
            "parties": [
                {
                    "party": party,
                    "candidate": _candidate(college, party),
                    "votes": int(summary[f"{party.lower()}_votes"]),
                    "share": summary[f"{party.lower()}_share"],
                }
                for party in PARTIES
            ],
        },
        "turnout": {
            "eligible": int(summary["eligible"]),
            "voted": int(summary["voted"]),
            "rate": summary["turnout_rate"],
            "official_votes": summary["official_votes"],
            "official_eligible": summary["official_eligible"],
            "official_rate": summary["official_turnout_rate"],
        },
        "units": units,
        "states": _states(units, turnout),
    }


def state(snap: Snapshot, election: dict[str, Any], code: str) -> dict[str, Any]:
    """One state of `election`: its candidates, units (districts too) and turnout.

    Raises:
        UnknownState: when `code` is not a state of the election.
    """
    election_id = election["id"]
    code = code.upper()
    units = [unit for unit in _units(snap, election_id) if unit["state"] == code]
    if not units:
        raise UnknownState(
            f"no state {code!r} in election {election_id!r}; use a two-letter "
            "code such as PA, or DC",
            "code",
        )
    candidates = snap.rows(
        """
        select party, candidate_name, votes, vote_share
        from {marts}.election_results
        where election_id = ? and state = ?
        order by votes desc, party
        """,
        [election_id, code],
    )
    turnout = snap.rows(
        "select * from {marts}.turnout_by_state where election_id = ? and state = ?",
        [election_id, code],
    )
    return {
        **_header(snap, election),
        "state": {"code": code, "name": state_names().get(code, code)},
        "candidates": [
            {
                "party": row["party"],
                "candidate": row["candidate_name"],
                "votes": int(row["votes"]),
                "share": row["vote_share"],
            }
            for row in candidates
        ],
        "units": units,
        "turnout": _turnout(turnout[0]) if turnout else None,
    }


def timeline(snap: Snapshot, election: dict[str, Any], by: str) -> dict[str, Any]:
    """Votes counted over time in `election`, cumulative per party.

    Args:
        snap: The marts.
        election: The election, from `resolve_election`.
        by: `synced` follows when ballots reached the warehouse (the pace of a
            running pipeline); `cast` follows when voters cast them.

    Raises:
        InvalidParameter: when `by` is neither.
    """
    if by not in TIMELINE_AXES:
        raise InvalidParameter(
            f"unknown timeline clock {by!r}; use one of {', '.join(TIMELINE_AXES)}",
            "by",
        )
    column = TIMELINE_AXES[by]
    votes = f"""
        with votes as (
            select v.{column} as counted_at, c.party
            from {{marts}}.fct_votes as v
            join (
                select distinct candidate_id, party
                from {{marts}}.election_results
                where election_id = $election
            ) as c using (candidate_id)
            where v.election_id = $election and v.{column} is not null
        )
    """
    span = snap.rows(
        votes
        + "select epoch(min(counted_at)) as first_s, epoch(max(counted_at)) as last_s "
        "from votes",
        {"election": election["id"]},
    )[0]
    points: list[dict[str, Any]] = []
    width = 1
    if span["first_s"] is not None:
        width = _bucket_width(span["last_s"] - span["first_s"])
        counts = snap.rows(
            votes
            + """
            select
                cast(floor(epoch(counted_at) / $width) * $width as bigint) as bucket,
                party,
                count(*) as votes
            from votes
            group by all
            order by bucket
            """,
            {"election": election["id"], "width": width},
        )
        points = _cumulative(counts, width)
    return {
        **_header(snap, election),
        "by": by,
        "bucket_seconds": width,
        "points": points,
    }


def _header(snap: Snapshot, election: dict[str, Any]) -> dict[str, Any]:
    return {"election": election, "published_at": iso(snap.published_at)}


def _units(snap: Snapshot, election_id: str) -> list[dict[str, Any]]:
    rows = snap.rows(
        """
        select w.*, o.official_winner_party, o.winner_matches,
            o.official_votes, o.official_dem_share, o.official_rep_share,
            o.official_oth_share
        from {marts}.state_winners as w
        left join {marts}.results_vs_official as o using (election_id, unit_code)
        where w.election_id = ?
        order by w.state, w.district nulls first
        """,
        [election_id],
    )
    return [
        {
            "unit": row["unit_code"],
            "state": row["state"],
            "district": row["district"],
            "electoral_votes": int(row["electoral_votes"]),
            "votes": {party: int(row[f"{party.lower()}_votes"]) for party in PARTIES},
            "total_votes": int(row["total_votes"]),
            "margin_votes": int(row["margin_votes"]),
            "winner": row["winner_party"],
            "is_tie": bool(row["is_tie"]),
            "official_winner": row["official_winner_party"],
            "winner_matches": row["winner_matches"],
            "official_votes": row["official_votes"],
            "official_shares": {
                party: row[f"official_{party.lower()}_share"] for party in PARTIES
            },
        }
        for row in rows
    ]


def _electoral(college: dict[str, Row]) -> dict[str, Any]:
    any_row = next(iter(college.values()), {})
    return {
        "to_win": int(any_row.get("electoral_votes_to_win") or 270),
        "total": int(any_row.get("total_electoral_votes") or 538),
        "parties": [
            {
                "party": party,
                "candidate": _candidate(college, party),
                "electoral_votes": int(
                    college.get(party, {}).get("electoral_votes") or 0
                ),
                "is_winner": bool(college.get(party, {}).get("is_winner")),
            }
            for party in PARTIES
        ],
        "unassigned": int(college.get("UNASSIGNED", {}).get("electoral_votes", 0)),
    }


def _candidate(college: dict[str, Row], party: str) -> str | None:
    return college.get(party, {}).get("candidate_name")


def _states(units: list[dict[str, Any]], turnout: list[Row]) -> list[dict[str, Any]]:
    statewide = {unit["state"]: unit for unit in units if unit["district"] is None}
    names = state_names()
    states = []
    for row in turnout:
        unit = statewide.get(row["state"])
        total = unit["total_votes"] if unit else 0
        states.append(
            {
                "code": row["state"],
                "name": names.get(row["state"], row["state"]),
                "electoral_votes": unit["electoral_votes"] if unit else None,
                "winner": unit["winner"] if unit else None,
                "is_tie": unit["is_tie"] if unit else False,
                "official_winner": unit["official_winner"] if unit else None,
                "total_votes": total,
                "shares": {
                    party: (unit["votes"][party] / total if unit and total else None)
                    for party in PARTIES
                },
                "turnout": _turnout(row),
            }
        )
    return sorted(states, key=lambda row: row["name"])


def _turnout(row: Row) -> dict[str, Any]:
    return {
        "registered": int(row["registered"] or 0),
        "removed": int(row["removed"] or 0),
        "eligible": int(row["eligible"]),
        "voted": int(row["voted"]),
        "rate": row["turnout_rate"],
        "official_votes": row["official_votes"],
        "official_eligible": row["official_eligible"],
        "official_rate": row["official_turnout_rate"],
    }


def _bucket_width(span_seconds: float) -> int:
    for width in BUCKET_SECONDS:
        if span_seconds / width <= TIMELINE_MAX_POINTS:
            return width
    return BUCKET_SECONDS[-1]


def _cumulative(counts: list[Row], width: int) -> list[dict[str, Any]]:
    """Running totals at the end of each bucket, from zero at the first one's start."""
    if not counts:
        return []
    totals = dict.fromkeys(PARTIES, 0)
    first = counts[0]["bucket"]
    points = [_point(first, totals)]
    by_bucket: dict[int, dict[str, int]] = {}
    for row in counts:
        by_bucket.setdefault(row["bucket"], {})[row["party"]] = int(row["votes"])
    for bucket, votes in by_bucket.items():
        for party, count in votes.items():
            totals[party] = totals.get(party, 0) + count
        points.append(_point(bucket + width, totals))
    return points


def _point(epoch_seconds: int, totals: dict[str, int]) -> dict[str, Any]:
    at = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return {"t": iso(at), **totals, "total": sum(totals.values())}


def iso(value: datetime | None) -> str | None:
    """`value` as an ISO 8601 string in UTC ending in Z; None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
