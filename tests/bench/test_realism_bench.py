"""bench/realism.py: skips cleanly without real data; with it, a tiny real run prints one JSON line of KIDs."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "realism.py"
REAL = ROOT.parent / "shared" / "data" / "real_fisheye" / "cepdof_sample"


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, str(BENCH), *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT
    )


def test_skips_cleanly_without_real_data(tmp_path: Path) -> None:
    cfg = tmp_path / "heldout.json"
    cfg.write_text(json.dumps({"test": [{"annotations": "absent/video_0.json", "image_root": "absent"}]}))
    r = _run("--real-config", str(cfg), "--synthetic-only")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert "real data absent" in out["skipped"]


def test_bad_mode_is_one_line_error() -> None:
    r = _run("--modes", "rooms,moon")
    assert r.returncode == 2 and "moon" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.skipif(not REAL.is_dir(), reason="research-only real frames absent")
def test_tiny_run_through_a_real_server(tmp_path: Path) -> None:
    r = _run(
        "--scenes",
        "1",
        "--resolution",
        "192",
        "--samples",
        "1",
        "--kid-subsets",
        "5",
        "--features",
        "pixels",
        "--out",
        str(tmp_path),
    )
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    for mode in ("rooms", "photo"):
        assert out[mode]["n_synthetic"] >= 2 and out[mode]["n_refined"] == out[mode]["n_synthetic"]
        assert math.isfinite(out[mode]["kid_synthetic"]) and math.isfinite(out[mode]["kid_refined"])
    assert (tmp_path / "rooms" / "refined").is_dir()
    assert (tmp_path / "photo" / "samples_synthetic_refined.png").is_file()
