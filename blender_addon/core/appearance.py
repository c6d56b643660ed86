"""Appearance sampling and geometry (pure numpy): skin, hair styles and colours, hair/headwear meshes."""

from __future__ import annotations

import colorsys
import math

import numpy as np

from .palette import appearance_settings, families, sample_colour, srgb_to_linear
from .retarget import Skeleton

# region codes of body vertices (also the body mesh's first material slots; garments follow)
SKIN, HAIR = 0, 1
REGIONS = ("skin", "hair")

# natural hair colours (linear RGB) and base frequencies
HAIR_COLOURS = {
    "black": (0.010, 0.008, 0.007),
    "dark_brown": (0.030, 0.016, 0.009),
    "brown": (0.080, 0.040, 0.018),
    "light_brown": (0.180, 0.100, 0.045),
    "blonde": (0.420, 0.290, 0.140),
    "red": (0.250, 0.060, 0.020),
    "grey": (0.350, 0.340, 0.330),
}

FITZPATRICK = ("I", "II", "III", "IV", "V", "VI")
MELANIN_RANGE = (0.2, 1.0)  # skin_color's light .. dark end; split evenly into the six Fitzpatrick types


# Skin tone anchors (sRGB), light to dark: the Monk Skin Tone scale, MST 3 to MST 8 (Google, CC BY 4.0). MST 9-10
# are darker than measured skin reflectance; MST 8 at SKIN_ALBEDO_SCALE is the measured dark end (~0.09 in red).
SKIN_TONES_SRGB = ("f7ead0", "eadaba", "d7bd96", "a07e56", "825c43", "604134")
SKIN_ALBEDO_SCALE = 0.8  # a swatch is a display colour, brighter than the skin's albedo


def skin_color(melanin: float, hue: float) -> tuple[float, float, float]:
    """Linear RGB skin albedo from melanin (0.2 very light .. 1 very dark) and hue (~0.5 neutral): the Monk
    scale interpolated in display space (linear-light blends of a light and a dark tone come out grey)."""
    lo, hi = MELANIN_RANGE
    t = min(1.0, max(0.0, (melanin - lo) / (hi - lo))) * (len(SKIN_TONES_SRGB) - 1)
    k = min(int(t), len(SKIN_TONES_SRGB) - 2)
    a, b = (tuple(int(tone[i : i + 2], 16) / 255 for i in (0, 2, 4)) for tone in SKIN_TONES_SRGB[k : k + 2])
    srgb = [x + (y - x) * (t - k) for x, y in zip(a, b, strict=True)]
    h, s, v = colorsys.rgb_to_hsv(*srgb)
    h = (h + (hue - 0.5) * 0.6) % 1.0  # hue 0.49..0.51: +-0.006 of a turn, slightly redder / yellower
    r, g, b_ = colorsys.hsv_to_rgb(h, s, v)
    return (
        SKIN_ALBEDO_SCALE * srgb_to_linear(r),
        SKIN_ALBEDO_SCALE * srgb_to_linear(g),
        SKIN_ALBEDO_SCALE * srgb_to_linear(b_),
    )


def fitzpatrick_type(melanin: float) -> str:
    """The Fitzpatrick skin type (I..VI) of a melanin value of :func:`skin_color`."""
    lo, hi = MELANIN_RANGE
    k = int((melanin - lo) / (hi - lo) * len(FITZPATRICK))
    return FITZPATRICK[min(len(FITZPATRICK) - 1, max(0, k))]


def _hair_colour(settings: dict, rng: np.random.Generator, melanin: float, age_years: float) -> str:
    """Base weights from the settings, shifted darker with darker skin; grey from 40 years on."""
    dark = min(1.0, max(0.0, (melanin - 0.2) / 0.8))
    shift = {
        "black": 1 + 2.0 * dark,
        "dark_brown": 1 + 0.8 * dark,
        "brown": 1.0,
        "light_brown": 1 - 0.9 * dark,
        "blonde": 1 - 0.95 * dark,
        "red": 1 - 0.95 * dark,
    }
    names = [n for n in HAIR_COLOURS if n != "grey"]
    p = np.array([float(settings["hair_colours"].get(n, 0.0)) * shift[n] for n in names])
    if p.sum() <= 0:
        p = np.ones(len(names))
    grey = min(0.85, max(0.0, (age_years - 40.0) / 40.0))
    p = np.append(p / p.sum() * (1 - grey), grey)
    return [*names, "grey"][int(rng.choice(len(p), p=p / p.sum()))]


def sample_appearance(ranges, rng: np.random.Generator, phenotype) -> dict:
    """Skin (thesis Table 7.1, with its Fitzpatrick type), hair and headwear colour. Draw order is fixed; the
    outfit and carried objects come from :mod:`.wardrobe` and :mod:`.accessories` (streams of their own)."""
    settings = appearance_settings(ranges)
    skin: dict[str, float | str] = {
        "melanin": float(ranges.skin_melanin.sample(rng)),
        "hue": float(ranges.skin_hue.sample(rng)),
        "oil": float(ranges.skin_oil.sample(rng)),
        "bump": float(ranges.skin_bump.sample(rng)),
    }
    skin["fitzpatrick"] = fitzpatrick_type(float(skin["melanin"]))
    styles = sorted(ranges.hair_styles)
    w = np.array([ranges.hair_styles[s] for s in styles], dtype=np.float64)
    female = phenotype.gender < 0.5
    w = w * np.array(
        [
            {"long": 2.2 if female else 0.35, "tied": 2.0 if female else 0.3, "bald": 0.15 if female else 1.6}.get(
                s, 1.0
            )
            for s in styles
        ]
    )
    style = styles[int(rng.choice(len(styles), p=w / w.sum()))]
    colour = _hair_colour(settings, rng, float(skin["melanin"]), phenotype.age_years)
    jitter = float(rng.uniform(0.8, 1.25))
    hair = {
        "style": style,
        "colour": colour,
        "color": [c * jitter for c in HAIR_COLOURS[colour]],
        "roughness": float(rng.uniform(0.35, 0.6)),
    }
    hat = sample_colour(families(settings["palettes"]["outerwear"]), rng)
    headwear = {
        "type": "headwear",
        "color": hat["color"],
        "family": hat["family"],
        "fabric": "weave",
        "pattern": "plain",
        "roughness": float(rng.uniform(0.6, 0.95)),
    }
    return {"skin": skin, "hair": hair, "headwear": headwear}


