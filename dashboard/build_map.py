"""Turns the vendored us-atlas TopoJSON into the SVG shapes the map draws.

Run at development time, after updating the vendored atlas:

    python -m dashboard.build_map

It reads `static/vendor/us-atlas/states-albers-10m.json` (already projected to
a 975 x 610 Albers USA viewport by its authors) and writes `static/map/us.json`:
one SVG path per state and DC, a label point for each, and the boxes that show
the small eastern states and the congressional districts of Maine and Nebraska.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).resolve().parent / "static"
ATLAS_PATH = STATIC_DIR / "vendor" / "us-atlas" / "states-albers-10m.json"
MAP_PATH = STATIC_DIR / "map" / "us.json"

MAP_WIDTH = 975
MAP_HEIGHT = 610
BOX_COLUMN_X = 985
VIEW_WIDTH = 1070

Point = tuple[float, float]
Ring = list[Point]

FIPS_CODES: dict[str, str] = {
    "01": "AL", "02": "AK", "04": "AZ", "05": "AR", "06": "CA", "08": "CO",
    "09": "CT", "10": "DE", "11": "DC", "12": "FL", "13": "GA", "15": "HI",
    "16": "ID", "17": "IL", "18": "IN", "19": "IA", "20": "KS", "21": "KY",
    "22": "LA", "23": "ME", "24": "MD", "25": "MA", "26": "MI", "27": "MN",
    "28": "MS", "29": "MO", "30": "MT", "31": "NE", "32": "NV", "33": "NH",
    "34": "NJ", "35": "NM", "36": "NY", "37": "NC", "38": "ND", "39": "OH",
    "40": "OK", "41": "OR", "42": "PA", "44": "RI", "45": "SC", "46": "SD",
    "47": "TN", "48": "TX", "49": "UT", "50": "VT", "51": "VA", "53": "WA",
    "54": "WV", "55": "WI", "56": "WY",
}  # fmt: skip
"""USPS code of each state's FIPS code, as the atlas names its geometries."""

SMALL_STATES = ("VT", "NH", "MA", "RI", "CT", "NJ", "DE", "MD", "DC")
"""States too small to label or click on the map: they get a box at the side."""

DISTRICTS = {"ME": 2, "NE": 3}
"""States that give electoral votes by congressional district, and how many."""

LABEL_NUDGES: dict[str, Point] = {
    "FL": (12, 0),
    "LA": (-10, 0),
    "MI": (8, 18),
    "KY": (4, 2),
    "ID": (0, 12),
    "CA": (-8, 0),
    "HI": (-10, -4),
    "NE": (12, -18),
    "ME": (-2, -4),
}
"""Pixels that move a label off its polygon's centroid to where it reads better."""


def decode_arcs(topology: dict[str, Any]) -> list[Ring]:
    """The arcs of a quantized TopoJSON topology, in viewport coordinates."""
    (scale_x, scale_y), (shift_x, shift_y) = (
        topology["transform"]["scale"],
        topology["transform"]["translate"],
    )
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * scale_x + shift_x, y * scale_y + shift_y))
        arcs.append(points)
    return arcs


def ring_points(arcs: list[Ring], indexes: Iterable[int]) -> Ring:
    """A closed ring stitched from arcs; a negative index `~i` runs arc i backwards."""
    ring: Ring = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        ring.extend(arc if not ring else arc[1:])
    return ring


def polygons_of(geometry: dict[str, Any], arcs: list[Ring]) -> list[list[Ring]]:
    """The polygons of a Polygon or MultiPolygon geometry, each a list of rings."""
    raw = geometry["arcs"]
    if geometry["type"] == "Polygon":
        raw = [raw]
    return [[ring_points(arcs, ring) for ring in polygon] for polygon in raw]


def path_data(polygons: Sequence[Sequence[Ring]]) -> str:
    """SVG path data of `polygons`: relative moves, rounded to a tenth of a pixel."""
    parts = []
    for polygon in polygons:
        for ring in polygon:
            start_x, start_y = round(ring[0][0], 1), round(ring[0][1], 1)
            parts.append(f"M{_num(start_x)},{_num(start_y)}")
            last_x, last_y = start_x, start_y
            steps = []
            for x, y in ring[1:-1]:
                x, y = round(x, 1), round(y, 1)
                dx, dy = round(x - last_x, 1), round(y - last_y, 1)
                if dx or dy:
                    steps.append(f"{_num(dx)}{'' if dy < 0 else ','}{_num(dy)}")
                    last_x, last_y = x, y
            parts.append("l" + " ".join(steps) + "z")
    return "".join(parts)


