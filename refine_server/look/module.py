"""The camera look as a small differentiable torch module, plus its inference path on whole uint8 frames.

``CameraLook`` maps images in the generator's range [-1, 1] (N, 3, H, W) through colour matrix → per-channel
tone curve → Gaussian PSF → radial vignetting (when the pixels' normalised radius is given) → Poisson–Gaussian
noise; every stage is differentiable in its parameters (for a discriminator fit or a training hook). JPEG is the
last stage at inference only (PIL, not differentiable). ``apply_look`` runs it on a frame, seeded.
"""

from __future__ import annotations

import functools
import io
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter
from torch import nn

from .params import LookParams

__all__ = [
    "Box",
    "CameraLook",
    "apply_look",
    "colour_tone_numpy",
    "gaussian_blur",
    "jpeg_roundtrip",
    "mask_box",
    "radius_map",
]


def _interp_curve(x: torch.Tensor, knots: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear curve through ``knots`` (K,) at inputs 0..1, applied to ``x`` in [0, 1]."""
    k = knots.shape[0] - 1
    pos = x.clamp(0, 1) * k
    lo = pos.floor().clamp(max=k - 1)
    frac = pos - lo
    lo_i = lo.long()
    return knots[lo_i] * (1 - frac) + knots[lo_i + 1] * frac


def colour_tone(x: torch.Tensor, matrix: torch.Tensor, curves: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] → colour matrix then per-channel tone curve (curves (3, K))."""
    y = torch.einsum("ij,njhw->nihw", matrix, x).clamp(0, 1)
    return torch.stack([_interp_curve(y[:, c], curves[c]) for c in range(3)], dim=1)


def colour_tone_numpy(rgb: Any, params: LookParams) -> np.ndarray:
    """Colour + tone stage on (..., 3) values in [0, 1] (numpy in, numpy out)."""
    a = torch.as_tensor(np.asarray(rgb, np.float32)).reshape(-1, 3).T[None, :, :, None]
    out = colour_tone(a, torch.tensor(params.color_matrix), torch.tensor(params.tone_curves))
    return out[0, :, :, 0].T.reshape(np.shape(rgb)).numpy()


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """Separable Gaussian PSF (reflect padding); differentiable in ``sigma``; identity below 0.05 px."""
    s = float(sigma.detach()) if isinstance(sigma, torch.Tensor) else float(sigma)
    if s < 0.05:
        return x
    r = max(1, math.ceil(3 * s))
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    sig = sigma if isinstance(sigma, torch.Tensor) else torch.tensor(sigma, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sig) ** 2)
    k = k / k.sum()
    n, c, h, w = x.shape
    x = F.pad(x.reshape(n * c, 1, h, w), (r, r, r, r), mode="reflect")  # channels as batch: plain (fast) convs
    x = F.conv2d(F.conv2d(x, k.view(1, 1, 1, -1)), k.view(1, 1, -1, 1))
    return x.reshape(n, c, h, w)


def radius_map(height: int, width: int, circle_radius: float = 1.0) -> torch.Tensor:
    """(H, W) radius of each pixel centre from the frame centre, 1 at ``circle_radius`` x half the shorter side."""
    yy, xx = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    half = min(height, width) / 2.0
    return torch.sqrt((xx - width / 2.0) ** 2 + (yy - height / 2.0) ** 2) / (half * circle_radius)


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Encode + decode through PIL's JPEG at ``quality`` (4:2:0 as most cameras)."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=int(quality), subsampling=2)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def _tiny0(v: float) -> float:
    return 0.0 if v <= 1.01e-7 else v


