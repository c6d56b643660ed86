"""Furniture of procedural rooms as typed, pure descriptions (no bpy), drawn from ``rng_for(seed, "furniture",
<obstacle name>)`` so no other draw changes.

Every piece is a list of vertical prisms (:class:`Part`: a floor polygon from ``z0`` to ``z1``) with a surface
:class:`Finish`, all inside the obstacle's floor polygon:

* chairs: a seat, a backrest behind the sitter (the sitter faces the nearest table, as the placer turns it) and four
  legs or an office chair's star base; chairs with no table near, and the stools placement adds, are backless;
* tables: a top of some thickness over the polygon and legs, with desk clutter on the top (laptops, monitors,
  papers, notebooks, cups, phones, bags: visual only, not obstacles); counters: a cabinet, a top and clutter;
* shelves: side panels, a back, boards and boxes of goods on every board; anything else: a plain block.

``scene/furniture.py`` turns a :class:`Furniture` into one Blender object (the obstacle, which the body check
sees) and one clutter object. :meth:`Furniture.record` goes into the annotation; :meth:`Furniture.from_record`
reads it back.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from shared_schema.distributions import rng_for

from .placement import (
    FloorObstacle,
    as_poly,
    polygon_area,
    polygon_centroid,
    polygon_inside,
    polygons_overlap,
    seat_facing,
)
from .scene_lights import RGB

Point = tuple[float, float]

#: Table tops: light/mid/dark wood, white and grey laminate (linear albedo).
WOOD_COLORS: tuple[RGB, ...] = ((0.45, 0.3, 0.17), (0.6, 0.45, 0.3), (0.25, 0.14, 0.07), (0.52, 0.42, 0.32))
LAMINATE_COLORS: tuple[RGB, ...] = ((0.72, 0.72, 0.7), (0.6, 0.6, 0.58), (0.35, 0.35, 0.35), (0.8, 0.78, 0.72))
#: Chair seats (fabric or plastic): black, greys, dark blue, red, dark green, beige.
SEAT_COLORS: tuple[RGB, ...] = (
    (0.03, 0.03, 0.035),
    (0.08, 0.08, 0.085),
    (0.2, 0.2, 0.21),
    (0.04, 0.07, 0.16),
    (0.25, 0.03, 0.03),
    (0.05, 0.1, 0.07),
    (0.4, 0.35, 0.28),
)
#: Frames and legs: black, dark grey, aluminium grey, white.
FRAME_COLORS: tuple[RGB, ...] = ((0.03, 0.03, 0.03), (0.1, 0.1, 0.1), (0.45, 0.45, 0.46), (0.7, 0.7, 0.68))
#: Devices (laptops, monitors, phones): black, dark and mid grey, silver.
DEVICE_COLORS: tuple[RGB, ...] = ((0.02, 0.02, 0.02), (0.06, 0.06, 0.065), (0.2, 0.2, 0.21), (0.5, 0.5, 0.52))
#: Notebooks, cups, bags and goods: muted colours next to whites and blacks.
ACCENT_COLORS: tuple[RGB, ...] = (
    (0.75, 0.75, 0.72),
    (0.04, 0.04, 0.04),
    (0.5, 0.08, 0.06),
    (0.06, 0.15, 0.4),
    (0.1, 0.3, 0.12),
    (0.6, 0.45, 0.08),
    (0.35, 0.2, 0.1),
    (0.3, 0.3, 0.32),
)
PAPER_COLOR: RGB = (0.8, 0.8, 0.78)
#: A sitter faces the nearest table closer than this (``placement.Placer.seat_yaw``).


@dataclass(frozen=True)
class Finish:
    """A surface: ``kind`` picks the shader (wood, laminate, fabric, plastic, metal, paper, screen, goods)."""

    kind: str
    color: RGB
    roughness: float


@dataclass(frozen=True)
class Part:
    """A vertical prism over ``polygon`` (metres, counter-clockwise) from ``z0`` to ``z1``."""

    polygon: tuple[Point, ...]
    z0: float
    z1: float
    finish: int  # index into the piece's finishes


@dataclass(frozen=True)
class Item:
    """A clutter item on a table or counter (visual only)."""

    kind: str  # laptop_open | laptop_closed | monitor | papers | notebook | cup | phone | bag
    finishes: tuple[Finish, ...]
    parts: tuple[Part, ...]  # finish indexes the item's finishes


@dataclass(frozen=True)
class Furniture:
    """One piece of furniture: the obstacle's solid parts and, on tables and counters, clutter."""

    name: str
    style: str  # four_legs | star_base | stool | table | counter | shelf | block
    facing_deg: float | None  # chairs: the direction the sitter faces (the backrest is opposite)
    finishes: tuple[Finish, ...]
    parts: tuple[Part, ...]
    clutter: tuple[Item, ...] = ()

    def record(self) -> dict[str, Any]:
        """The annotation record (every sampled value; JSON types)."""
        return _lists(asdict(self))

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Furniture:
        """The description of a :meth:`record`."""

        def finish(f: dict[str, Any]) -> Finish:
            return Finish(f["kind"], _rgb(f["color"]), f["roughness"])

        def part(p: dict[str, Any]) -> Part:
            return Part(tuple((float(x), float(y)) for x, y in p["polygon"]), p["z0"], p["z1"], int(p["finish"]))

        return cls(
            name=rec["name"],
            style=rec["style"],
            facing_deg=rec["facing_deg"],
            finishes=tuple(finish(f) for f in rec["finishes"]),
            parts=tuple(part(p) for p in rec["parts"]),
            clutter=tuple(
                Item(i["kind"], tuple(finish(f) for f in i["finishes"]), tuple(part(p) for p in i["parts"]))
                for i in rec["clutter"]
            ),
        )


