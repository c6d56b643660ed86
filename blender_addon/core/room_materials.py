"""Floor and wall materials of procedural rooms as typed, pure descriptions (no bpy), drawn from config + rng.

A floor is one of :data:`shared_schema.config.FLOOR_MATERIALS` (carpet, carpet tiles, ceramic tiles, vinyl, wood
planks, concrete) with its sizes in metres, orientation, colour variation between tiles/planks, joint (grout)
colour, fine texture (fibre, speckle, wood grain), large-scale mottling (wear, soiling, clouding), bump and
roughness. Colours come from realistic per-material palettes (or the config's ``floor_colors``) with a luminance
jitter only, so a grey floor stays grey. Walls are off-white to light neutral with subtle large-scale noise and a
skirting board. ``scene/materials_room.py`` turns these records into small Cycles node trees.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from shared_schema.config import FLOOR_MATERIALS

from .scene_lights import RGB

#: Linear albedos per floor material: greys, blue-greys, blues, beiges, browns, burgundy and wood tones (commercial
#: carpets and lino come in colour as often as in grey: renders with grey floors only were half as saturated as
#: every real overhead camera measured).
FLOOR_PALETTES: dict[str, tuple[RGB, ...]] = {
    "carpet": (
        (0.045, 0.045, 0.05),
        (0.1, 0.1, 0.105),
        (0.075, 0.085, 0.11),
        (0.14, 0.125, 0.105),
        (0.09, 0.075, 0.06),
        (0.2, 0.2, 0.2),
        (0.03, 0.045, 0.1),
        (0.05, 0.08, 0.16),
        (0.06, 0.1, 0.12),
        (0.12, 0.035, 0.04),
        (0.15, 0.08, 0.045),
    ),
    "carpet_tiles": (
        (0.05, 0.05, 0.055),
        (0.11, 0.11, 0.115),
        (0.07, 0.08, 0.1),
        (0.13, 0.12, 0.1),
        (0.17, 0.17, 0.17),
        (0.05, 0.075, 0.14),
        (0.07, 0.1, 0.11),
        (0.1, 0.04, 0.045),
    ),
    "ceramic_tiles": (
        (0.62, 0.6, 0.56),
        (0.5, 0.49, 0.47),
        (0.42, 0.38, 0.32),
        (0.3, 0.3, 0.3),
        (0.2, 0.19, 0.18),
        (0.55, 0.5, 0.42),
        (0.45, 0.25, 0.15),
    ),
    "vinyl": (
        (0.45, 0.44, 0.42),
        (0.32, 0.32, 0.33),
        (0.38, 0.35, 0.3),
        (0.22, 0.23, 0.25),
        (0.55, 0.54, 0.5),
        (0.2, 0.28, 0.4),
        (0.18, 0.3, 0.32),
        (0.4, 0.2, 0.12),
    ),
    "wood_planks": (
        (0.42, 0.26, 0.13),
        (0.55, 0.38, 0.22),
        (0.25, 0.13, 0.06),
        (0.6, 0.48, 0.34),
        (0.32, 0.27, 0.22),
        (0.35, 0.18, 0.09),
    ),
    "concrete": ((0.3, 0.3, 0.29), (0.4, 0.39, 0.37), (0.22, 0.22, 0.21), (0.5, 0.48, 0.45)),
}
#: Tints of painted walls (times a light grey level): white, warm white, cool white, cream.
WALL_TINTS: tuple[RGB, ...] = ((1.0, 1.0, 1.0), (1.0, 0.98, 0.94), (0.96, 0.98, 1.0), (1.0, 0.96, 0.88))
#: Skirting boards: dark grey, white, wood, black rubber.
SKIRTING_COLORS: tuple[RGB, ...] = ((0.06, 0.06, 0.06), (0.7, 0.7, 0.68), (0.3, 0.18, 0.09), (0.025, 0.025, 0.025))


@dataclass(frozen=True)
class FloorMaterial:
    """One floor's procedural material (lengths in metres, colours linear RGB)."""

    kind: str  # one of FLOOR_MATERIALS
    base_color: RGB  # mean albedo of the tiles/planks
    variation: float  # relative luminance spread between tiles/planks (0: none)
    tile_m: tuple[float, float] | None  # tile/plank (length, width); None: seamless
    joint_m: float  # joint (grout, gap) width; 0: none
    joint_color: RGB
    stagger: float  # row offset as a fraction of the tile length
    rotation_deg: float  # orientation of the grid/planks about the vertical
    grain_m: float  # feature size of the fine texture (fibre, speckle, wood grain)
    grain_amp: float  # its relative luminance amplitude
    mottle_m: float  # feature size of the large-scale variation (wear, soiling, clouding)
    mottle_amp: float
    bump: float  # bump strength of the fine texture and the joints
    roughness: float

    def record(self) -> dict[str, Any]:
        """The annotation's record of this material (rounded)."""
        return _rounded(asdict(self))


@dataclass(frozen=True)
class WallMaterial:
    """Painted walls: an off-white colour, subtle large-scale noise and a skirting board."""

    color: RGB
    mottle_m: float
    mottle_amp: float
    skirting_m: float  # skirting board height; 0: none
    skirting_color: RGB
    roughness: float

    def record(self) -> dict[str, Any]:
        """The annotation's record of this material (rounded)."""
        return _rounded(asdict(self))


