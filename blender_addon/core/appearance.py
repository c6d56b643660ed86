"""Appearance sampling and geometry (pure numpy): skin, clothing regions, hair styles and hair/headwear meshes."""

from __future__ import annotations

import colorsys
import math
import zlib

import numpy as np

from .retarget import Skeleton

# region codes of body vertices (also the body mesh's material slots)
SKIN, TOP, BOTTOM, SHOES, HAIR = 0, 1, 2, 3, 4
REGIONS = ("skin", "top", "bottom", "shoes", "hair")

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


def rng_for(seed: int, *keys) -> np.random.Generator:
    """Same derivation as ``shared_schema.distributions.rng_for`` (kept here so Blender needs no pydantic)."""
    words = [int(seed) & 0xFFFFFFFF, (int(seed) >> 32) & 0xFFFFFFFF]
    for key in keys:
        words.append(key & 0xFFFFFFFF if isinstance(key, int) else zlib.crc32(str(key).encode()))
    return np.random.default_rng(np.random.SeedSequence(words))


def _fabric(ranges, rng: np.random.Generator) -> dict:
    hue = float(rng.uniform(0, 1))
    sat = float(np.clip(ranges.fabric_saturation.sample(rng), 0.0, 1.0))
    val = float(np.clip(ranges.fabric_value.sample(rng), 0.02, 1.0))
    pattern = str(rng.choice(["plain", "stripes", "checker", "noise"], p=[0.55, 0.15, 0.1, 0.2]))
    r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
    return {
        "hue": hue, "saturation": sat, "value": val, "color": [r**2.2, g**2.2, b**2.2],
        "pattern": pattern, "pattern_scale": float(rng.uniform(8, 40)),
        "pattern_contrast": float(rng.uniform(0.2, 0.7)),
        "roughness": float(rng.uniform(0.5, 1.0)),
    }


def sample_appearance(ranges, rng: np.random.Generator, phenotype) -> dict:
    """Skin (thesis Table 7.1), clothing and hair. Draw order is fixed."""
    skin = {
        "melanin": float(ranges.skin_melanin.sample(rng)),
        "hue": float(ranges.skin_hue.sample(rng)),
        "oil": float(ranges.skin_oil.sample(rng)),
        "bump": float(ranges.skin_bump.sample(rng)),
    }
    styles = sorted(ranges.hair_styles)
    w = np.array([ranges.hair_styles[s] for s in styles], dtype=np.float64)
    female = phenotype.gender < 0.5
    w = w * np.array([{"long": 2.2 if female else 0.35, "tied": 2.0 if female else 0.3, "bald": 0.15 if female else 1.6}
                      .get(s, 1.0) for s in styles])
    style = styles[int(rng.choice(len(styles), p=w / w.sum()))]
    names = list(HAIR_COLOURS)
    dark = min(1.0, max(0.0, (skin["melanin"] - 0.2) / 0.8))
    p = np.array([0.25 + 0.6 * dark, 0.25 + 0.2 * dark, 0.2, 0.12 * (1 - dark), 0.1 * (1 - dark),
                  0.04 * (1 - dark), 0.0])
    grey = min(0.85, max(0.0, (phenotype.age_years - 40.0) / 40.0))
    p = np.append(p[:-1] / p[:-1].sum() * (1 - grey), grey)
    colour = names[int(rng.choice(len(names), p=p / p.sum()))]
    jitter = float(rng.uniform(0.8, 1.25))
    hair = {"style": style, "colour": colour, "color": [c * jitter for c in HAIR_COLOURS[colour]],
            "roughness": float(rng.uniform(0.35, 0.6))}
    top, bottom, shoes, headwear = (_fabric(ranges, rng) for _ in range(4))
    shoes["value"] = min(shoes["value"], 0.35)
    shoes["color"] = [c * 0.4 for c in shoes["color"]]
    shoes["pattern"] = "plain"
    sleeves = str(rng.choice(["long", "short", "none"], p=[0.45, 0.4, 0.15]))
    skirt_p = 0.35 if female else 0.0
    legwear = str(rng.choice(["trousers", "shorts", "skirt"], p=[0.85 - skirt_p, 0.15, skirt_p]))
    return {"skin": skin, "hair": hair, "top": top, "bottom": bottom, "shoes": shoes, "headwear": headwear,
            "sleeves": sleeves, "legwear": legwear}


def body_regions(coords: np.ndarray, weights: np.ndarray, sk: Skeleton, app: dict, face: dict) -> np.ndarray:
    """Region code per body vertex (rest pose)."""
    n = weights.shape[0]
    c = coords[:n]
    dom = np.argmax(weights, axis=1)
    names = np.array(sk.names)[dom]
    z = c[:, 2]
    j = {b: sk.heads[sk.index(b)] for b in ("Hips", "LeftLeg", "LeftFoot", "Neck", "Head")}
    waist = j["Hips"][2] + 0.10
    knee = j["LeftLeg"][2]
    ankle = j["LeftFoot"][2]
    reg = np.full(n, SKIN, dtype=np.int32)
    legs = np.isin(names, ["LHipJoint", "RHipJoint", "LeftUpLeg", "RightUpLeg", "LeftLeg", "RightLeg"])
    legs |= (names == "Hips") & (z < waist)
    low = {"trousers": ankle + 0.04, "shorts": knee + 0.08, "skirt": knee + 0.02}[app["legwear"]]
    reg[legs & (z > low)] = BOTTOM
    torso = np.isin(names, ["Hips", "LowerBack", "Spine", "Spine1", "LeftShoulder", "RightShoulder"]) & (z >= waist)
    torso |= (names == "Neck") & (z < j["Neck"][2] - 0.01)
    reg[torso] = TOP
    if app["sleeves"] != "none":
        arm_bones = ["LeftArm", "RightArm"] + (["LeftForeArm", "RightForeArm"] if app["sleeves"] == "long" else [])
        reg[np.isin(names, arm_bones)] = TOP
    shoes = np.isin(names, ["LeftFoot", "RightFoot", "LeftToeBase", "RightToeBase"]) | (z < ankle + 0.02)
    reg[shoes] = SHOES
    if app["hair"]["style"] != "bald":
        reg[scalp_mask(c, names, face, app["hair"]["style"])] = HAIR
    return reg


def scalp_mask(c: np.ndarray, names: np.ndarray, face: dict, style: str) -> np.ndarray:
    head = np.isin(names, ["Head", "Neck1"])
    hp = face["head_point"]
    eye_z = hp[2] - 0.02
    front = c[:, 1] < hp[1] - 0.02
    ear_gap = (np.abs(c[:, 0]) > 0.05) & (np.abs(c[:, 1] - face["left_ear"][1]) < 0.025)
    line = np.where(front, eye_z + 0.045, np.where(ear_gap, eye_z + 0.02, eye_z - (0.07 if style in ("long", "tied")
                                                                                    else 0.035)))
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