def _lists(v: Any) -> Any:
    """``v`` with tuples as lists (as the annotation's JSON reads back)."""
    if isinstance(v, dict):
        return {k: _lists(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_lists(x) for x in v]
    return v


def _r(x: float) -> float:
    return round(float(x), 4)


def _rgb(c) -> RGB:
    return (_r(c[0]), _r(c[1]), _r(c[2]))


def _finish(kind: str, palette: tuple[RGB, ...], rng: np.random.Generator, rough: tuple[float, float]) -> Finish:
    """A palette colour with a small luminance jitter and a roughness in ``rough``."""
    base = np.asarray(palette[int(rng.integers(len(palette)))])
    c = np.clip(base * rng.uniform(0.88, 1.12), 0.005, 0.95)
    return Finish(kind, _rgb(c), _r(rng.uniform(*rough)))


def _part(poly, z0: float, z1: float, finish: int) -> Part:
    p = as_poly(poly)
    if polygon_area(p) < 0:
        p = p[::-1]
    return Part(tuple((_r(x), _r(y)) for x, y in p), _r(z0), _r(z1), finish)


def _frame(center, yaw_deg: float):
    """Local → world for 2D points: x along ``yaw_deg``, y to its left."""
    a = math.radians(yaw_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    c = np.asarray(center, dtype=np.float64)
    return lambda pts: np.asarray(pts, dtype=np.float64) @ rot.T + c


def _rect(x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def _fit_scale(poly: np.ndarray, to_world, half_x: float, half_y: float) -> float:
    """The largest scale (≤ 1) at which the local rectangle ±half_x × ±half_y lies inside ``poly``."""
    lo, hi = 0.0, 1.0
    if polygon_inside(to_world(_rect(-half_x, half_x, -half_y, half_y)), poly):
        return 1.0
    for _ in range(20):
        mid = (lo + hi) / 2
        inside = polygon_inside(to_world(_rect(-half_x * mid, half_x * mid, -half_y * mid, half_y * mid)), poly)
        lo, hi = (mid, hi) if inside else (lo, mid)
    return lo * 0.995


def _chair_style(ob: FloorObstacle, facing: float | None, rng: np.random.Generator) -> str:
    if ob.generated or ob.name.startswith("stool") or facing is None:
        return "stool"
    return "star_base" if rng.random() < 0.5 else "four_legs"


def describe_chair(ob: FloorObstacle, obstacles: list[FloorObstacle], rng: np.random.Generator) -> Furniture:
    """A chair inside ``ob.polygon``: seat (+ backrest behind the sitter) on four legs or a star base."""
    poly = as_poly(ob.polygon)
    facing = seat_facing(ob, obstacles)
    style = _chair_style(ob, facing, rng)
    yaw = facing if facing is not None else float(rng.uniform(0.0, 90.0))
    to_world = _frame(polygon_centroid(ob.polygon), yaw)
    depth, width = rng.uniform(0.4, 0.48), rng.uniform(0.4, 0.48)
    s = _fit_scale(poly, to_world, depth / 2, width / 2)
    hx, hy = depth / 2 * s, width / 2 * s
    seat_top = float(ob.seat_height or ob.height)
    thick = rng.uniform(0.05, 0.08) if style == "star_base" else rng.uniform(0.02, 0.04)
    plastic = style != "star_base" and rng.random() < 0.5
    seat_f = _finish("plastic" if plastic else "fabric", SEAT_COLORS, rng, (0.35, 0.6) if plastic else (0.75, 0.95))
    frame_f = _finish("metal", FRAME_COLORS, rng, (0.25, 0.5))
    parts = [_part(to_world(_rect(-hx, hx, -hy, hy)), seat_top - thick, seat_top, 0)]
    under = seat_top - thick
    if style == "star_base":
        parts += _star_base(to_world, min(hx, hy), under, rng)
    else:
        leg = rng.uniform(0.02, 0.035)
        for sx in (-1, 1):
            for sy in (-1, 1):
                x, y = sx * (hx - leg), sy * (hy - leg)
                parts.append(_part(to_world(_rect(x - leg / 2, x + leg / 2, y - leg / 2, y + leg / 2)), 0.0, under, 1))
    if style != "stool":
        parts += _backrest(to_world, hx, hy, seat_top, style, rng)
    return Furniture(ob.name, style, _r(facing) if facing is not None else None, (seat_f, frame_f), tuple(parts))


def _star_base(to_world, radius: float, under: float, rng: np.random.Generator) -> list[Part]:
    """An office chair's column and five spokes (within ``radius`` of the seat centre)."""
    col = rng.uniform(0.025, 0.035)
    parts = [_part(to_world(_rect(-col, col, -col, col)), 0.06, under, 1)]
    a0 = rng.uniform(0.0, 72.0)
    for k in range(5):
        a = math.radians(a0 + 72.0 * k)
        d, n = np.array([math.cos(a), math.sin(a)]), np.array([-math.sin(a), math.cos(a)])
        tip, w = d * (radius - 0.01), 0.018
        parts.append(_part(to_world(np.array([n * w, tip + n * w, tip - n * w, -n * w])), 0.02, 0.06, 1))
    return parts


def _backrest(to_world, hx: float, hy: float, seat_top: float, style: str, rng: np.random.Generator) -> list[Part]:
    """A backrest panel at the back edge of the seat (local -x) on posts."""
    t = rng.uniform(0.025, 0.05) if style == "star_base" else rng.uniform(0.015, 0.025)
    gap = rng.uniform(0.1, 0.18)
    top = seat_top + rng.uniform(0.42, 0.58) if style == "star_base" else seat_top + rng.uniform(0.33, 0.45)
    w = hy * (rng.uniform(0.8, 0.95) if style == "star_base" else 1.0)
    x0 = -hx
    parts = [_part(to_world(_rect(x0, x0 + t, -w, w)), seat_top + gap, top, 0)]
    post = 0.02
    ys = (0.0,) if style == "star_base" else (-hy + post, hy - post)
    for y in ys:
        parts.append(_part(to_world(_rect(x0, x0 + post, y - post / 2, y + post / 2)), seat_top, seat_top + gap, 1))
    return parts


def _principal_yaw(poly: np.ndarray) -> float:
    """The direction (degrees) of the polygon's longest edge."""
    d = np.roll(poly, -1, axis=0) - poly
    k = int(np.argmax(np.hypot(d[:, 0], d[:, 1])))
    return float(math.degrees(math.atan2(d[k, 1], d[k, 0])))


def _local_extent(poly: np.ndarray, center, yaw: float) -> tuple[float, float]:
    """Half extents of ``poly`` along and across ``yaw`` about ``center``."""
    a = math.radians(yaw)
    rel = poly - np.asarray(center)
    along = rel @ np.array([math.cos(a), math.sin(a)])
    across = rel @ np.array([-math.sin(a), math.cos(a)])
    return float(np.max(np.abs(along))), float(np.max(np.abs(across)))


def describe_table(ob: FloorObstacle, rng: np.random.Generator) -> Furniture:
    """A table top of some thickness over the polygon on four legs (one pedestal for round tops), or a counter's
    cabinet and top; clutter on the top."""
    poly = as_poly(ob.polygon)
    wood = rng.random() < 0.5
    if wood:
        top_f = _finish("wood", WOOD_COLORS, rng, (0.35, 0.6))
    else:
        top_f = _finish("laminate", LAMINATE_COLORS, rng, (0.3, 0.55))
    frame_f = _finish("metal", FRAME_COLORS, rng, (0.25, 0.5))
    thick = rng.uniform(0.02, 0.05)
    parts = [_part(poly, ob.height - thick, ob.height, 0)]
    c = np.array(polygon_centroid(ob.polygon))
    if ob.kind == "counter":
        inset = _shrink(poly, c, 0.04)
        parts.append(_part(inset, 0.0, ob.height - thick, 1))
        style = "counter"
    elif len(poly) == 4:
        leg = rng.uniform(0.04, 0.07)
        for v in poly:
            p = v + (c - v) / (float(np.hypot(*(c - v))) or 1.0) * (0.04 + leg)
            parts.append(_part(p + _rect(-leg / 2, leg / 2, -leg / 2, leg / 2), 0.0, ob.height - thick, 1))
        style = "table"
    else:
        parts.append(_part(c + _rect(-0.04, 0.04, -0.04, 0.04), 0.0, ob.height - thick, 1))
        style = "table"
    clutter = describe_clutter(poly, ob.height, rng)
    return Furniture(ob.name, style, None, (top_f, frame_f), tuple(parts), clutter)


def _shrink(poly: np.ndarray, center, margin: float) -> np.ndarray:
    """``poly`` shrunk towards ``center`` by about ``margin`` metres."""
    rel = poly - np.asarray(center)
    r = np.maximum(np.hypot(rel[:, 0], rel[:, 1]), 1e-6)
    return np.asarray(center) + rel * np.maximum(0.0, 1.0 - margin / r)[:, None]


#: Clutter kinds and their weights.
CLUTTER_WEIGHTS = {
    "laptop_open": 3.0,
    "laptop_closed": 1.0,
    "monitor": 1.5,
    "papers": 3.0,
    "notebook": 2.0,
    "cup": 2.5,
    "phone": 1.5,
    "bag": 1.0,
}
#: (length, width) footprints in metres.
CLUTTER_SIZES = {
    "laptop_open": (0.33, 0.24),
    "laptop_closed": (0.33, 0.23),
    "monitor": (0.55, 0.2),
    "papers": (0.297, 0.21),
    "notebook": (0.21, 0.15),
    "cup": (0.085, 0.085),
    "phone": (0.15, 0.072),
    "bag": (0.36, 0.2),
}


def describe_clutter(top: np.ndarray, z: float, rng: np.random.Generator) -> tuple[Item, ...]:
    """A few items on the top ``top`` (at height ``z``): inside it (3 cm margin), not overlapping each other."""
    area = abs(polygon_area(top))
    n = int(rng.integers(0, max(2, int(area * 4)) + 1))
    kinds = list(CLUTTER_WEIGHTS)
    w = np.array([CLUTTER_WEIGHTS[k] for k in kinds])
    inner = _shrink(top, polygon_centroid(top), 0.03)
    axis = _principal_yaw(top)
    lo, hi = inner.min(axis=0), inner.max(axis=0)
    items: list[Item] = []
    taken: list[np.ndarray] = []
    for _ in range(n):
        kind = kinds[int(rng.choice(len(kinds), p=w / w.sum()))]
        length, width = (s * rng.uniform(0.9, 1.1) for s in CLUTTER_SIZES[kind])
        for _try in range(12):
            center = rng.uniform(lo, hi)
            yaw = axis + 90.0 * int(rng.integers(4)) + rng.normal(0.0, 4.0 if kind in ("monitor",) else 12.0)
            to_world = _frame(center, yaw)
            fp = to_world(_rect(-length / 2, length / 2, -width / 2, width / 2))
            if polygon_inside(fp, inner) and not any(polygons_overlap(fp, t) for t in taken):
                taken.append(fp)
                items.append(Item(kind, _item_finishes(kind, rng), _item_parts(kind, to_world, length, width, z, rng)))
                break
    return tuple(items)


def _item_parts(kind: str, to_world, length: float, width: float, z: float, rng: np.random.Generator) -> tuple:
    """The prisms of one clutter item in its frame ``to_world`` (length along local x), standing on ``z``."""
    hl, hw = length / 2, width / 2
    box = _rect(-hl, hl, -hw, hw)
    if kind in ("laptop_open", "laptop_closed"):
        base = [_part(to_world(box), z, z + 0.018, 0)]
        if kind == "laptop_open":  # the lid stands at the far edge (local +y), nearly upright
            lid = _rect(-hl, hl, hw - 0.012, hw)
            base.append(_part(to_world(lid), z + 0.018, z + 0.018 + rng.uniform(0.2, 0.23), 0))
        return tuple(base)
    if kind == "monitor":
        foot = _rect(-0.1, 0.1, -hw, hw - 0.05)
        neck = _rect(-0.025, 0.025, hw - 0.07, hw - 0.04)
        screen = _rect(-hl, hl, hw - 0.04, hw)
        h0 = z + rng.uniform(0.08, 0.14)
        return (
            _part(to_world(foot), z, z + 0.015, 0),
            _part(to_world(neck), z + 0.015, h0 + 0.05, 0),
            _part(to_world(screen), h0, h0 + rng.uniform(0.3, 0.36), 0),
        )
    if kind == "cup":
        t = np.linspace(0.0, 2 * math.pi, 10, endpoint=False)
        ring = np.stack([np.cos(t), np.sin(t)], axis=1) * hw
        return (_part(to_world(ring), z, z + rng.uniform(0.08, 0.11), 0),)
    heights = {"papers": (0.002, 0.012), "notebook": (0.006, 0.02), "phone": (0.008, 0.01), "bag": (0.12, 0.25)}
    return (_part(to_world(box), z, z + rng.uniform(*heights[kind]), 0),)


def _item_finishes(kind: str, rng: np.random.Generator) -> tuple[Finish, ...]:
    if kind in ("laptop_open", "laptop_closed", "monitor", "phone"):
        return (_finish("plastic", DEVICE_COLORS, rng, (0.25, 0.5)),)
    if kind == "papers":
        return (_finish("paper", (PAPER_COLOR,), rng, (0.8, 0.95)),)
    if kind == "bag":
        return (_finish("fabric", ACCENT_COLORS[1:], rng, (0.7, 0.95)),)
    return (_finish("plastic" if kind == "notebook" else "ceramic", ACCENT_COLORS, rng, (0.2, 0.7)),)


#: Packaging colours of goods on shelves (linear): browns, whites, saturated but dark brand colours.
GOODS_COLORS: tuple[RGB, ...] = (
    (0.4, 0.28, 0.16),
    (0.7, 0.7, 0.68),
    (0.45, 0.05, 0.04),
    (0.05, 0.12, 0.35),
    (0.08, 0.25, 0.08),
    (0.65, 0.5, 0.05),
    (0.03, 0.03, 0.03),
    (0.5, 0.2, 0.35),
)


def describe_shelf(ob: FloorObstacle, rng: np.random.Generator) -> Furniture:
    """A shelf unit filling the polygon's bounding rectangle along its longest edge: side panels, a back, boards,
    and goods (boxes) on every board; a plain block when that rectangle leaves the polygon."""
    poly = as_poly(ob.polygon)
    yaw = _principal_yaw(poly)
    c = polygon_centroid(ob.polygon)
    hl, hd = _local_extent(poly, c, yaw)
    to_world = _frame(c, yaw)
    if not polygon_inside(to_world(_rect(-hl + 0.005, hl - 0.005, -hd + 0.005, hd - 0.005)), poly) or hd < 0.1:
        return describe_block(ob, rng)
    body = _finish("laminate" if rng.random() < 0.6 else "metal", FRAME_COLORS + LAMINATE_COLORS, rng, (0.3, 0.6))
    finishes = [body] + [_finish("goods", GOODS_COLORS, rng, (0.3, 0.8)) for _ in range(4)]
    t = 0.02
    back = -1.0 if rng.random() < 0.5 else 1.0  # which long side is the back
    parts = [
        _part(to_world(_rect(-hl, -hl + t, -hd, hd)), 0.0, ob.height, 0),
        _part(to_world(_rect(hl - t, hl, -hd, hd)), 0.0, ob.height, 0),
        _part(to_world(_rect(-hl + t, hl - t, *sorted((back * hd, back * (hd - t))))), 0.0, ob.height, 0),
    ]
    levels = int(rng.integers(3, 6))
    zs = np.linspace(0.08, ob.height - t, levels)
    step = float(zs[1] - zs[0])
    for z in zs:  # goods on every board, low ones on the top
        parts.append(_part(to_world(_rect(-hl + t, hl - t, -hd, hd)), z - t, z, 0))
        room = step - 0.05 if z < ob.height - t - 1e-6 else 0.3
        parts += _goods(to_world, hl - t, hd, back, float(z), room, rng)
    return Furniture(ob.name, "shelf", None, tuple(finishes), tuple(parts))


def _goods(to_world, hl: float, hd: float, back: float, z: float, room: float, rng) -> list[Part]:
    """Boxes of goods side by side along one board (gaps between them), at most ``room`` tall."""
    parts: list[Part] = []
    x = -hl + rng.uniform(0.0, 0.08)
    depth = 2 * hd - 0.04
    while True:
        w = rng.uniform(0.08, 0.3)
        if x + w > hl:
            break
        if rng.random() < 0.85:
            d = depth * rng.uniform(0.6, 1.0)
            y0 = back * (hd - 0.025)
            y1 = y0 - back * d
            h = room * rng.uniform(0.4, 0.95)
            parts.append(_part(to_world(_rect(x, x + w, min(y0, y1), max(y0, y1))), z, z + h, int(rng.integers(1, 5))))
        x += w + rng.uniform(0.005, 0.04)
    return parts


def describe_block(ob: FloorObstacle, rng: np.random.Generator) -> Furniture:
    """A plain block over the polygon (kind "other", odd shelves)."""
    f = _finish("laminate", FRAME_COLORS + LAMINATE_COLORS, rng, (0.4, 0.7))
    return Furniture(ob.name, "block", None, (f,), (_part(as_poly(ob.polygon), 0.0, ob.height, 0),))


def describe_furniture(seed: int, ob: FloorObstacle, obstacles: list[FloorObstacle]) -> Furniture:
    """The furniture of obstacle ``ob`` (``obstacles``: the room's, for a chair's nearest table), from
    ``rng_for(seed, "furniture", ob.name)``."""
    rng = rng_for(seed, "furniture", ob.name)
    if ob.is_seat:
        return describe_chair(ob, obstacles, rng)
    if ob.kind in ("table", "counter"):
        return describe_table(ob, rng)
    if ob.kind == "shelf":
        return describe_shelf(ob, rng)
    return describe_block(ob, rng)


@dataclass
class Geometry:
    """Prisms as one mesh: vertices (N, 3), polygon faces (outward), and each face's finish index."""

    vertices: np.ndarray
    faces: list[tuple[int, ...]] = field(default_factory=list)
    face_finish: list[int] = field(default_factory=list)


def prisms_geometry(parts: tuple[Part, ...] | list[tuple[Part, int]]) -> Geometry:
    """One mesh of ``parts`` (or of (part, finish offset) pairs): each prism's bottom, top and sides."""
    pairs = [(p, 0) if isinstance(p, Part) else p for p in parts]
    verts: list[np.ndarray] = []
    geo = Geometry(np.zeros((0, 3)))
    base = 0
    for part, offset in pairs:
        xy = np.asarray(part.polygon, dtype=np.float64)
        n = len(xy)
        verts.append(np.column_stack([xy, np.full(n, part.z0)]))
        verts.append(np.column_stack([xy, np.full(n, part.z1)]))
        f = part.finish + offset
        geo.faces.append(tuple(base + i for i in reversed(range(n))))
        geo.faces.append(tuple(base + n + i for i in range(n)))
        for i in range(n):
            j = (i + 1) % n
            geo.faces.append((base + i, base + j, base + n + j, base + n + i))
        geo.face_finish.extend([f] * (n + 2))
        base += 2 * n
    geo.vertices = np.concatenate(verts) if verts else np.zeros((0, 3))
    return geo


def clutter_geometry(furniture: Furniture) -> tuple[Geometry, tuple[Finish, ...]]:
    """All clutter items of a piece as one mesh and the finishes its face indices refer to."""
    pairs: list[tuple[Part, int]] = []
    finishes: list[Finish] = []
    for item in furniture.clutter:
        pairs += [(p, len(finishes)) for p in item.parts]
        finishes += item.finishes
    return prisms_geometry(pairs), tuple(finishes)
