"""Garment colour palettes (pure numpy): colour families with shares, sampled per garment.

The distributions come from ``shared_schema.config.AppearanceConfig`` (``PhenotypeRanges.appearance``). Without
pydantic (a bare Blender Python) the same defaults are read from ``shared_schema/appearance_defaults.json``.
"""

from __future__ import annotations

import colorsys
import importlib.util
import json
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Family:
    """A colour family in display HSV (see ``shared_schema.config.ColourFamily``)."""

    name: str
    weight: float
    hue: float = 0.0
    saturation: float = 0.0
    value: float = 0.5
    hue_jitter: float = 0.02
    saturation_jitter: float = 0.08
    value_jitter: float = 0.08
    any_hue: bool = False


@lru_cache(maxsize=1)
def _default_settings() -> dict:
    spec = importlib.util.find_spec("shared_schema")  # locates the package without importing pydantic
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("shared_schema is needed for the appearance defaults")
    path = Path(next(iter(spec.submodule_search_locations))) / "appearance_defaults.json"
    return json.loads(path.read_text(encoding="utf-8"))


def appearance_settings(ranges) -> dict:
    """The appearance section of ``ranges`` as plain data (the JSON defaults when it has none)."""
    section = getattr(ranges, "appearance", None)
    if section is None:
        return _default_settings()
    if hasattr(section, "model_dump"):
        return section.model_dump(mode="json")
    return dict(section)


def families(raw) -> tuple[Family, ...]:
    """Families from a list of dicts (or pydantic models)."""
    names = {f.name for f in fields(Family)}
    out = []
    for item in raw:
        d = item.model_dump() if hasattr(item, "model_dump") else dict(item)
        out.append(Family(**{k: v for k, v in d.items() if k in names}))
    return tuple(out)


def choose(weights: dict[str, float], rng: np.random.Generator) -> str:
    """One key of ``weights`` (sorted keys, so the draw does not depend on dict order)."""
    keys = sorted(weights)
    w = np.array([float(weights[k]) for k in keys])
    return keys[int(rng.choice(len(keys), p=w / w.sum()))]


def srgb_to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def sample_colour(
    fams: tuple[Family, ...], rng: np.random.Generator, any_hue_saturation=None, any_hue_value=None
) -> dict:
    """A garment colour: ``{"family", "hsv" (display), "color" (linear RGB)}``. Fixed draw order.

    ``any_hue_saturation`` / ``any_hue_value`` (distributions with ``.sample(rng)``) replace the saturation and
    value of an any-hue family when given (``PhenotypeRanges.fabric_saturation`` / ``fabric_value``).
    """
    w = np.array([f.weight for f in fams], dtype=np.float64)
    fam = fams[int(rng.choice(len(fams), p=w / w.sum()))]
    u = rng.uniform(-1.0, 1.0, 3)
    hue_draw = float(rng.uniform(0.0, 1.0))
    if fam.any_hue:
        hue = hue_draw
        sat = fam.saturation + u[1] * fam.saturation_jitter
        val = fam.value + u[2] * fam.value_jitter
        if any_hue_saturation is not None:
            sat = any_hue_saturation.sample(rng)
        if any_hue_value is not None:
            val = any_hue_value.sample(rng)
    else:
        hue = (fam.hue + u[0] * fam.hue_jitter) % 1.0
        sat = fam.saturation + u[1] * fam.saturation_jitter
        val = fam.value + u[2] * fam.value_jitter
    sat, val = float(np.clip(sat, 0.0, 1.0)), float(np.clip(val, 0.02, 1.0))
    rgb = colorsys.hsv_to_rgb(hue, sat, val)
    return {
        "family": fam.name,
        "hsv": [round(hue, 6), round(sat, 6), round(val, 6)],
        "color": [srgb_to_linear(c) for c in rgb],
    }
