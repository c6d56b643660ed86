"""Outfit sampling (pure numpy): which garments a person wears, their cut, colour, fabric and pattern.

Each slot draws from its own stream ``rng_for(seed, "wardrobe", slot)``, so changing one slot's distribution
leaves the others of the same seed unchanged. The result is plain JSON data stored with the person.
"""

from __future__ import annotations

from shared_schema.distributions import rng_for

from .palette import choose, families, sample_colour

# shell offset from the skin in metres: inner layers thinner than the ones worn over them
THICKNESS = {
    "tank": 0.006,
    "tshirt": 0.007,
    "shirt": 0.008,
    "sweater": 0.011,
    "dress": 0.008,
    "trousers": 0.005,
    "shorts": 0.005,
    "skirt": 0.009,
    "jacket": 0.02,
    "coat": 0.025,
    "shoes": 0.012,
}
FABRIC = {
    "tank": "knit",
    "tshirt": "knit",
    "sweater": "knit",
    "shirt": "weave",
    "dress": "weave",
    "trousers": "weave",
    "shorts": "weave",
    "skirt": "weave",
    "jacket": "weave",
    "coat": "wool",
    "shoes": "leather",
}
# sleeve end as a fraction of shoulder -> wrist; leg end as a fraction of hip -> ankle
SLEEVE_END = {"none": (0.0, 0.0), "short": (0.22, 0.34), "elbow": (0.5, 0.6), "long": (0.95, 0.98)}
LEG_END = {"trousers": (0.95, 0.99), "shorts": (0.38, 0.55)}
PALETTE_SLOT = {"top": "tops", "legwear": "bottoms", "outer": "outerwear", "shoes": "shoes"}


def _garment(kind: str, slot: str, settings: dict, ranges, seed: int) -> dict:
    rng = rng_for(seed, "wardrobe", slot)
    fams = families(settings["palettes"][PALETTE_SLOT[slot]])
    colour = sample_colour(fams, rng, getattr(ranges, "fabric_saturation", None), getattr(ranges, "fabric_value", None))
    fabric = FABRIC[kind]
    if slot == "legwear" and colour["family"] == "denim":
        fabric = "denim"
    if kind == "jacket" and rng.random() < float(settings["leather_jacket"]):
        fabric = "leather"
    pattern = choose(settings["patterns"], rng) if slot in ("top", "legwear") and fabric != "denim" else "plain"
    if kind in ("shoes", "coat") or fabric == "leather":
        pattern = "plain"
    second = sample_colour(fams, rng)
    return {
        "type": kind,
        "color": colour["color"],
        "family": colour["family"],
        "hsv": colour["hsv"],
        "fabric": fabric,
        "pattern": pattern,
        "pattern_color": second["color"],
        "pattern_scale": float(rng.uniform(8.0, 30.0)),
        "pattern_angle_deg": float(rng.choice([0.0, 90.0, 45.0])),
        "roughness": float(rng.uniform(0.35, 0.6) if fabric == "leather" else rng.uniform(0.7, 1.0)),
        "thickness": THICKNESS[kind],
    }


def _top(settings: dict, ranges, seed: int, dress: bool) -> dict:
    rng = rng_for(seed, "wardrobe", "top_cut")
    if dress:
        kind, sleeves = "dress", choose({"none": 0.35, "short": 0.45, "long": 0.2}, rng)
    else:
        kind = choose(settings["tops"], rng)
        sleeves = {"tank": "none", "tshirt": "short", "sweater": "long", "shirt": "long"}[kind]
        if kind == "shirt" and rng.random() < float(settings["rolled_sleeves"]):
            sleeves = "elbow"
    g = _garment(kind, "top", settings, ranges, seed)
    g.update(
        sleeves=sleeves, sleeve_end=float(rng.uniform(*SLEEVE_END[sleeves])), hem_drop=float(rng.uniform(0.0, 0.08))
    )
    if dress:
        g.update(hem_from_knee=float(rng.uniform(-0.15, 0.12)), flare=float(rng.uniform(0.03, 0.12)))
    return g


def _legwear(settings: dict, ranges, seed: int, female: bool) -> dict:
    rng = rng_for(seed, "wardrobe", "legwear_cut")
    kind = choose(settings["legwear_female" if female else "legwear_male"], rng)
    g = _garment(kind, "legwear", settings, ranges, seed)
    if kind == "skirt":
        g.update(hem_from_knee=float(rng.uniform(-0.12, 0.15)), flare=float(rng.uniform(0.02, 0.12)))
    else:
        g.update(leg_end=float(rng.uniform(*LEG_END[kind])))
    return g


def _outer(settings: dict, ranges, seed: int) -> dict | None:
    rng = rng_for(seed, "wardrobe", "outer_cut")
    kind = choose(settings["outerwear"], rng)
    if kind == "none":
        return None
    g = _garment(kind, "outer", settings, ranges, seed)
    g.update(sleeves="long", sleeve_end=float(rng.uniform(0.93, 0.97)), hem_drop=float(rng.uniform(0.06, 0.14)))
    if kind == "coat":
        g.update(hem_from_knee=float(rng.uniform(-0.18, 0.05)), flare=float(rng.uniform(0.03, 0.07)))
    return g


def sample_outfit(settings: dict, ranges, seed: int, female: bool) -> dict:
    """``{"top", "legwear" (None under a dress), "outer" (None or a jacket/coat), "shoes"}``, each a garment
    record: type, colour (linear RGB), palette family, fabric, pattern, cut parameters, shell thickness."""
    dress = female and rng_for(seed, "wardrobe", "dress").random() < float(settings["dress_female"])
    return {
        "top": _top(settings, ranges, seed, dress),
        "legwear": None if dress else _legwear(settings, ranges, seed, female),
        "outer": _outer(settings, ranges, seed),
        "shoes": _garment("shoes", "shoes", settings, ranges, seed),
    }
