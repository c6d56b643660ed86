"""Fit garment colour families to real people (pure numpy): pixels of rotated person boxes -> k-means families.

A CEPDOF box ``[cx, cy, w, h, angle_deg]`` is split along its long axis, measured from the head end (the end
farther from the fisheye centre, as ``refine_server.training.dataset.head_from_rotated_box``): the band
``TOP_BAND`` of that axis is taken as upper-body clothing, ``BOTTOM_BAND`` as legwear; only the middle
``ACROSS`` of the box's width is used, to keep the floor out. The families' HSV centres, jitters and weights
are what ``shared_schema.config.ColourFamily`` stores.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np

TOP_BAND = (0.22, 0.55)
BOTTOM_BAND = (0.58, 0.9)
ACROSS = 0.6
HUE_NAMES = (
    (0.04, "red"),
    (0.11, "orange"),
    (0.18, "yellow"),
    (0.45, "green"),
    (0.54, "cyan"),
    (0.71, "blue"),
    (0.83, "purple"),
    (0.95, "pink"),
    (1.01, "red"),
)


def band_points(
    box, band: tuple[float, float], image_center: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` random pixel positions (x, y) inside ``band`` (fractions of the long axis from the head end)."""
    cx, cy, w, h, a = (float(v) for v in box)
    r = math.radians(a)
    up = np.array([math.sin(r), -math.cos(r)])
    right = np.array([math.cos(r), math.sin(r)])
    c = np.array([cx, cy])
    if np.linalg.norm(c + up * h / 2 - image_center) < np.linalg.norm(c - up * h / 2 - image_center):
        up = -up  # the head end is the one farther from the centre
    along = rng.uniform(band[0], band[1], n)  # 0 at the head end, 1 at the feet end
    across = rng.uniform(-ACROSS / 2, ACROSS / 2, n)
    return c + np.outer(0.5 - along, up) * h + np.outer(across, right) * w


def sample_pixels(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """sRGB values in [0, 1] (m, 3) of ``image`` (H, W, 3 uint8) at the points inside it."""
    col, row = np.floor(points[:, 0]).astype(int), np.floor(points[:, 1]).astype(int)
    ok = (col >= 0) & (row >= 0) & (col < image.shape[1]) & (row < image.shape[0])
    return image[row[ok], col[ok], :3].astype(np.float64) / 255.0


def kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """(centres (k, d), label per row) by k-means++ seeding and Lloyd iterations."""
    k = min(k, len(x))
    centres = [x[int(rng.integers(len(x)))]]
    for _ in range(1, k):
        d = np.min(((x[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        centres.append(x[int(rng.choice(len(x), p=d / d.sum()))] if d.sum() > 0 else x[int(rng.integers(len(x)))])
    c = np.array(centres)
    labels = np.zeros(len(x), dtype=int)
    for _ in range(iterations):
        labels = ((x[:, None, :] - c[None]) ** 2).sum(-1).argmin(axis=1)
        new = np.array([x[labels == j].mean(axis=0) if np.any(labels == j) else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return c, labels


def colour_name(hsv: tuple[float, float, float]) -> str:
    h, s, v = hsv
    if v < 0.16:
        return "black"
    if s < 0.15:
        return "white" if v > 0.78 else "grey"
    name = next(n for edge, n in HUE_NAMES if h < edge)
    return ("dark_" if v < 0.4 else "") + name


def fit_families(pixels: np.ndarray, k: int, rng: np.random.Generator) -> list[dict]:
    """ColourFamily records (dicts) of ``pixels`` (m, 3 sRGB), heaviest first, with unique names."""
    if len(pixels) == 0:
        raise ValueError("no pixels to fit")
    centres, labels = kmeans(pixels, k, rng)
    out: list[dict] = []
    used: dict[str, int] = {}
    for j in np.argsort(-np.bincount(labels, minlength=len(centres))):
        member = pixels[labels == j]
        if not len(member):
            continue
        hsv = np.array([colorsys.rgb_to_hsv(*p) for p in member])
        h, s, v = colorsys.rgb_to_hsv(*centres[j])
        dh = (hsv[:, 0] - h + 0.5) % 1.0 - 0.5  # circular hue differences
        name = colour_name((h, s, v))
        used[name] = used.get(name, 0) + 1
        out.append(
            {
                "name": name if used[name] == 1 else f"{name}_{used[name]}",
                "weight": round(len(member) / len(pixels), 4),
                "hue": round(h, 4),
                "saturation": round(s, 4),
                "value": round(v, 4),
                "hue_jitter": round(float(min(0.5, np.std(dh))), 4),
                "saturation_jitter": round(float(min(1.0, np.std(hsv[:, 1]))), 4),
                "value_jitter": round(float(min(1.0, np.std(hsv[:, 2]))), 4),
            }
        )
    return out
