"""Whole-frame colour and exposure of renders against every real overhead camera at hand: ONE JSON line.

A check that is not KID on the one held-out camera: per set of frames (each real camera under
``../shared/data/real_fisheye``, and the renders), inside the image circle, resized to 512 px:

    sat_centre / sat_ring   mean HSV saturation of the display pixels, centre disc (r < 0.5: floor, furniture,
                            people) and ring (0.5 <= r < 0.95: walls and what stands against them)
    lum_centre / lum_ring   mean display luma
    log_avg_lum             log-average linear luminance (what a camera meters)
    cast_rg / cast_bg       grey-world cast: mean linear R/G and B/G
    grad                    mean absolute vertical luma step (sharpness, noise and clutter together)

and ``render_over_real``: each render figure over the mean of the real cameras'. Real frames are read from
``../shared`` only (research-only, never copied); without them it prints ``{"skipped": reason}`` and exits 0.

    .venv/bin/python bench/frame_stats.py --renders out/realism/rooms [--renders DIR ...] [--real-root PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REAL_ROOT = ROOT.parent / "shared" / "data" / "real_fisheye"
#: Real cameras: name -> glob under the real root (one folder may hold several cameras of one site).
REAL_SETS = {
    "cepdof_lunch3": "cepdof_sample/video_0/*.jpg",
    "cepdof_lunch2": "rapid_repo_frames/images/*",
    "pharmacy_cctv": "unlabeled_rapid_fork_hoangnt2601/images/*",
}
SIZE = 512
FIELDS = ("sat_centre", "sat_ring", "lum_centre", "lum_ring", "log_avg_lum", "cast_rg", "cast_bg", "grad")


def frame_stats(path: Path) -> dict[str, float]:
    """The figures of one frame (see the module docstring)."""
    from PIL import Image

    rgb = np.asarray(Image.open(path).convert("RGB").resize((SIZE, SIZE), Image.Resampling.BILINEAR))
    x = rgb.astype(np.float32) / 255.0
    yy, xx = np.mgrid[:SIZE, :SIZE]
    r = np.hypot(yy - SIZE / 2, xx - SIZE / 2) / (SIZE / 2)
    valid = x.sum(-1) > 0.03  # the black outside of the image circle
    centre, ring = valid & (r < 0.5), valid & (r >= 0.5) & (r < 0.95)
    mx, mn = x.max(-1), x.min(-1)
    sat = np.where(mx > 0.05, (mx - mn) / np.maximum(mx, 1e-3), 0.0)
    luma = x @ np.array([0.299, 0.587, 0.114], np.float32)
    lin = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    inside = centre | ring
    mean_lin = lin[inside].mean(0)
    y_lin = lin[inside] @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    step = np.abs(np.diff(luma, axis=0))[inside[1:] & inside[:-1]]
    return {
        "sat_centre": float(sat[centre].mean()),
        "sat_ring": float(sat[ring].mean()),
        "lum_centre": float(luma[centre].mean()),
        "lum_ring": float(luma[ring].mean()),
        "log_avg_lum": float(np.exp(np.log(y_lin + 1e-4).mean())),
        "cast_rg": float(mean_lin[0] / max(mean_lin[1], 1e-6)),
        "cast_bg": float(mean_lin[2] / max(mean_lin[1], 1e-6)),
        "grad": float(step.mean()),
    }


def set_stats(paths: list[Path]) -> dict[str, float]:
    rows = [frame_stats(p) for p in paths]
    return {"n": len(rows), **{k: round(float(np.mean([r[k] for r in rows])), 4) for k in FIELDS}}


def render_frames(root: Path, limit: int) -> list[Path]:
    images = root / "images" if (root / "images").is_dir() else root
    return sorted(images.glob("*.png"))[:limit]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--renders", action="append", required=True, help="a dataset root (or its images/ folder)")
    p.add_argument("--real-root", default=str(REAL_ROOT), help="folder of the real overhead frames")
    p.add_argument("--limit", type=int, default=100, help="frames per render set (first by name)")
    a = p.parse_args(argv)
    real_root = Path(a.real_root)
    real = {k: sorted(real_root.glob(g)) for k, g in REAL_SETS.items()}
    real = {k: v for k, v in real.items() if v}
    if not real:
        print(json.dumps({"bench": "frame_stats", "skipped": f"no real frames under {real_root}"}))
        return 0
    out: dict = {"bench": "frame_stats", "real": {k: set_stats(v) for k, v in real.items()}, "renders": {}}
    real_mean = {k: float(np.mean([s[k] for s in out["real"].values()])) for k in FIELDS}
    for r in a.renders:
        frames = render_frames(Path(r), a.limit)
        if not frames:
            print(f"[frame_stats] error: no PNG frames under {r}", file=sys.stderr)
            return 1
        s = set_stats(frames)
        s["render_over_real"] = {k: round(s[k] / real_mean[k], 3) for k in FIELDS}
        out["renders"][r] = s
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
