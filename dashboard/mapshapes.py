"""The state shapes of the map, made by `dashboard.build_map` and shipped as JSON."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from dashboard.build_map import MAP_PATH


@lru_cache
def us_map() -> dict[str, Any]:
    """The map document: `view_box`, `states` (code, name, path, label) and `boxes`."""
    document: dict[str, Any] = json.loads(MAP_PATH.read_text())
    return document


@lru_cache
def state_names() -> dict[str, str]:
    """The name of each state code of the map, DC included."""
    return {state["code"]: state["name"] for state in us_map()["states"]}
