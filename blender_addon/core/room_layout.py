"""A procedural room per image (pure, no bpy): its size and a furniture arrangement drawn from ``rng_for(seed,
"layout")`` by a :class:`shared_schema.config.RoomLayout`.

The room is a rectangle centred under the camera. Tables (one size per room) stand parallel to the walls in rows: a
grid of cells, each a table with the chairs along its long sides and half an aisle around them, so neighbours keep
``aisle_m`` between their chairs; chairs fill the places along the long sides (``chair_fill``); shelves stand
against the walls an aisle clear of every table's chairs. The result
is plain :class:`shared_schema.config.ObstacleSpec` records, so placement, furniture and annotation treat a drawn
room exactly like a configured one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared_schema.config import ObstacleSpec, RoomLayout

from .placement import polygons_overlap

#: A chair's square footprint (metres), its gap to the table edge (pulled out for its sitter: at 0.12 m, half of
#: the seated bodies met the table) and the width of one place along a table.
CHAIR_M, CHAIR_GAP_M, PLACE_M = 0.46, 0.2, 0.7
SEAT_HEIGHT_M, CHAIR_HEIGHT_M = 0.46, 0.45
SHELF_DEPTH_M, WALL_GAP_M = 0.4, 0.05
#: Clips of drawn sizes (metres), whatever distribution the config gives: room sides, table length, width and
#: height, shelf height.
ROOM_M = (3.5, 20.0)
TABLE_LENGTH_M, TABLE_WIDTH_M, TABLE_HEIGHT_M = (0.6, 4.0), (0.5, 2.0), (0.5, 1.2)
SHELF_HEIGHT_M = (0.5, 2.5)
ATTEMPTS = 40


@dataclass(frozen=True)
class DrawnRoom:
    """A drawn room: its floor polygon (counter-clockwise) and furniture."""

    floor: list[tuple[float, float]]
    obstacles: list[ObstacleSpec]


def _drawn(dist, rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(np.clip(dist.sample(rng), *bounds))


def _rect(cx: float, cy: float, hx: float, hy: float) -> list[tuple[float, float]]:
    return [(cx - hx, cy - hy), (cx + hx, cy - hy), (cx + hx, cy + hy), (cx - hx, cy + hy)]


def _round(poly) -> list[tuple[float, float]]:
    return [(round(float(x), 4), round(float(y), 4)) for x, y in poly]


def _table_zone(cx, cy, length, width, along_x: bool, margin: float) -> list[tuple[float, float]]:
    """The table with its chairs (``margin`` around the chair zone), as one rectangle."""
    reach = width / 2 + CHAIR_GAP_M + CHAIR_M + margin
    hx, hy = (length / 2 + margin, reach) if along_x else (reach, length / 2 + margin)
    return _rect(cx, cy, hx, hy)


def _chairs(t: int, cx, cy, length, width, along_x: bool, fill: float, rng: np.random.Generator) -> list[ObstacleSpec]:
    n = max(1, int(length // PLACE_M))
    offsets = (np.arange(n) - (n - 1) / 2) * (length / n)
    d = width / 2 + CHAIR_GAP_M + CHAIR_M / 2
    out = []
    for side in (-1.0, 1.0):
        for k, o in enumerate(offsets):
            if rng.random() >= fill:
                continue
            x, y = (cx + o, cy + side * d) if along_x else (cx + side * d, cy + o)
            out.append(
                ObstacleSpec(
                    name=f"chair_{t}_{int(side > 0)}{k}",
                    kind="chair",
                    polygon=_round(_rect(x, y, CHAIR_M / 2, CHAIR_M / 2)),
                    height=CHAIR_HEIGHT_M,
                    seat_height=SEAT_HEIGHT_M,
                )
            )
    return out


def _tables(cfg: RoomLayout, hw: float, hd: float, rng: np.random.Generator):
    """Tables of one size and direction on a grid of cells as large as a table with its chairs and half an aisle
    around them (so neighbours keep an aisle and the walls half of one more), in randomly chosen cells with a
    jitter inside them: rows of desks, as in real offices."""
    length, width = _drawn(cfg.table_length_m, rng, TABLE_LENGTH_M), _drawn(cfg.table_width_m, rng, TABLE_WIDTH_M)
    height = round(_drawn(cfg.table_height_m, rng, TABLE_HEIGHT_M), 4)
    along_x = bool(rng.random() < 0.5)
    margin = cfg.aisle_m / 2
    ex, ey = np.asarray(_table_zone(0.0, 0.0, length, width, along_x, margin)).max(axis=0).tolist()
    span_x, span_y = 2 * hw - cfg.aisle_m, 2 * hd - cfg.aisle_m
    nx, ny = int(span_x // (2 * ex)), int(span_y // (2 * ey))
    wanted = cfg.tables.sample(rng)
    if nx * ny == 0 or wanted == 0:
        return [], []
    cells = rng.choice(nx * ny, size=min(wanted, nx * ny), replace=False)
    zones, specs = [], []
    for t, cell in enumerate(sorted(int(c) for c in cells)):
        cw, ch = span_x / nx, span_y / ny
        cx = -hw + margin + (cell % nx + 0.5) * cw + float(rng.uniform(-1, 1)) * (cw / 2 - ex)
        cy = -hd + margin + (cell // nx + 0.5) * ch + float(rng.uniform(-1, 1)) * (ch / 2 - ey)
        zones.append(_table_zone(cx, cy, length, width, along_x, margin))
        hx, hy = (length / 2, width / 2) if along_x else (width / 2, length / 2)
        specs.append(
            ObstacleSpec(name=f"table_{t}", kind="table", polygon=_round(_rect(cx, cy, hx, hy)), height=height)
        )
        specs += _chairs(t, cx, cy, length, width, along_x, cfg.chair_fill, rng)
    return specs, zones


def _shelves(cfg: RoomLayout, hw: float, hd: float, zones, rng: np.random.Generator) -> list[ObstacleSpec]:
    out: list[ObstacleSpec] = []
    for s in range(cfg.shelves.sample(rng)):
        height = _drawn(cfg.shelf_height_m, rng, SHELF_HEIGHT_M)
        length = float(rng.uniform(0.8, 1.6))
        for _ in range(ATTEMPTS):
            wall = int(rng.integers(4))
            half_wall = hw if wall in (0, 2) else hd
            if length / 2 + 0.3 >= half_wall:
                continue
            along = float(rng.uniform(-half_wall + length / 2 + 0.3, half_wall - length / 2 - 0.3))
            inner = (hd if wall in (0, 2) else hw) - WALL_GAP_M - SHELF_DEPTH_M / 2
            sign = -1.0 if wall in (0, 3) else 1.0
            cx, cy = (along, sign * inner) if wall in (0, 2) else (sign * inner, along)
            hx, hy = (length / 2, SHELF_DEPTH_M / 2) if wall in (0, 2) else (SHELF_DEPTH_M / 2, length / 2)
            poly, zone = _rect(cx, cy, hx, hy), _rect(cx, cy, hx + cfg.aisle_m / 2, hy + cfg.aisle_m / 2)
            if any(polygons_overlap(zone, z) for z in zones):
                continue
            zones.append(zone)
            out.append(ObstacleSpec(name=f"shelf_{s}", kind="shelf", polygon=_round(poly), height=round(height, 4)))
            break
    return out


def draw_room(cfg: RoomLayout, rng: np.random.Generator) -> DrawnRoom:
    """One room of ``cfg``: size, tables with chairs, shelves (fewer when they do not fit)."""
    hw, hd = _drawn(cfg.width_m, rng, ROOM_M) / 2, _drawn(cfg.depth_m, rng, ROOM_M) / 2
    tables, zones = _tables(cfg, hw, hd, rng)
    shelves = _shelves(cfg, hw, hd, zones, rng)
    return DrawnRoom(_round(_rect(0.0, 0.0, hw, hd)), tables + shelves)
