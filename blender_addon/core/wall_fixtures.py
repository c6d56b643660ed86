"""What hangs on the walls of procedural rooms (doors, whiteboards, windows with blinds, pinboards, posters,
radiators) as typed, pure descriptions (no bpy), drawn from ``rng_for(seed, "background", "wall_fixtures")``.

Each fixture is a :class:`.furniture.Furniture` whose ``style`` is its kind: a panel (and, for most kinds, a frame
around it) as thin vertical prisms standing on the inner face of one wall, visual only (no body check). Per wall a
Poisson number of fixtures (``background.wall_fixtures_per_m`` times its length), kinds drawn by
``background.wall_fixtures`` weights, packed side by side with random gaps and kept clear of the corners. Real
overhead cameras see the room's walls as the ring of the image; bare walls made that ring about a third as
colourful as every real camera measured (``bench/frame_stats.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .furniture import WOOD_COLORS, Finish, Furniture, Part, _finish, _part
from .placement import as_poly, polygon_area
from .scene_lights import RGB

#: Height of the walls of procedural rooms (metres); every fixture's top stays below it.
WALL_HEIGHT_M = 2.6
#: No fixture closer than this to a corner (metres).
CORNER_MARGIN_M = 0.3
#: At most this many fixtures on one wall.
MAX_PER_WALL = 8

WHITE_FRAMES: tuple[RGB, ...] = ((0.75, 0.75, 0.72), (0.55, 0.55, 0.55), (0.08, 0.08, 0.08), (0.45, 0.46, 0.48))
DOOR_PAINTS: tuple[RGB, ...] = (
    (0.75, 0.75, 0.72),
    (0.45, 0.45, 0.46),
    (0.1, 0.16, 0.3),
    (0.14, 0.25, 0.16),
    (0.4, 0.08, 0.06),
    (0.55, 0.4, 0.2),
)
BLINDS: tuple[RGB, ...] = ((0.72, 0.73, 0.75), (0.6, 0.62, 0.66), (0.55, 0.5, 0.42), (0.35, 0.37, 0.4))
BOARD_FELTS: tuple[RGB, ...] = ((0.35, 0.22, 0.12), (0.08, 0.12, 0.3), (0.3, 0.3, 0.3), (0.12, 0.25, 0.14))
#: Posters and prints: saturated and pale colours (one flat colour each).
POSTER_COLORS: tuple[RGB, ...] = (
    (0.6, 0.1, 0.06),
    (0.05, 0.2, 0.55),
    (0.7, 0.5, 0.05),
    (0.1, 0.4, 0.15),
    (0.45, 0.12, 0.35),
    (0.75, 0.72, 0.65),
    (0.05, 0.05, 0.06),
    (0.1, 0.45, 0.5),
)


@dataclass(frozen=True)
class FixtureKind:
    """Size ranges (metres), panel and frame finishes and the depth out of the wall of one kind of fixture."""

    width: tuple[float, float]
    height: tuple[float, float]
    bottom: tuple[float, float]
    depth: float
    panels: tuple[tuple[str, tuple[RGB, ...], tuple[float, float]], ...]  # (finish kind, palette, roughness)
    frame_m: float = 0.0  # 0: no frame
    frames: tuple[RGB, ...] = WHITE_FRAMES


KINDS: dict[str, FixtureKind] = {
    "door": FixtureKind(
        (0.85, 1.0),
        (2.0, 2.1),
        (0.0, 0.0),
        0.04,
        (("wood", WOOD_COLORS, (0.4, 0.6)), ("plastic", DOOR_PAINTS, (0.3, 0.6))),
        0.06,
    ),
    "whiteboard": FixtureKind(
        (1.2, 2.4), (0.9, 1.2), (0.85, 1.0), 0.02, (("plastic", ((0.8, 0.8, 0.78),), (0.1, 0.25)),), 0.02
    ),
    "window": FixtureKind((1.0, 2.0), (1.1, 1.5), (0.8, 1.0), 0.05, (("plastic", BLINDS, (0.4, 0.7)),), 0.05),
    "pinboard": FixtureKind((0.8, 1.5), (0.6, 1.0), (1.0, 1.2), 0.015, (("fabric", BOARD_FELTS, (0.8, 0.95)),), 0.02),
    "poster": FixtureKind((0.5, 0.9), (0.7, 1.1), (1.1, 1.4), 0.01, (("paper", POSTER_COLORS, (0.3, 0.6)),)),
    "radiator": FixtureKind(
        (0.8, 1.6), (0.45, 0.6), (0.1, 0.15), 0.08, (("metal", ((0.75, 0.75, 0.73),), (0.3, 0.5)),)
    ),
}


def _draw(kind: str, rng: np.random.Generator) -> tuple[float, float, float, tuple[Finish, ...]]:
    """(width, height, bottom, finishes: panel then frame) of one fixture of ``kind``."""
    k = KINDS[kind]
    width, height, bottom = (float(rng.uniform(*r)) for r in (k.width, k.height, k.bottom))
    finish_kind, palette, rough = k.panels[int(rng.integers(len(k.panels)))]
    finishes = [_finish(finish_kind, palette, rng, rough)]
    if k.frame_m > 0:
        finishes.append(_finish("metal", k.frames, rng, (0.3, 0.6)))
    return width, height, bottom, tuple(finishes)


def _wall_parts(a, u, n_in, centre: float, kind: str, width: float, height: float, bottom: float) -> tuple[Part, ...]:
    """The panel (finish 0) and its frame (finish 1) as prisms against the wall from ``a`` along ``u``."""
    k = KINDS[kind]

    def box(half_w: float, depth: float, z0: float, z1: float, finish: int) -> Part:
        c = a + u * centre
        poly = [c - u * half_w, c + u * half_w, c + u * half_w + n_in * depth, c - u * half_w + n_in * depth]
        return _part(poly, z0, z1, finish)

    panel = box(width / 2, k.depth + 0.005, bottom, bottom + height, 0)
    if k.frame_m <= 0:
        return (panel,)
    f = k.frame_m
    frame = box(width / 2 + f, k.depth, max(0.0, bottom - f), bottom + height + f, 1)
    return (panel, frame)


def _wall_fixtures(a, b, n_in, wall: int, weights, per_m: float, rng: np.random.Generator) -> list[Furniture]:
    length = float(np.hypot(*(b - a)))
    usable = length - 2 * CORNER_MARGIN_M
    n = min(int(rng.poisson(per_m * length)), MAX_PER_WALL) if usable > 0 else 0
    kinds = list(weights)
    p = np.array([weights[k] for k in kinds], dtype=float)
    drawn = [
        (kind, *_draw(kind, rng)) for kind in (kinds[int(rng.choice(len(kinds), p=p / p.sum()))] for _ in range(n))
    ]
    span = [w + 2 * KINDS[kind].frame_m for kind, w, *_ in drawn]
    while drawn and sum(span) > usable:  # too many for this wall: drop the last ones
        drawn.pop()
        span.pop()
    if not drawn:
        return []
    gaps = rng.dirichlet(np.ones(len(drawn) + 1)) * (usable - sum(span))
    u = (b - a) / length
    out, at = [], CORNER_MARGIN_M
    for i, ((kind, width, height, bottom, finishes), s) in enumerate(zip(drawn, span, strict=True)):
        at += float(gaps[i])
        parts = _wall_parts(a, u, n_in, at + s / 2, kind, width, height, bottom)
        out.append(Furniture(f"wall{wall}_{i}_{kind}", kind, None, finishes, parts))
        at += s
    return out


def describe_wall_fixtures(floor, weights: dict[str, float], per_m: float, rng: np.random.Generator):
    """The fixtures on every wall of the room whose floor polygon is ``floor`` (a tuple of
    :class:`.furniture.Furniture`, wall by wall, along each wall from its first corner)."""
    weights = {k: float(w) for k, w in weights.items() if w > 0}
    if not weights or per_m <= 0:
        return ()
    poly = as_poly(floor)
    inward = 1.0 if polygon_area(poly) > 0 else -1.0  # the interior lies left of a counter-clockwise edge
    out: list[Furniture] = []
    for i in range(len(poly)):
        a, b = poly[i], poly[(i + 1) % len(poly)]
        d = b - a
        n_in = inward * np.array([-d[1], d[0]]) / (float(np.hypot(*d)) or 1.0)
        out += _wall_fixtures(a, b, n_in, i, weights, per_m, rng)
    return tuple(out)