def body_regions(coords: np.ndarray, weights: np.ndarray, sk: Skeleton, app: dict, face: dict) -> np.ndarray:
    """Region code per body vertex (rest pose): SKIN or HAIR (garments cover faces, see :mod:`.garments`)."""
    n = weights.shape[0]
    reg = np.full(n, SKIN, dtype=np.int32)
    if app["hair"]["style"] != "bald":
        names = np.array(sk.names)[np.argmax(weights, axis=1)]
        reg[scalp_mask(coords[:n], names, face, app["hair"]["style"])] = HAIR
    return reg


def scalp_mask(c: np.ndarray, names: np.ndarray, face: dict, style: str) -> np.ndarray:
    head = np.isin(names, ["Head", "Neck1"])
    hp = face["head_point"]
    eye_z = hp[2] - 0.02
    front = c[:, 1] < hp[1] - 0.02
    ear_gap = (np.abs(c[:, 0]) > 0.05) & (np.abs(c[:, 1] - face["left_ear"][1]) < 0.025)
    line = np.where(
        front, eye_z + 0.045, np.where(ear_gap, eye_z + 0.02, eye_z - (0.07 if style in ("long", "tied") else 0.035))
    )
    return head & (c[:, 2] > line)


def _uv_sphere(center, radii, n_u: int = 16, n_v: int = 10):
    verts = []
    for i in range(1, n_v):
        th = math.pi * i / n_v
        for k in range(n_u):
            ph = 2 * math.pi * k / n_u
            verts.append([math.sin(th) * math.cos(ph), math.sin(th) * math.sin(ph), math.cos(th)])
    verts = [[0, 0, 1], *verts, [0, 0, -1]]
    faces: list[tuple[int, ...]] = []
    for k in range(n_u):
        faces.append((0, 1 + k, 1 + (k + 1) % n_u))
    for i in range(n_v - 2):
        a, b = 1 + i * n_u, 1 + (i + 1) * n_u
        for k in range(n_u):
            faces.append((a + k, b + k, b + (k + 1) % n_u, a + (k + 1) % n_u))
    last = len(verts) - 1
    a = 1 + (n_v - 2) * n_u
    for k in range(n_u):
        faces.append((a + (k + 1) % n_u, a + k, last))
    return np.asarray(verts) * np.asarray(radii) + np.asarray(center), faces


def _shell(coords: np.ndarray, faces_v: np.ndarray, face_start, face_count, mask: np.ndarray, centre, thickness):
    """Scalp polygons (all vertices in ``mask``) pushed out from ``centre`` by ``thickness``."""
    fv = faces_v.reshape(-1, 4) if np.all(face_count == 4) else None
    if fv is None:
        raise ValueError("expected an all-quad body mesh")
    keep = mask[fv].all(axis=1)
    sel = fv[keep]
    used = np.unique(sel)
    remap = np.full(len(mask), -1)
    remap[used] = np.arange(len(used))
    v = coords[used]
    d = v - centre
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return v + thickness * d, [tuple(f) for f in remap[sel]]


def hair_meshes(coords, faces_v, face_start, face_count, regions, face: dict, app: dict) -> list[dict]:
    """Extra meshes rigidly attached to the Head bone: ``{"name", "verts", "faces", "material"}``."""
    style = app["hair"]["style"]
    if style == "bald":
        return []
    n = len(regions)
    hp = np.asarray(face["head_point"])
    mask = np.zeros(len(coords), bool)
    mask[:n] = regions == HAIR
    centre = hp + np.array([0.0, 0.0, -0.02])
    out = []
    if style in ("cap", "hat"):
        v, f = _shell(coords, faces_v, face_start, face_count, mask, centre, 0.014)
        out.append({"name": "headwear", "verts": v, "faces": f, "material": "headwear"})
        top = v[:, 2].min()
        if style == "cap":
            bv, bf = _uv_sphere(hp + np.array([0.0, -0.10, top - hp[2] + 0.035]), (0.075, 0.07, 0.008), 12, 6)
        else:
            bv, bf = _uv_sphere(np.array([hp[0], hp[1], top + 0.03]), (0.19, 0.19, 0.008), 20, 6)
        out.append({"name": "brim", "verts": bv, "faces": bf, "material": "headwear"})
        return out
    thick = {"short": 0.008, "long": 0.016, "tied": 0.010}[style]
    v, f = _shell(coords, faces_v, face_start, face_count, mask, centre, thick)
    out.append({"name": "hair", "verts": v, "faces": f, "material": "hair"})
    if style == "long":
        lv, lf = _uv_sphere(hp + np.array([0.0, 0.065, -0.13]), (0.085, 0.045, 0.14), 14, 8)
        out.append({"name": "hair_long", "verts": lv, "faces": lf, "material": "hair"})
    elif style == "tied":
        bv, bf = _uv_sphere(hp + np.array([0.0, 0.105, -0.01]), (0.04, 0.04, 0.045), 12, 8)
        out.append({"name": "hair_bun", "verts": bv, "faces": bf, "material": "hair"})
    return out