def _num(value: float) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def ring_area_centroid(ring: Ring) -> tuple[float, Point]:
    """Absolute area and centroid of a simple ring (shoelace formula)."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if area == 0:
        return 0.0, ring[0]
    return abs(area) / 2, (cx / (3 * area), cy / (3 * area))


def label_point(code: str, polygons: Sequence[Sequence[Ring]]) -> Point:
    """Where the state's code is written: its largest polygon's centroid, nudged."""
    _, (x, y) = max(ring_area_centroid(polygon[0]) for polygon in polygons)
    dx, dy = LABEL_NUDGES.get(code, (0, 0))
    return round(x + dx, 1), round(y + dy, 1)


def bounding_box(polygons: Sequence[Sequence[Ring]]) -> list[float]:
    """[min x, min y, max x, max y] of `polygons`."""
    xs = [x for polygon in polygons for ring in polygon for x, _ in ring]
    ys = [y for polygon in polygons for ring in polygon for _, y in ring]
    return [round(min(xs), 1), round(min(ys), 1), round(max(xs), 1), round(max(ys), 1)]


def side_boxes(states: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Boxes beside the map: one per small state and per district of ME and NE.

    Each box has the unit it shows, its text, its place and size, and the
    point of the state it points at, for a leader line.
    """
    boxes = []
    y = 96.0
    for district in range(1, DISTRICTS["ME"] + 1):
        boxes.append(
            _box(f"ME-{district}", f"ME-{district}", BOX_COLUMN_X, y, states["ME"])
        )
        y += 24
    y += 26
    for code in SMALL_STATES:
        boxes.append(_box(code, code, BOX_COLUMN_X, y, states[code]))
        y += 24
    # NOTE: Nebraska is wide enough to hold its district boxes under its label.
    nebraska = states["NE"]
    label_x, label_y = nebraska["label"]
    width, gap = 30.0, 3.0
    start = label_x - 1.5 * width - gap + 12
    for district in range(1, DISTRICTS["NE"] + 1):
        x = start + (district - 1) * (width + gap)
        box = _box(f"NE-{district}", f"NE-{district}", x, label_y + 8, nebraska)
        box |= {"width": width, "height": 14.0, "leader": None}
        boxes.append(box)
    return boxes


def _box(
    unit: str, text: str, x: float, y: float, state: dict[str, Any]
) -> dict[str, Any]:
    width, height = (40.0, 18.0) if "-" in unit else (34.0, 18.0)
    return {
        "unit": unit,
        "state": unit.split("-")[0],
        "text": text,
        "x": round(x, 1),
        "y": round(y, 1),
        "width": width,
        "height": height,
        "leader": state["label"],
    }


def build(atlas_path: Path = ATLAS_PATH) -> dict[str, Any]:
    """The map document made from the atlas at `atlas_path`."""
    topology = json.loads(atlas_path.read_text())
    arcs = decode_arcs(topology)
    states: dict[str, dict[str, Any]] = {}
    for geometry in topology["objects"]["states"]["geometries"]:
        code = FIPS_CODES[geometry["id"]]
        polygons = polygons_of(geometry, arcs)
        states[code] = {
            "code": code,
            "name": geometry["properties"]["name"],
            "d": path_data(polygons),
            "label": label_point(code, polygons),
            "bbox": bounding_box(polygons),
            "small": code in SMALL_STATES,
        }
    return {
        "source": "us-atlas 3.0.1 states-albers-10m.json (U.S. Census Bureau, 2017)",
        "view_box": [0, 0, VIEW_WIDTH, MAP_HEIGHT],
        "states": [states[code] for code in sorted(states)],
        "boxes": side_boxes(states),
    }


def main() -> None:
    """`python -m dashboard.build_map [--atlas PATH] [--out PATH]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atlas", type=Path, default=ATLAS_PATH)
    parser.add_argument("--out", type=Path, default=MAP_PATH)
    args = parser.parse_args()
    document = build(args.atlas)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    print(f"wrote {len(document['states'])} states to {args.out}")


if __name__ == "__main__":
    main()
