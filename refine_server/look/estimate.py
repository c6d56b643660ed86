"""Pure-numpy estimators of a camera's look from its pixels (no labels, no reference image).

* noise: Poisson–Gaussian variance ``a * I + b`` from the Immerkær high-pass (a Laplacian-difference kernel that
  cancels planes) on the flattest 8x8 blocks of each intensity bin;
* JPEG quality: from the file's quantisation tables (exact for IJG-scaled tables) or, for decoded pixels, the
  blockiness ratio (8-px grid steps vs. steps elsewhere);
* sharpness: mean |Laplacian| / mean |gradient| on the strongest edges (lower = softer), matched by a blur search;
* colour: grey-world channel means and chroma spread; luminance quantiles (for a tone curve);
* vignetting: median luminance per radius bin inside the image circle.

Inputs are uint8 or float (H, W, 3) frames; ``mask`` (H, W) bool selects usable pixels (image circle, no overlays).
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "NoiseCurve",
    "blockiness",
    "circle_mask",
    "grey_world",
    "jpeg_quality_from_tables",
    "luminance",
    "noise_curve",
    "radial_profile",
    "sample_tiles",
    "sharpness",
]

_IJG_LUMA = np.array(
    [
        16,
        11,
        10,
        16,
        24,
        40,
        51,
        61,
        12,
        12,
        14,
        19,
        26,
        58,
        60,
        55,
        14,
        13,
        16,
        24,
        40,
        57,
        69,
        56,
        14,
        17,
        22,
        29,
        51,
        87,
        80,
        62,
        18,
        22,
        37,
        56,
        68,
        109,
        103,
        77,
        24,
        35,
        55,
        64,
        81,
        104,
        113,
        92,
        49,
        64,
        78,
        87,
        103,
        121,
        120,
        101,
        72,
        92,
        95,
        98,
        112,
        100,
        103,
        99,
    ],
    dtype=np.float64,
)
_LUMA = np.array([0.299, 0.587, 0.114])


def _float(rgb: np.ndarray) -> np.ndarray:
    a = np.asarray(rgb)
    return a.astype(np.float64) / 255.0 if a.dtype == np.uint8 else a.astype(np.float64)


def luminance(rgb: np.ndarray) -> np.ndarray:
    x = np.asarray(rgb)
    lum = x[..., 0] * _LUMA[0] + x[..., 1] * _LUMA[1] + x[..., 2] * _LUMA[2]
    return lum / 255.0 if x.dtype == np.uint8 else lum


def circle_mask(rgb: np.ndarray, threshold: float = 12 / 255, shrink: float = 0.97) -> np.ndarray:
    """The fisheye image circle (pixels inside the circle of the non-black area, shrunk a little); whole frame when
    the frame has no black surround."""
    h, w = np.asarray(rgb).shape[:2]
    lum = luminance(np.asarray(rgb)[2::4, 2::4])  # the circle's radius from a 4x subsample
    yy, xx = np.mgrid[0:h:4, 0:w:4] + 2.5
    lit = lum > threshold
    if lit.mean() > 0.97 or not lit.any():
        return np.ones((h, w), bool)
    radius = float(np.percentile(np.hypot(xx - w / 2, yy - h / 2)[lit], 99.5))
    return _radius(h, w) <= radius * shrink


@functools.lru_cache(maxsize=8)
def _radius(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    r = np.hypot(xx - w / 2, yy - h / 2)
    r.setflags(write=False)
    return r


# -- noise ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NoiseCurve:
    """Noise variance ``a * I + b`` (intensities in [0, 1]); ``bins`` = (intensity, sigma, n blocks) measured."""

    a: float
    b: float
    bins: tuple[tuple[float, float, int], ...] = ()

    def sigma(self, intensity: float) -> float:
        return math.sqrt(max(self.a * intensity + self.b, 0.0))


def _immerkaer(c: np.ndarray) -> np.ndarray:
    """Valid-area response over axes 1, 2 of (n, H, W, ...) of [[1,-2,1],[-2,4,-2],[1,-2,1]] (36 sigma^2 for white
    noise; planes cancel)."""
    return (
        c[:, :-2, :-2]
        - 2 * c[:, :-2, 1:-1]
        + c[:, :-2, 2:]
        - 2 * c[:, 1:-1, :-2]
        + 4 * c[:, 1:-1, 1:-1]
        - 2 * c[:, 1:-1, 2:]
        + c[:, 2:, :-2]
        - 2 * c[:, 2:, 1:-1]
        + c[:, 2:, 2:]
    )


def _blocks(a: np.ndarray, b: int) -> np.ndarray:
    """(H, W, ...) → (H // b, W // b, b * b, ...) non-overlapping blocks (the remainder is dropped)."""
    h, w, rest = (a.shape[0] // b) * b, (a.shape[1] // b) * b, a.shape[2:]
    return a[:h, :w].reshape(h // b, b, w // b, b, *rest).swapaxes(1, 2).reshape(h // b, w // b, b * b, *rest)


def noise_curve(
    rgb: np.ndarray,
    mask: np.ndarray | None = None,
    block: int = 8,
    n_bins: int = 8,
    flat_fraction: float = 0.2,
    max_blocks: int | None = None,
    seed: int = 0,
) -> NoiseCurve:
    """Estimate per-pixel noise variance vs intensity (averaged over channels) from the flattest blocks.

    Flatness is judged on a box-smoothed copy (so the selection is not biased by the noise itself);
    ``max_blocks`` bounds the work (a seeded random subset of the usable blocks)."""
    x = _float(rgb) if np.asarray(rgb).dtype != np.uint8 else np.asarray(rgb)
    h, w = x.shape[:2]
    hb, wb = h // block, w // block
    if hb < 3 or wb < 3:
        return NoiseCurve(0.0, 0.0)
    okb = np.ones((hb, wb), bool)
    if mask is not None:
        okb = np.asarray(mask, bool)[: hb * block, : wb * block].reshape(hb, block, wb, block).all(axis=(1, 3))
    pad = 4  # 1 for the high-pass, 3 for three 3x3 box passes: blocks this close to the border are skipped
    okb[0], okb[-1], okb[:, 0], okb[:, -1] = False, False, False, False
    by, bx = np.nonzero(okb)
    if max_blocks and by.size > 2 * max_blocks:  # candidates; clipped ones are dropped below
        pick = np.random.default_rng(seed).choice(by.size, 2 * max_blocks, replace=False)
        by, bx = by[pick], bx[pick]
    r = np.arange(block + 2 * pad) - pad
    patches = x[(by * block)[:, None, None] + r[None, :, None], (bx * block)[:, None, None] + r[None, None, :]]
    patches = patches.astype(np.float64) / 255.0 if patches.dtype == np.uint8 else patches
    core = patches[:, pad : pad + block, pad : pad + block].reshape(len(patches), -1)
    unclipped = (core.min(axis=1) > 2 / 255) & (core.max(axis=1) < 253 / 255)  # clipped pixels carry no noise
    patches = patches[unclipped][:max_blocks] if max_blocks else patches[unclipped]
    if len(patches) < 8:
        return NoiseCurve(0.0, 0.0)
    hp = _immerkaer(patches[:, pad - 1 : pad + block + 1, pad - 1 : pad + block + 1])  # (n, b, b, 3)
    sig = np.sqrt(np.pi / 2) * np.abs(hp).mean(axis=(1, 2, 3)) / 6.0
    tex = _smooth_gradient(patches.mean(-1))
    mean_i = patches[:, pad : pad + block, pad : pad + block].mean(axis=(1, 2, 3))
    edges = np.quantile(mean_i, np.linspace(0, 1, n_bins + 1))
    bins = []
    for lo, hi in itertools.pairwise(edges):
        sel = np.flatnonzero((mean_i >= lo) & (mean_i <= hi))
        if sel.size < 4:
            continue
        flat = sel[np.argsort(tex[sel])[: max(2, int(sel.size * flat_fraction))]]
        bins.append((float(mean_i[flat].mean()), float(np.median(sig[flat])), int(flat.size)))
    return _fit_curve(bins)


def _smooth_gradient(lum: np.ndarray, passes: int = 3) -> np.ndarray:
    """Per patch (n, L, L): mean |gradient| of a copy smoothed by ``passes`` valid 3x3 box filters."""
    s = lum
    for _ in range(passes):
        n = s.shape[1] - 2
        s = sum(s[:, i : i + n, j : j + n] for i in range(3) for j in range(3)) / 9.0  # type: ignore[assignment]
    gy, gx = np.diff(s, axis=1)[:, :, :-1], np.diff(s, axis=2)[:, :-1, :]
    return np.hypot(gx, gy).mean(axis=(1, 2))


def _fit_curve(bins: list[tuple[float, float, int]]) -> NoiseCurve:
    if not bins:
        return NoiseCurve(0.0, 0.0)
    i = np.array([b[0] for b in bins])
    v = np.array([b[1] for b in bins]) ** 2
    if len(bins) >= 3 and np.ptp(i) > 0.05:
        a, b = np.polyfit(i, v, 1)
        if b < 0:
            a, b = float((i * v).sum() / (i * i).sum()), 0.0
        if a < 0:
            a, b = 0.0, float(v.mean())
    else:
        a, b = 0.0, float(v.mean())
    return NoiseCurve(float(max(a, 0.0)), float(max(b, 0.0)), tuple(bins))


# -- JPEG -----------------------------------------------------------------------------------------------------------
def jpeg_quality_from_tables(luma_table: list[int] | np.ndarray) -> int:
    """IJG quality (1-100) whose scaled standard luminance table is nearest to ``luma_table`` (64 values, in
    natural or zig-zag order: compared as sorted multisets, which is order-free)."""
    t = np.sort(np.asarray(luma_table, np.float64).ravel())
    best, best_err = 50, math.inf
    for q in range(1, 101):
        scale = 5000.0 / q if q < 50 else 200.0 - 2.0 * q
        ref = np.sort(np.clip(np.floor((_IJG_LUMA * scale + 50) / 100), 1, 255))
        err = float(np.abs(ref - t).sum())
        if err < best_err:
            best, best_err = q, err
    return best


def blockiness(rgb: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean |step| across the 8-px JPEG grid over mean |step| elsewhere (1.0 = no blocks; > 1.05 = visible).

    ``rgb`` is a frame (H, W, 3) or a stack of 8-px-aligned tiles (N, h, w, 3)."""
    lum = luminance(rgb)
    dx = np.abs(np.diff(lum, axis=-1))
    dy = np.abs(np.diff(lum, axis=-2))
    if mask is not None:
        m = np.asarray(mask, bool)
        dx = np.where(m[..., 1:] & m[..., :-1], dx, np.nan)
        dy = np.where(m[..., 1:, :] & m[..., :-1, :], dy, np.nan)
    col = np.arange(dx.shape[-1]) % 8 == 7
    row = np.arange(dy.shape[-2]) % 8 == 7
    on = np.nanmean(np.concatenate([dx[..., col].ravel(), dy[..., row, :].ravel()]))
    off = np.nanmean(np.concatenate([dx[..., ~col].ravel(), dy[..., ~row, :].ravel()]))
    return float(on / off) if off > 0 else 1.0


def sharpness(rgb: np.ndarray, mask: np.ndarray | None = None, top: float = 0.05) -> float:
    """Mean |Laplacian| / mean |gradient| over the ``top`` fraction strongest-gradient pixels (contrast-free; lower
    = softer). ``rgb``: a frame (H, W, 3) or a stack of tiles (N, h, w, 3)."""
    lum = luminance(rgb)
    c = lum[..., 1:-1, 1:-1]
    gx = (lum[..., 1:-1, 2:] - lum[..., 1:-1, :-2]) / 2
    gy = (lum[..., 2:, 1:-1] - lum[..., :-2, 1:-1]) / 2
    g = np.hypot(gx, gy)
    lap = np.abs(lum[..., 1:-1, 2:] + lum[..., 1:-1, :-2] + lum[..., 2:, 1:-1] + lum[..., :-2, 1:-1] - 4 * c)
    if mask is not None:
        m = np.asarray(mask, bool)[..., 1:-1, 1:-1]
        g, lap = g[m], lap[m]
    g, lap = g.ravel(), lap.ravel()
    if g.size < 16:
        return 0.0
    sel = g >= np.quantile(g, 1 - top)
    return float(lap[sel].mean() / max(g[sel].mean(), 1e-9))


def sample_tiles(rgb: np.ndarray, mask: np.ndarray, size: int = 32, n: int = 32, seed: int = 0) -> np.ndarray:
    """Up to ``n`` tiles (N, size, size, 3) on the 8-px grid lying fully inside ``mask`` (seeded choice)."""
    h, w = mask.shape
    hb, wb = h // size, w // size
    inside = mask[: hb * size, : wb * size].reshape(hb, size, wb, size).min(axis=(1, 3))
    ty, tx = np.nonzero(inside)
    if ty.size == 0:
        return np.zeros((0, size, size, 3), rgb.dtype)
    pick = np.random.default_rng(seed).choice(ty.size, min(n, ty.size), replace=False)
    r = np.arange(size)
    ys = (ty[pick] * size)[:, None, None] + r[None, :, None]
    xs = (tx[pick] * size)[:, None, None] + r[None, None, :]
    return rgb[ys, xs]


def grey_world(rgb: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Per-channel means of the unclipped usable pixels (3,)."""
    x = _float(rgb).reshape(-1, 3)
    ok = (x.max(1) < 250 / 255) & (x.min(1) > 3 / 255)
    if mask is not None:
        ok &= np.asarray(mask, bool).ravel()
    return x[ok].mean(0) if ok.any() else np.full(3, 0.5)


def radial_profile(rgb: np.ndarray, mask: np.ndarray, n_bins: int = 10, circle_radius: float = 1.0) -> np.ndarray:
    """Median luminance in ``n_bins`` rings of normalised radius 0..1 (NaN for empty rings)."""
    lum = luminance(rgb)
    h, w = lum.shape
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    r = np.hypot(xx - w / 2, yy - h / 2) / (min(h, w) / 2 * circle_radius)
    out = np.full(n_bins, np.nan)
    for k in range(n_bins):
        sel = mask & (r >= k / n_bins) & (r < (k + 1) / n_bins)
        if sel.sum() > 50:
            out[k] = float(np.median(lum[sel]))
    return out
