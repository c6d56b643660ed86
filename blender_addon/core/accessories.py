"""Carried objects (pure numpy): backpacks, shoulder bags, handbags, laptops, phones and coffee cups.

Each object is a small rest-pose mesh rigidly attached to one bone (the bpy layer parents it with a single
vertex group of weight 1), so it follows the mocap pose: bags on the spine, hand-held objects on a hand, at most
one object per hand. Sampling uses the stream ``rng_for(seed, "accessories")``.
"""

from __future__ import annotations

import math

import numpy as np

from shared_schema.distributions import rng_for

from .palette import families, sample_colour
from .retarget import Skeleton

HAND_HELD = ("handbag", "laptop", "phone", "coffee_cup")
ORDER = ("backpack", "shoulder_bag", *HAND_HELD)
FIXED_COLOURS = {"laptop": [0.25, 0.25, 0.27], "phone": [0.01, 0.01, 0.012], "coffee_cup": [0.75, 0.72, 0.66]}


def box(center, size) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """An axis-aligned box: 8 vertices, 6 outward quads."""
    s = np.array([[x, y, z] for z in (-1, 1) for y in (-1, 1) for x in (-1, 1)], dtype=np.float64)
    faces: list[tuple[int, ...]] = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    return s * (np.asarray(size) / 2) + np.asarray(center), faces


def cylinder(center, radius: float, height: float, n: int = 16) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """A vertical closed cylinder (two n-gon caps)."""
    ang = 2 * math.pi * np.arange(n) / n
    ring = np.stack([radius * np.cos(ang), radius * np.sin(ang), np.zeros(n)], axis=1)
    half = np.array([0.0, 0.0, height / 2])
    v = np.concatenate([ring - half, ring + half]) + np.asarray(center)
    faces: list[tuple[int, ...]] = [(k, (k + 1) % n, n + (k + 1) % n, n + k) for k in range(n)]
    faces += [tuple(range(n - 1, -1, -1)), tuple(range(n, 2 * n))]
    return v, faces


def sample_accessories(settings: dict, seed: int) -> list[dict]:
    """``[{"kind", "bone", "color"}]``: each kind with its probability; hand-held ones take a free hand."""
    rng = rng_for(seed, "accessories")
    rates = settings["accessories"]
    hands = ["LeftHand", "RightHand"] if rng.random() < 0.5 else ["RightHand", "LeftHand"]
    bag_side = "left" if rng.random() < 0.5 else "right"
    bag_colours = families(settings["palettes"]["outerwear"])
    out = []
    for kind in ORDER:
        draw, colour = rng.random(), sample_colour(bag_colours, rng)["color"]
        if draw >= float(rates.get(kind, 0.0)):
            continue
        if kind in HAND_HELD:
            if not hands:
                continue
            bone = hands.pop(0)
        else:
            bone = "Spine1" if kind == "backpack" else "Spine"
        item = {"kind": kind, "bone": bone, "color": FIXED_COLOURS.get(kind, colour)}
        if kind == "shoulder_bag":
            item["side"] = bag_side
        out.append(item)
    return out


def _back_y(body: np.ndarray, z: float) -> float:
    near = body[(np.abs(body[:, 2] - z) < 0.05) & (np.abs(body[:, 0]) < 0.12)]
    return float(near[:, 1].max()) if len(near) else 0.12


def accessory_mesh(item: dict, sk: Skeleton, body: np.ndarray) -> dict:
    """``{"name", "verts", "faces", "material", "bone"}`` of one accessory in the rest pose of ``body``."""
    kind, bone = item["kind"], item["bone"]
    if kind == "backpack":
        z = float(sk.heads[sk.index("Spine1"), 2]) - 0.08
        v, f = box((0.0, _back_y(body, z) + 0.075, z), (0.30, 0.15, 0.40))
    elif kind == "shoulder_bag":
        z = float(sk.heads[sk.index("Hips"), 2])
        side = 1.0 if item.get("side", "left") == "left" else -1.0  # the figure's left is +X
        x = side * (abs(float(sk.heads[sk.index("LeftUpLeg"), 0])) + 0.16)
        v, f = box((x, 0.06, z), (0.07, 0.30, 0.24))
    else:
        i = sk.index(bone)
        d = sk.tails[i] - sk.heads[i]
        d = d / np.linalg.norm(d)
        grip = sk.tails[i] + 0.03 * d
        if kind == "handbag":
            v, f = box(grip + np.array([0, 0, -0.14]), (0.1, 0.28, 0.22))
        elif kind == "laptop":
            v, f = box(grip + np.array([0, 0, -0.1]), (0.025, 0.33, 0.23))
        elif kind == "phone":
            v, f = box(sk.tails[i] + np.array([0, -0.03, 0]), (0.075, 0.009, 0.15))
        else:
            v, f = cylinder(grip + np.array([0, -0.03, 0]), 0.04, 0.12)
    return {"name": kind, "verts": v, "faces": f, "material": f"acc_{kind}", "bone": bone}