def _rounded(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 4)
    if isinstance(v, dict):
        return {k: _rounded(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_rounded(x) for x in v]
    return v


def _rgb(c) -> RGB:
    a = np.clip(np.asarray(c, dtype=float), 0.01, 0.9)
    return (float(a[0]), float(a[1]), float(a[2]))


def floor_kind(weights: dict[str, float], rng: np.random.Generator) -> str:
    """A floor material type drawn with the config's relative ``weights``."""
    kinds = [k for k in FLOOR_MATERIALS if weights.get(k, 0.0) > 0]
    w = np.array([weights[k] for k in kinds], dtype=float)
    return kinds[int(rng.choice(len(kinds), p=w / w.sum()))]


def base_color(kind: str, colors, rng: np.random.Generator) -> RGB:
    """A floor colour from the config's ``colors`` (when given) or the material's palette, times a luminance
    jitter (hue kept)."""
    palette = [tuple(c) for c in colors] if colors else FLOOR_PALETTES[kind]
    c = np.asarray(palette[int(rng.integers(len(palette)))], dtype=float)
    return _rgb(c * rng.uniform(0.8, 1.2))


def _tile_layout(kind: str, rng: np.random.Generator) -> tuple[tuple[float, float] | None, float]:
    """(tile/plank length and width or None, stagger) of a floor type."""
    u = rng.uniform
    if kind == "carpet":
        return None, 0.0
    if kind == "carpet_tiles":
        s = float(rng.choice([0.5, 0.5, 0.6]))
        return (s, s), 0.0
    if kind == "ceramic_tiles":
        size = [(0.3, 0.3), (0.45, 0.45), (0.6, 0.6), (0.6, 0.3), (0.2, 0.2)][int(rng.integers(5))]
        return size, (0.5 if size[0] != size[1] and u() < 0.7 else 0.0)
    if kind == "vinyl":
        s = float(rng.choice([0.3, 0.5, 0.6]))
        return ((s, s), 0.0) if u() < 0.5 else (None, 0.0)
    if kind == "wood_planks":
        return (float(u(0.9, 1.8)), float(u(0.12, 0.22))), float(u(0.25, 0.5))
    s = float(u(3.0, 6.0))  # concrete: saw-cut joints or none
    return ((s, s), 0.0) if u() < 0.5 else (None, 0.0)


Range = tuple[float, float]


class _Ranges(NamedTuple):
    """Uniform ranges of one floor type's parameters."""

    variation: Range
    joint_m: Range
    joint_dark: Range  # joint colour = base colour times this (ceramic grout is drawn on its own)
    grain_m: Range
    grain_amp: Range
    mottle_amp: Range
    bump: Range
    roughness: Range


_CARPET = _Ranges((0, 0), (0, 0), (1, 1), (0.008, 0.025), (0.3, 0.6), (0.08, 0.2), (0.15, 0.35), (0.85, 1.0))
_RANGES: dict[str, _Ranges] = {
    "carpet": _CARPET,
    "carpet_tiles": _CARPET._replace(variation=(0.03, 0.15), joint_m=(0.001, 0.002), joint_dark=(0.6, 0.8)),
    "ceramic_tiles": _Ranges(
        (0.02, 0.06), (0.002, 0.005), (1, 1), (0.005, 0.02), (0.03, 0.1), (0.02, 0.06), (0.2, 0.4), (0.15, 0.4)
    ),
    "vinyl": _Ranges(
        (0, 0.05), (0.001, 0.001), (0.8, 0.9), (0.005, 0.02), (0.05, 0.2), (0.03, 0.08), (0.05, 0.15), (0.3, 0.55)
    ),
    "wood_planks": _Ranges(
        (0.08, 0.2), (0.001, 0.003), (0.3, 0.45), (0.004, 0.01), (0.15, 0.3), (0.02, 0.06), (0.1, 0.2), (0.3, 0.6)
    ),
    "concrete": _Ranges(
        (0, 0.04), (0.004, 0.006), (0.5, 0.7), (0.003, 0.01), (0.05, 0.12), (0.2, 0.45), (0.05, 0.15), (0.2, 0.5)
    ),
}


def describe_floor(config_background, rng: np.random.Generator) -> FloorMaterial:
    """The floor material of one procedural room: type by the config's weights, then every parameter."""
    kind = floor_kind(dict(config_background.floor_materials), rng)
    color = base_color(kind, config_background.floor_colors, rng)
    tile, stagger = _tile_layout(kind, rng)
    var, joint, dark, grain, grain_amp, mottle_amp, bump, rough = (float(rng.uniform(*r)) for r in _RANGES[kind])
    if kind == "ceramic_tiles":  # grout: light or mid grey, independent of the tile colour
        joint_color = _rgb(np.full(3, rng.uniform(0.15, 0.55)))
    else:
        joint_color = _rgb(np.asarray(color) * dark)
    return FloorMaterial(
        kind=kind,
        base_color=color,
        variation=var,
        tile_m=tile,
        joint_m=joint if tile is not None else 0.0,
        joint_color=joint_color,
        stagger=stagger,
        rotation_deg=float(rng.choice([0.0, 90.0])),
        grain_m=grain,
        grain_amp=grain_amp,
        mottle_m=float(rng.uniform(0.5, 2.0)),
        mottle_amp=mottle_amp,
        bump=bump,
        roughness=rough,
    )


def describe_walls(rng: np.random.Generator) -> WallMaterial:
    """Off-white to light neutral walls with subtle large-scale noise and (mostly) a skirting board."""
    tint = np.asarray(WALL_TINTS[int(rng.integers(len(WALL_TINTS)))])
    color = _rgb(tint * rng.uniform(0.5, 0.85))
    skirting = float(rng.uniform(0.06, 0.12)) if rng.uniform() < 0.8 else 0.0
    return WallMaterial(
        color=color,
        mottle_m=float(rng.uniform(0.3, 1.5)),
        mottle_amp=float(rng.uniform(0.03, 0.1)),
        skirting_m=skirting,
        skirting_color=SKIRTING_COLORS[int(rng.integers(len(SKIRTING_COLORS)))],
        roughness=float(rng.uniform(0.6, 0.9)),
    )
