"""Phenotype sampling and MakeHuman macro-target blending (pure numpy).

The weights follow MakeHuman 1.1's macro modifiers (``macro.json``): gender female/male, age
baby/child/young/old, muscle and weight
min/average/max, height min/(none)/max, proportions uncommon/(none)/ideal, race african/asian/caucasian
normalised to sum 1. Each target's weight is the product of its factors' weights.

Two deliberate departures from MakeHuman's defaults, both to get realistic adult bodies:

- Age: MakeHuman puts 25 years at the "young" target (macro 0.5), so an 18-year-old is half "child" and ~18 cm
  shorter. Here the knots are 1, 11, 18, 90 years -> macro 0, 0.1875, 0.5, 1 (adult size from 18).
- Height: the full MakeHuman height slider spans ~1.3 m to ~2.4 m. The sampled ``height`` value h in [0, 1] is
  applied as macro ``0.5 + HEIGHT_GAIN * (h - 0.5)``; with the default N(0.5, 0.18) that is a ~7 cm standard
  deviation within a sex, as in real adult populations.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from . import mhdata

AGE_KNOTS_YEARS = (1.0, 11.0, 18.0, 90.0)
AGE_KNOTS_MACRO = (0.0, 0.1875, 0.5, 1.0)
CHILD_PROBABILITY = 0.2  # share of children when PhenotypeRanges.allow_children
CHILD_AGE_YEARS = (6.0, 17.0)
HEIGHT_GAIN = 0.35


def age_to_macro(years: float) -> float:
    return float(np.interp(years, AGE_KNOTS_YEARS, AGE_KNOTS_MACRO))


@dataclass(frozen=True)
class Phenotype:
    gender: float  # 0 female .. 1 male
    age_years: float
    muscle: float
    weight: float
    height: float
    proportions: float
    african: float
    asian: float
    caucasian: float

    @property
    def age(self) -> float:
        return age_to_macro(self.age_years)

    @property
    def height_macro(self) -> float:
        return 0.5 + HEIGHT_GAIN * (self.height - 0.5)

    def to_dict(self) -> dict:
        d = {k: float(v) for k, v in asdict(self).items()}
        d["age_macro"] = self.age
        d["height_macro"] = self.height_macro
        return d


def _clip01(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def sample_phenotype(ranges, rng: np.random.Generator) -> Phenotype:
    """Draw a phenotype from ``shared_schema.config.PhenotypeRanges`` (fixed draw order, so seed-stable)."""
    gender = _clip01(ranges.gender.sample(rng))
    age = float(ranges.age_years.sample(rng))
    child_draw = rng.random()
    child_age = rng.uniform(*CHILD_AGE_YEARS)
    if ranges.allow_children and child_draw < CHILD_PROBABILITY:
        age = float(child_age)
    muscle = _clip01(ranges.muscle.sample(rng))
    weight = _clip01(ranges.weight.sample(rng))
    height = _clip01(ranges.height.sample(rng))
    proportions = _clip01(ranges.proportions.sample(rng))
    race = np.array([max(0.0, float(d.sample(rng))) for d in (ranges.african, ranges.asian, ranges.caucasian)])
    race = race / race.sum() if race.sum() > 1e-9 else np.full(3, 1.0 / 3.0)
    return Phenotype(gender, float(np.clip(age, 1.0, 90.0)), muscle, weight, height, proportions, *map(float, race))


def _three(v: float, names: tuple[str, str, str]) -> dict[str, float]:
    if v < 0.5:
        return {names[0]: 1.0 - 2.0 * v, names[1]: 2.0 * v}
    return {names[1]: 2.0 - 2.0 * v, names[2]: 2.0 * v - 1.0}


def _age_weights(a: float) -> dict[str, float]:
    if a < 0.1875:
        t = a / 0.1875
        return {"baby": 1.0 - t, "child": t}
    if a < 0.5:
        t = (a - 0.1875) / (0.5 - 0.1875)
        return {"child": 1.0 - t, "young": t}
    t = (a - 0.5) / 0.5
    return {"young": 1.0 - t, "old": t}


def macro_target_weights(ph: Phenotype, eps: float = 1e-6) -> dict[str, float]:
    """Target name -> weight, for every macrodetails target with a non-zero weight."""
    gender = {"female": 1.0 - ph.gender, "male": ph.gender}
    age = _age_weights(ph.age)
    muscle = _three(ph.muscle, ("minmuscle", "averagemuscle", "maxmuscle"))
    weight = _three(ph.weight, ("minweight", "averageweight", "maxweight"))
    hm = ph.height_macro
    height = {"minheight": max(0.0, 1.0 - 2.0 * hm), "maxheight": max(0.0, 2.0 * hm - 1.0)}
    prop = {
        "uncommonproportions": max(0.0, 1.0 - 2.0 * ph.proportions),
        "idealproportions": max(0.0, 2.0 * ph.proportions - 1.0),
    }
    race = {"african": ph.african, "asian": ph.asian, "caucasian": ph.caucasian}
    out: dict[str, float] = {}
    for r, wr in race.items():
        for g, wg in gender.items():
            for a, wa in age.items():
                out[f"{r}-{g}-{a}"] = wr * wg * wa
    for g, wg in gender.items():
        for a, wa in age.items():
            for m, wm in muscle.items():
                for w, ww in weight.items():
                    base = wg * wa * wm * ww
                    out[f"universal-{g}-{a}-{m}-{w}"] = base
                    for h, wh in height.items():
                        out[f"height/{g}-{a}-{m}-{w}-{h}"] = base * wh
                    if a != "baby":
                        for p, wp in prop.items():
                            out[f"proportions/{g}-{a}-{m}-{w}-{p}"] = base * wp
    return {k: v for k, v in sorted(out.items()) if v > eps}


_FLAT_INDEX: dict[str, np.ndarray] = {}  # target name -> flat indices into a C-contiguous (V, 3) array
_FLAT_BY_BYTES: dict[bytes, np.ndarray] = {}  # targets with the same vertex indices share one flat-index object


def _flat_index(name: str, idx: np.ndarray) -> np.ndarray:
    fi = _FLAT_INDEX.get(name)
    if fi is None:
        fi = (idx[:, None] * 3 + np.arange(3)).ravel()
        fi = _FLAT_INDEX[name] = _FLAT_BY_BYTES.setdefault(fi.tobytes(), fi)
    return fi


def shaped_coords(ph: Phenotype) -> np.ndarray:
    """All base-mesh vertices (body and joint cubes) with the blended macro targets applied (metres, not grounded).

    Per target this is ``coords[idx] += w * d`` in name order. It runs on the flat view (1-D fancy indexing is ~2x
    faster than (n, 3) rows), and consecutive targets on the same vertices share one gather/scatter; the float
    operations (a float32 ``w * d`` added to float64 coordinates, in target order) are exactly the same.
    """
    coords = mhdata.base_mesh().coords.copy()
    flat = coords.reshape(-1)
    targets = mhdata.macro_targets()
    cur_fi, cur = None, None
    for name, w in macro_target_weights(ph).items():
        t = targets.get(name)
        if t is None:  # e.g. universal-*-averagemuscle-averageweight is empty
            continue
        idx, d = t
        fi = _flat_index(name, idx)
        if fi is not cur_fi:
            if cur_fi is not None:
                flat[cur_fi] = cur
            cur_fi, cur = fi, flat[fi]
        assert cur is not None  # set together with cur_fi above
        cur += (w * d).reshape(-1)
    if cur_fi is not None:
        flat[cur_fi] = cur
    return coords


@lru_cache(maxsize=1)
def _standing_height_vertices() -> np.ndarray:
    return np.arange(mhdata.base_mesh().n_body)


def standing_height(coords: np.ndarray) -> float:
    """Rest-pose body height (top of head to sole) in metres."""
    z = coords[_standing_height_vertices(), 2]
    return float(z.max() - z.min())
