"""Harmonization over a real photo: bring the rendered people to *that* photo's colour balance, noise, blur and
compression, estimated at request time from its background pixels (no training needed).

Estimates are made on a subsample of the background (every second row/column for colour; a bounded number of
8x8 blocks for noise) so the cost stays a small fraction of the generator's time.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from . import estimate as est
from .module import apply_look, jpeg_roundtrip
from .params import LookParams

__all__ = ["harmonize_params", "person_look"]

_BLUR_STEPS = (0.0, 0.4, 0.7, 1.0, 1.4)
_JPEG_STEPS = (90, 75, 60, 45, 30)


def _bbox(mask: np.ndarray, pad: int = 4) -> tuple[slice, slice]:
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    return (slice(max(ys.min() - pad, 0), min(ys.max() + pad + 1, h)),
            slice(max(xs.min() - pad, 0), min(xs.max() + pad + 1, w)))  # fmt: skip


def _blur_to(region: np.ndarray, region_mask: np.ndarray, target: float) -> float:
    """The PSF sigma that brings the region's edge sharpness nearest ``target``."""
    im = Image.fromarray(np.ascontiguousarray(region))
    vals = []
    for s in _BLUR_STEPS:
        b = np.asarray(im.filter(ImageFilter.GaussianBlur(s))) if s else region
        vals.append(abs(est.sharpness(b, region_mask) - target))
    return float(_BLUR_STEPS[int(np.argmin(vals))])


def harmonize_params(rgb: np.ndarray, person: np.ndarray, strength: float = 1.0, seed: int = 0) -> LookParams:
    """Look parameters for the person pixels of ``rgb`` (bool mask ``person``) from the background's statistics:
    grey-world colour gains, the noise the background has beyond the people's, the blur that matches the
    background's edge sharpness, and a JPEG quality when the background shows 8-px blocks. Bounded work."""
    bg = ~person & est.circle_mask(rgb)
    sub = (slice(None, None, 3), slice(None, None, 3))
    g_bg, g_p = est.grey_world(rgb[sub], bg[sub]), est.grey_world(rgb[sub], person[sub])
    gains = np.clip(((g_bg / g_bg.mean()) / (g_p / g_p.mean())) ** strength, 0.6, 1.6)
    bg_noise = est.noise_curve(rgb, bg, max_blocks=160, seed=seed)
    own = est.noise_curve(rgb, person, max_blocks=64, seed=seed)
    a, b = max(bg_noise.a - own.a, 0.0), max(bg_noise.b - own.b, 0.0)
    tiles = est.sample_tiles(rgb, bg, size=32, n=24, seed=seed)
    ys, xs = _bbox(person)
    region, region_mask = rgb[ys, xs], person[ys, xs]
    blur = _blur_to(region, region_mask, est.sharpness(tiles)) if len(tiles) else 0.0
    q = None
    block_bg = est.blockiness(tiles) if len(tiles) else 1.0
    if block_bg > 1.05:
        blocks = [est.blockiness(jpeg_roundtrip(region, j), region_mask) for j in _JPEG_STEPS]
        q = int(_JPEG_STEPS[int(np.argmin([abs(v - block_bg) for v in blocks]))])
    return LookParams(color_matrix=np.diag(gains).tolist(), blur_sigma=blur, noise_a=min(a, 0.05),
                      noise_b=min(b, 0.01), jpeg_quality=q, fitted_at=int(max(rgb.shape[:2])),
                      notes={"method": "harmonization: background statistics of this photo"})  # fmt: skip


def person_look(rgb: np.ndarray, person: np.ndarray, mode: str, fitted: LookParams | None, seed: int
                ) -> np.ndarray:  # fmt: skip
    """The person-scope look: ``harmonize`` (photo statistics), ``fitted`` (the model's look), ``both`` (fitted
    colour/tone/vignetting, then the photo's blur/noise/JPEG) or ``off``. Background pixels stay bit-identical."""
    if mode == "off" or not person.any() or (mode == "fitted" and fitted is None):
        return rgb
    if mode == "fitted":
        assert fitted is not None
        return apply_look(rgb, fitted, seed=seed, mask=person)
    harm = harmonize_params(rgb, person, seed=seed)
    if mode == "both" and fitted is not None:
        colour = fitted.model_copy(update={"blur_sigma": 0.0, "noise_a": 0.0, "noise_b": 0.0, "jpeg_quality": None})
        rgb = apply_look(rgb, colour, seed=seed, mask=person)
        harm = harm.model_copy(update={"color_matrix": np.eye(3).tolist()})
    return apply_look(rgb, harm, seed=seed, mask=person)
