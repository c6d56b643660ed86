"""Small PNG plots drawn with Pillow (no matplotlib dependency): loss curves, sample grids, bar charts."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

__all__ = ["bar_chart_png", "line_plot_png", "sample_grid"]

PALETTE = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
]


def _to_u8(x: torch.Tensor) -> np.ndarray:
    return ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()


def sample_grid(
    synthetic: torch.Tensor, refined: torch.Tensor, path: str | Path, diff_gain: float = 4.0, upscale: int = 2
) -> Path:
    """Rows of ``synthetic | refined | |difference| × gain`` (crops in [-1, 1]); written to ``path``."""
    n, _, s, _ = synthetic.shape
    S = s * upscale
    pad = 4
    img = Image.new("RGB", (3 * S + 4 * pad, n * (S + pad) + pad + 14), (255, 255, 255))
    d = ImageDraw.Draw(img)
    for j, t in enumerate(("synthetic", "refined", f"|diff| x{diff_gain:g}")):
        d.text((pad + j * (S + pad), 2), t, fill=(0, 0, 0))
    for i in range(n):
        diff = ((refined[i] - synthetic[i]).abs() * diff_gain / 2.0).clamp(0, 1) * 2 - 1
        for j, crop in enumerate((synthetic[i], refined[i], diff)):
            tile = Image.fromarray(_to_u8(crop)).resize((S, S), Image.Resampling.NEAREST)
            img.paste(tile, (pad + j * (S + pad), 14 + pad + i * (S + pad)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def crop_sheet(crops: torch.Tensor, path: str | Path, cols: int = 8, upscale: int = 1) -> Path:
    """A grid of crops (N, 3, S, S) in [-1, 1], ``cols`` per row, written to ``path`` (e.g. the person candidates
    that a generator trains on)."""
    n, _, s, _ = crops.shape
    S, pad = s * upscale, 2
    rows = max(1, -(-n // cols))
    img = Image.new("RGB", (cols * (S + pad) + pad, rows * (S + pad) + pad), (255, 255, 255))
    for i in range(n):
        tile = Image.fromarray(_to_u8(crops[i])).resize((S, S), Image.Resampling.NEAREST)
        img.paste(tile, (pad + (i % cols) * (S + pad), pad + (i // cols) * (S + pad)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def _ema(v: list[float], a: float = 0.9) -> list[float]:
    out, m = [], None
    for x in v:
        m = x if m is None else a * m + (1 - a) * x
        out.append(m)
    return out


def line_plot_png(
    series: dict[str, tuple[list[float], list[float]]],
    path: str | Path,
    title: str = "",
    log_y: bool = False,
    smooth: float = 0.0,
    size: tuple[int, int] = (900, 480),
) -> Path:
    """One panel of named (x, y) series with axes, ticks and a legend."""
    W, H = size
    L, R, T, B = 70, 190, 30, 40
    img = Image.new("RGB", (W, H), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.text((L, 8), title, fill=(0, 0, 0))
    pts = {k: (list(x), _ema(list(y), smooth) if smooth else list(y)) for k, (x, y) in series.items() if len(x)}
    if not pts:
        img.save(path)
        return Path(path)

    def ty(v: float) -> float:
        return math.log10(max(v, 1e-8)) if log_y else v

    xs = [x for xx, _ in pts.values() for x in xx]
    ys = [ty(y) for _, yy in pts.values() for y in yy if math.isfinite(y)]
    x0, x1 = min(xs), max(xs)
    y0, y1 = (min(ys), max(ys)) if ys else (0.0, 1.0)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1

    def P(x: float, y: float) -> tuple[float, float]:
        return (L + (x - x0) / (x1 - x0) * (W - L - R), T + (1 - (ty(y) - y0) / (y1 - y0)) * (H - T - B))

    d.rectangle([L, T, W - R, H - B], outline=(0, 0, 0))
    for k in range(5):
        yv = y0 + (y1 - y0) * k / 4
        yy = T + (1 - k / 4) * (H - T - B)
        d.line([(L - 4, yy), (L, yy)], fill=(0, 0, 0))
        d.text((4, yy - 6), f"{10**yv:.3g}" if log_y else f"{yv:.3g}", fill=(0, 0, 0))
        xv = x0 + (x1 - x0) * k / 4
        xx = L + k / 4 * (W - L - R)
        d.line([(xx, H - B), (xx, H - B + 4)], fill=(0, 0, 0))
        d.text((xx - 10, H - B + 8), f"{xv:.4g}", fill=(0, 0, 0))
    for i, (name, (x, y)) in enumerate(pts.items()):
        c = PALETTE[i % len(PALETTE)]
        line = [P(a, b) for a, b in zip(x, y, strict=True) if math.isfinite(b)]
        if len(line) > 1:
            d.line(line, fill=c, width=2)
        elif line:
            d.ellipse([line[0][0] - 2, line[0][1] - 2, line[0][0] + 2, line[0][1] + 2], fill=c)
        d.line([(W - R + 10, T + 10 + 16 * i), (W - R + 30, T + 10 + 16 * i)], fill=c, width=3)
        d.text((W - R + 36, T + 4 + 16 * i), name[:24], fill=(0, 0, 0))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def bar_chart_png(
    values: dict[str, float],
    errors: dict[str, float] | None,
    path: str | Path,
    title: str = "",
    size: tuple[int, int] = (700, 380),
) -> Path:
    """Vertical bars with optional ± error whiskers."""
    W, H = size
    L, R, T, B = 70, 20, 30, 70
    img = Image.new("RGB", (W, H), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.text((L, 8), title, fill=(0, 0, 0))
    errors = errors or {}
    top = max([v + errors.get(k, 0.0) for k, v in values.items()] + [1e-9])
    lo = min([0.0] + [v - errors.get(k, 0.0) for k, v in values.items()])
    n = max(len(values), 1)
    bw = (W - L - R) / n

    def Y(v: float) -> float:
        return T + (1 - (v - lo) / (top - lo)) * (H - T - B)

    d.line([(L, Y(0)), (W - R, Y(0))], fill=(0, 0, 0))
    d.line([(L, T), (L, H - B)], fill=(0, 0, 0))
    for k in range(5):
        v = lo + (top - lo) * k / 4
        d.text((4, Y(v) - 6), f"{v:.3g}", fill=(0, 0, 0))
    for i, (name, v) in enumerate(values.items()):
        c = PALETTE[i % len(PALETTE)]
        x0 = L + i * bw + bw * 0.15
        x1 = L + (i + 1) * bw - bw * 0.15
        d.rectangle([x0, min(Y(v), Y(0)), x1, max(Y(v), Y(0))], fill=c)
        e = errors.get(name, 0.0)
        if e:
            xm = (x0 + x1) / 2
            d.line([(xm, Y(v - e)), (xm, Y(v + e))], fill=(0, 0, 0), width=2)
        d.text((x0, H - B + 6), name[:22], fill=(0, 0, 0))
        d.text((x0, min(Y(v), Y(0)) - 14), f"{v:.4g}", fill=(0, 0, 0))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path
