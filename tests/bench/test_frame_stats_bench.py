"""bench/frame_stats.py: whole-frame statistics of renders against real cameras; skips cleanly without real frames."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "frame_stats.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def _disc(path: Path, rgb: tuple[int, int, int], noise: float = 0.0) -> None:
    """A fisheye-like frame: a coloured disc on black, optionally with pixel noise."""
    yy, xx = np.mgrid[:256, :256]
    img = np.zeros((256, 256, 3), np.float32)
    img[np.hypot(yy - 128, xx - 128) < 127] = rgb
    img += np.random.default_rng(0).normal(0, noise, img.shape) * (img > 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)


def test_skips_cleanly_without_real_frames(tmp_path: Path) -> None:
    _disc(tmp_path / "renders" / "images" / "a.png", (120, 120, 120))
    r = _run("--renders", str(tmp_path / "renders"), "--real-root", str(tmp_path / "absent"))
    assert r.returncode == 0, r.stderr
    assert "skipped" in json.loads(r.stdout)


def test_grey_smooth_renders_read_as_less_saturated_and_smoother_than_real(tmp_path: Path) -> None:
    real = tmp_path / "real" / "cepdof_sample" / "video_0"
    for i in range(2):
        _disc(real / f"f{i}.jpg", (90, 120, 170), noise=6.0)  # blue-cast, noisy
    _disc(tmp_path / "renders" / "images" / "a.png", (128, 128, 128))
    r = _run("--renders", str(tmp_path / "renders"), "--real-root", str(tmp_path / "real"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out["real"]) == {"cepdof_lunch3"} and out["real"]["cepdof_lunch3"]["n"] == 2
    ratio = out["renders"][str(tmp_path / "renders")]["render_over_real"]
    assert ratio["sat_centre"] < 0.2 and ratio["grad"] < 0.2 and ratio["cast_bg"] < 0.8
    assert 0.8 < ratio["lum_centre"] < 1.3


def test_no_frames_is_an_error(tmp_path: Path) -> None:
    _disc(tmp_path / "real" / "cepdof_sample" / "video_0" / "f.jpg", (90, 120, 170))
    r = _run("--renders", str(tmp_path / "empty"), "--real-root", str(tmp_path / "real"))
    assert r.returncode == 1 and "no PNG frames" in r.stderr and "Traceback" not in r.stderr
