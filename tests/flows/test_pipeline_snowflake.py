"""The main job with Snowflake as the warehouse, against the fakesnow emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from election.settings import Settings, get_settings
from flows.pipeline import run_election

pytestmark = pytest.mark.slow


@pytest.fixture
def on_snowflake(
    stack: Settings,
    emulator: Callable[[], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    """The session's stack, with a fresh fakesnow database as the warehouse."""
    for name, value in emulator().items():
        text = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        monkeypatch.setenv(f"ELECTION_{name.upper()}", str(text))
    get_settings.cache_clear()
    yield get_settings()
    monkeypatch.undo()
    get_settings.cache_clear()


def test_snowflake_gives_the_same_result_as_the_official_one(
    on_snowflake: Settings,
) -> None:
    results = run_election(scenario=2024, ratio=100_000)

    assert on_snowflake.warehouse == "snowflake"
    assert results["electoral_votes"] == {"DEM": 226, "REP": 312, "OTH": 0}
    assert results["winners_differing_from_official"] == []
    for kind, stages in results["counts"].items():
        assert set(stages.values()) == {results["expected"][kind]}, (kind, stages)
    assert "report" not in results
