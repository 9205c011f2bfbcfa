"""Rows of the warehouse's raw tables, as the sync's CSV extracts carry them."""

from __future__ import annotations

from datetime import UTC, datetime

CAST_AT = datetime(2020, 11, 3, 23, 59, 59, 999_999, tzinfo=UTC)
CREATED = datetime(2020, 11, 3, 12, 0, tzinfo=UTC)


def a_vote(vote_id: str, **overrides: object) -> dict[str, object]:
    """A row of raw.votes; keyword arguments override its columns."""
    row: dict[str, object] = {
        "vote_id": vote_id,
        "election_id": "us2020-r10000",
        "voter_id": f"voter-of-{vote_id}",
        "candidate_id": "us2020-r10000-dem",
        "state": "PA",
        "district": None,
        "cast_at": CAST_AT,
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    row.update(overrides)
    return row