class CameraLook(nn.Module):
    """Learnable camera look (initialised from ``LookParams``); ``to_params()`` gives the record back."""

    def __init__(self, params: LookParams | None = None) -> None:
        super().__init__()
        p = params or LookParams()
        self.matrix = nn.Parameter(torch.tensor(p.color_matrix, dtype=torch.float32))
        curves = torch.tensor(p.tone_curves, dtype=torch.float32)
        steps = (curves[:, 1:] - curves[:, :-1]).clamp(min=1e-4)
        self.curve_start = nn.Parameter(curves[:, :1].clone())
        self.curve_log_steps = nn.Parameter(steps.log())  # non-decreasing by construction
        self.vignetting = nn.Parameter(torch.tensor(p.vignetting, dtype=torch.float32))
        self.log_blur = nn.Parameter(torch.tensor(math.log(max(p.blur_sigma, 1e-3)), dtype=torch.float32))
        ab = torch.tensor([max(p.noise_a, 1e-7), max(p.noise_b, 1e-7)], dtype=torch.float32)
        self.log_noise_ab = nn.Parameter(ab.log())  # log-variances: steps scale with the noise level
        self.circle_radius = p.circle_radius
        self.jpeg_quality = p.jpeg_quality
        self.fitted_at = p.fitted_at
        self.notes = dict(p.notes)

    def curves(self) -> torch.Tensor:
        c = torch.cat([self.curve_start, self.curve_start + torch.cumsum(self.curve_log_steps.exp(), dim=1)], 1)
        return c.clamp(0, 1)

    def forward(
        self,
        x: torch.Tensor,
        radius: torch.Tensor | None = None,
        noise: bool = True,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """``x`` (N, 3, H, W) in [-1, 1] → same range; ``radius`` (H, W) enables vignetting."""
        y = gaussian_blur(colour_tone((x + 1) / 2, self.matrix, self.curves()), self.log_blur.exp())
        if radius is not None:
            r2 = (radius.to(y) ** 2).clamp(max=1.5)
            y = y * (1 + self.vignetting[0] * r2 + self.vignetting[1] * r2**2)
        if noise:
            a, b = self.log_noise_ab.exp()
            var = (a * y.clamp(0, 1) + b).clamp(min=1e-12)
            eps = torch.randn(y.shape, generator=generator, dtype=y.dtype, device=y.device)
            y = y + var.sqrt() * eps
        return y.clamp(0, 1) * 2 - 1

    def to_params(self) -> LookParams:
        with torch.no_grad():
            return LookParams(
                color_matrix=self.matrix.tolist(),
                tone_curves=self.curves().tolist(),
                vignetting=tuple(self.vignetting.tolist()),
                circle_radius=self.circle_radius,
                blur_sigma=float(self.log_blur.exp()) if float(self.log_blur.exp()) >= 0.05 else 0.0,
                noise_a=min(_tiny0(float(self.log_noise_ab[0].exp())), 0.05),
                noise_b=min(_tiny0(float(self.log_noise_ab[1].exp())), 0.01),
                jpeg_quality=self.jpeg_quality,
                fitted_at=self.fitted_at,
                notes=self.notes,
            )


@functools.lru_cache(maxsize=16)
def _vignette_gain(h: int, w: int, circle: float, k2: float, k4: float) -> np.ndarray:
    r2 = (radius_map(h, w, circle).numpy() ** 2).clip(max=1.5).astype(np.float32)
    g = 1 + k2 * r2 + k4 * r2**2
    g.setflags(write=False)
    return g


@functools.lru_cache(maxsize=1)
def _noise_field(side: int = 1024) -> np.ndarray:
    f = np.random.default_rng(20261201).standard_normal((side, side, 3), dtype=np.float32)
    f.setflags(write=False)
    return f


def _noise(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Unit Gaussian noise of ``shape`` (h, w, 3): a seed-chosen window of a fixed Gaussian field (tiled when the
    frame is larger), so drawing costs a copy instead of a random-number pass."""
    field = _noise_field()
    side = field.shape[0]
    h, w = shape[:2]
    rng = np.random.default_rng(int(seed) & 0x7FFFFFFF)
    if h > side // 2 or w > side // 2:
        reps = (-(-h // side) + 1, -(-w // side) + 1, 1)
        big = np.tile(field, reps)
        oy, ox = rng.integers(0, side, 2)
        return big[oy : oy + h, ox : ox + w]
    oy, ox = rng.integers(0, side - h), rng.integers(0, side - w)
    flip = rng.integers(0, 4)
    win = field[oy : oy + h, ox : ox + w] if flip < 2 else field[oy + h - 1 - np.arange(h)][:, ox : ox + w]
    return win if flip % 2 == 0 else -win


Box = tuple[int, int, int, int]  # y0, y1, x0, x1 (end-exclusive) in frame pixels


def _grow(box: Box, pad: int, h: int, w: int) -> tuple[slice, slice]:
    """``box`` grown by ``pad`` and snapped to the 8-px grid (JPEG blocks stay frame-aligned), clipped."""
    y0, y1, x0, x1 = box
    ys = slice(max((y0 - pad) // 8 * 8, 0), min(-(-(y1 + pad) // 8) * 8, h))
    xs = slice(max((x0 - pad) // 8 * 8, 0), min(-(-(x1 + pad) // 8) * 8, w))
    return ys, xs


def mask_box(mask: np.ndarray) -> Box:
    ys, xs = np.nonzero(mask)
    return int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1


@functools.lru_cache(maxsize=64)
def _pil_tables(
    matrix: tuple[tuple[float, ...], ...], curves: tuple[tuple[float, ...], ...]
) -> tuple[tuple[float, ...] | None, list[int] | None]:
    """(PIL 12-value colour matrix or None for identity, 768-entry tone table or None for identity)."""
    m = np.asarray(matrix, np.float64)
    mat = None if np.allclose(m, np.eye(3)) else tuple(float(v) for row in m for v in (*row, 0.0))
    grid = np.arange(256) / 255.0
    luts = [np.interp(grid, np.linspace(0, 1, len(c)), c) for c in curves]
    if all(np.allclose(lut, grid, atol=0.5 / 255) for lut in luts):
        return mat, None
    return mat, [int(v) for lut in luts for v in np.clip(np.round(lut * 255), 0, 255)]


def _colour_tone_pil(im: Image.Image, params: LookParams) -> Image.Image:
    mat, table = _pil_tables(tuple(map(tuple, params.color_matrix)), tuple(map(tuple, params.tone_curves)))
    if mat is not None:
        im = im.convert("RGB", matrix=mat)
    return im.point(table) if table is not None else im


def _look_region(rgb: np.ndarray, params: LookParams, seed: int, ys: slice, xs: slice, vignetting: bool) -> np.ndarray:
    h, w = rgb.shape[:2]
    im = _colour_tone_pil(Image.fromarray(np.ascontiguousarray(rgb[ys, xs])), params)
    if params.blur_sigma >= 0.05:
        im = im.filter(ImageFilter.GaussianBlur(params.blur_sigma))
    vig = vignetting and any(params.vignetting)
    if not (vig or params.noise_a > 0 or params.noise_b > 0):
        out = np.asarray(im, dtype=np.uint8)
    else:
        y = np.asarray(im, dtype=np.float32) * np.float32(1 / 255)
        if vig:
            y = y * _vignette_gain(h, w, params.circle_radius, *params.vignetting)[ys, xs, None]
        if params.noise_a > 0 or params.noise_b > 0:
            var = np.clip(y, 0, 1) * np.float32(params.noise_a) + np.float32(params.noise_b)
            y = y + np.sqrt(var) * _noise(y.shape, seed)
        out = (np.clip(y, 0, 1) * 255 + 0.5).astype(np.uint8)
    return jpeg_roundtrip(out, params.jpeg_quality) if params.jpeg_quality else out


def apply_look(
    rgb: np.ndarray,
    params: LookParams,
    seed: int = 0,
    mask: np.ndarray | None = None,
    vignetting: bool = True,
    boxes: list[Box] | None = None,
) -> np.ndarray:
    """The look on a uint8 (H, W, 3) frame; with ``mask`` (H, W) only those pixels change (others bit-identical).

    The stages of ``CameraLook`` in 8-bit PIL/numpy for speed (colour matrix and tone-curve tables, PIL's Gaussian
    blur, vignetting, noise from a seed-chosen window of a fixed Gaussian field, JPEG): deterministic for a given
    ``seed``. No pixel moves: every stage is per-pixel or a symmetric blur. With a mask only ``boxes`` (default:
    the mask's bounding box), grown by the blur's reach, are processed: cost follows the people's area.
    """
    h, w = rgb.shape[:2]
    if mask is None:
        return np.array(_look_region(rgb, params, seed, slice(0, h), slice(0, w), vignetting), dtype=np.uint8)
    res = rgb.copy()
    if not mask.any():
        return res
    pad = math.ceil(3 * params.blur_sigma) + 8
    for k, box in enumerate(boxes or [mask_box(mask)]):
        ys, xs = _grow(box, pad, h, w)
        m = mask[ys, xs]
        if m.any():
            out = _look_region(rgb, params, seed + 7919 * k, ys, xs, vignetting)
            sub = res[ys, xs]
            sub[m] = out[m]
    return res
