"""Pixel-exact reproducibility: an image id renders the same bytes whatever the process rendered before it
(a shard, a resume, a second process) — issue 13 item 2."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

from blender_addon import pipeline  # noqa: E402
from shared_schema.dataset import image_id_for  # noqa: E402

from .conftest import small_config  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "blender_addon" / "render_batch.py"
COUNT, SEED = 3, 5


def _outputs(root: Path, image_id: str) -> dict[str, bytes]:
    return {
        sub: (root / sub / f"{image_id}.{ext}").read_bytes()
        for sub, ext in (("images", "png"), ("instances", "png"), ("annotations", "json"))
    }


@pytest.mark.slow
def test_same_id_same_pixels_for_shard_resume_and_second_process(tmp_path):
    cfg = small_config(res=96, standing=(1, 2), sitting=(1, 1))
    ids = [image_id_for(SEED, i) for i in range(COUNT)]
    full = pipeline.run_batch(cfg, COUNT, SEED, tmp_path / "full", report=False)
    assert full.ok and full.rendered == ids
    # a shard: image 1 is the first of its run, rendered after everything above
    shard = pipeline.run_batch(cfg, COUNT, SEED, tmp_path / "shard", shard=(1, 2), report=False)
    assert shard.rendered == [ids[1]]
    # a resume: images 1 and 2 are re-rendered after a different history
    resumed = tmp_path / "resumed"
    shutil.copytree(tmp_path / "full", resumed)
    for image_id in ids[1:]:
        (resumed / "annotations" / f"{image_id}.json").unlink()
        (resumed / "images" / f"{image_id}.png").unlink()
    again = pipeline.run_batch(cfg, COUNT, SEED, resumed, report=False)
    assert again.skipped == [ids[0]] and again.rendered == ids[1:]
    # a second process: image 2 alone, in a fresh Python
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(cfg.dump())
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--",
            "--config",
            str(cfg_path),
            "--count",
            str(COUNT),
            "--seed",
            str(SEED),
            "--shard",
            "2/3",
            "--out",
            str(tmp_path / "fresh"),
            "--no-report",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    reference = {i: _outputs(tmp_path / "full", i) for i in ids}
    assert _outputs(tmp_path / "shard", ids[1]) == reference[ids[1]]
    for image_id in ids[1:]:
        assert _outputs(resumed, image_id) == reference[image_id], image_id
    assert _outputs(tmp_path / "fresh", ids[2]) == reference[ids[2]]
