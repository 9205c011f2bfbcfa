"""The map shapes: every state and DC, built from the vendored atlas as committed."""

from __future__ import annotations

import json

from dashboard.build_map import ATLAS_PATH, MAP_PATH, SMALL_STATES, build
from dashboard.mapshapes import state_names, us_map


def test_committed_map_is_what_the_vendored_atlas_builds() -> None:
    committed = json.loads(MAP_PATH.read_text())

    assert json.loads(json.dumps(build(ATLAS_PATH))) == committed


def test_map_has_the_50_states_and_dc_each_with_a_closed_path() -> None:
    states = us_map()["states"]

    assert len(states) == 51
    assert state_names()["DC"] == "District of Columbia"
    for state in states:
        assert state["d"].startswith("M") and state["d"].endswith("z"), state["code"]


def test_small_states_and_districts_get_boxes_beside_the_map() -> None:
    boxes = {box["unit"] for box in us_map()["boxes"]}

    assert boxes == {*SMALL_STATES, "ME-1", "ME-2", "NE-1", "NE-2", "NE-3"}


def test_boxes_fit_inside_the_view() -> None:
    _, _, width, height = us_map()["view_box"]

    for box in us_map()["boxes"]:
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box["unit"]
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, box["unit"]
