"""Harmonization over a real photo: bring the rendered people to *that* photo's colour balance, noise, blur and
compression, estimated at request time from its background pixels (no training needed).

Estimates are made on a subsample of the background (every second row/column for colour; a bounded number of
8x8 blocks for noise) so the cost stays a small fraction of the generator's time.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from . import estimate as est
from .module import Box, apply_look, jpeg_roundtrip, mask_box
from .params import LookParams

__all__ = ["harmonize_params", "person_look"]

_BLUR_STEPS = (0.0, 0.5, 0.9, 1.4)
_JPEG_STEPS = (90, 75, 60, 45, 30)


def _blur_to(region: np.ndarray, region_mask: np.ndarray, target: float) -> float:
    """The PSF sigma of ``_BLUR_STEPS`` that brings the region's edge sharpness nearest ``target``.

    Sharpness falls as the blur grows, so the search walks up the steps and stops once it is at or below the
    target (a region already as soft as the target costs one measurement)."""
    im = Image.fromarray(np.ascontiguousarray(region))
    prev_gap = None
    for k, s in enumerate(_BLUR_STEPS):
        b = np.asarray(im.filter(ImageFilter.GaussianBlur(s))) if s else region
        gap = est.sharpness(b, region_mask) - target
        if gap <= 0:
            return float(s if prev_gap is None or -gap < prev_gap else _BLUR_STEPS[k - 1])
        prev_gap = gap
    return float(_BLUR_STEPS[-1])


def harmonize_params(
    rgb: np.ndarray, person: np.ndarray, strength: float = 1.0, seed: int = 0, boxes: list[Box] | None = None
) -> LookParams:
    """Look parameters for the person pixels of ``rgb`` (bool mask ``person``; ``boxes`` around the people) from
    the background's statistics: grey-world colour gains (to the power ``strength``), the background's noise
    (renders are near noise-free), the blur that matches the background's edge sharpness on the largest person,
    and a JPEG quality when the background shows 8-px blocks. Bounded work (subsamples, tiles, one region)."""
    bg = ~person & est.circle_mask(rgb)
    sub = (slice(1, None, 4), slice(1, None, 4))
    g_bg, g_p = est.grey_world(rgb[sub], bg[sub]), est.grey_world(rgb[sub], person[sub])
    gains = np.clip(((g_bg / g_bg.mean()) / (g_p / g_p.mean())) ** strength, 0.6, 1.6)
    bg_noise = est.noise_curve(rgb, bg, max_blocks=96, seed=seed)  # renders are (near) noise-free: add it all
    a, b = bg_noise.a, bg_noise.b
    tiles = est.sample_tiles(rgb, bg, size=32, n=16, seed=seed)
    y0, y1, x0, x1 = max(boxes or [mask_box(person)], key=lambda b: (b[1] - b[0]) * (b[3] - b[2]))
    region, region_mask = rgb[y0:y1, x0:x1], person[y0:y1, x0:x1]
    blur = _blur_to(region, region_mask, est.sharpness(tiles)) if len(tiles) and region_mask.any() else 0.0
    q = None
    block_bg = est.blockiness(tiles) if len(tiles) else 1.0
    if block_bg > 1.05 and region_mask.any():
        blocks = [est.blockiness(jpeg_roundtrip(region, j), region_mask) for j in _JPEG_STEPS]
        q = int(_JPEG_STEPS[int(np.argmin([abs(v - block_bg) for v in blocks]))])
    return LookParams(
        color_matrix=np.diag(gains).tolist(),
        blur_sigma=blur,
        noise_a=min(a, 0.05),
        noise_b=min(b, 0.01),
        jpeg_quality=q,
        fitted_at=int(max(rgb.shape[:2])),
        notes={"method": "harmonization: background statistics of this photo"},
    )


def person_look(
    rgb: np.ndarray,
    person: np.ndarray,
    mode: str,
    fitted: LookParams | None,
    seed: int,
    boxes: list[Box] | None = None,
    strength: float = 1.0,
) -> np.ndarray:
    """The person-scope look: ``harmonize`` (photo statistics), ``fitted`` (the model's look), ``both`` (fitted
    colour/tone/vignetting, then the photo's blur/noise/JPEG) or ``off``. Background pixels stay bit-identical."""
    if mode == "off" or not person.any() or (mode == "fitted" and fitted is None):
        return rgb
    if mode == "fitted":
        assert fitted is not None
        return apply_look(rgb, fitted, seed=seed, mask=person, boxes=boxes)
    harm = harmonize_params(rgb, person, strength=strength, seed=seed, boxes=boxes)
    if mode == "both" and fitted is not None:
        colour = fitted.model_copy(update={"blur_sigma": 0.0, "noise_a": 0.0, "noise_b": 0.0, "jpeg_quality": None})
        rgb = apply_look(rgb, colour, seed=seed, mask=person, boxes=boxes)
        harm = harm.model_copy(update={"color_matrix": np.eye(3).tolist()})
    return apply_look(rgb, harm, seed=seed, mask=person, boxes=boxes)
