"""Fault test: a batch SIGKILLed in the middle of a file write (paused inside the atomic writer with half the bytes
on disk) leaves no half file under a final name, and a re-run completes the dataset."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("bpy")

from blender_addon.core.png import read_png
from shared_schema.annotation import SceneAnnotation
from shared_schema.dataset import DatasetPaths, complete_ids, image_id_for

from .conftest import small_config

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "blender_addon" / "render_batch.py"

#: Runs render_batch.py in this process with shared_schema.dataset.FAULT_HOOK set: when the writer reaches the
#: file named by argv[1], it cuts the temporary file to half its bytes, says where (argv[2]) and hangs.
PAUSING_WRITER = textwrap.dedent(
    """
    import runpy, sys, time
    from pathlib import Path
    import shared_schema.dataset as dataset

    target, marker, script = sys.argv[1:4]

    def pause_mid_write(tmp: Path, final: Path) -> None:
        if final.as_posix().endswith(target):
            data = tmp.read_bytes()
            tmp.write_bytes(data[: len(data) // 2])
            Path(marker).write_text(str(tmp))
            time.sleep(600)

    dataset.FAULT_HOOK = pause_mid_write
    sys.argv = [script, "--", *sys.argv[4:]]
    runpy.run_path(script, run_name="__main__")
    """
)


def _kill_while_writing(target: str, args: list[str], tmp_path: Path) -> Path:
    marker = tmp_path / "paused_at.txt"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSING_WRITER, target, str(marker), str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    deadline = time.time() + 300
    while not marker.exists():
        assert proc.poll() is None and time.time() < deadline, proc.stdout.read() if proc.poll() is not None else ""
        time.sleep(0.05)
    time.sleep(0.1)  # the marker is written; the writer sleeps inside atomic_path
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    return Path(marker.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("sub", ["images", "annotations"])
def test_sigkill_inside_the_atomic_writer_leaves_the_dataset_whole(tmp_path, sub):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(small_config(res=64, samples=1, standing=(1, 1), sitting=(1, 1)).dump())
    out = tmp_path / "out"
    args = ["--config", str(cfg), "--count", "3", "--seed", "6", "--out", str(out), "--no-report"]
    ids = [image_id_for(6, i) for i in range(3)]
    victim = DatasetPaths(out, ids[1])
    final = victim.image if sub == "images" else victim.annotation
    half = _kill_while_writing(final.relative_to(out).as_posix(), args, tmp_path)
    # killed: half the bytes sit in a hidden temporary file, nothing under the final name, the image incomplete
    assert half.parent == final.parent and half.name.startswith(".") and half.name.endswith(".tmp")
    assert half.is_file() and not final.exists()
    assert complete_ids(out) == ids[:1]
    os.utime(half, (time.time() - 3600, time.time() - 3600))  # as if the kill happened an hour ago
    again = subprocess.run([sys.executable, str(SCRIPT), "--", *args], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert complete_ids(out) == ids and not half.exists()  # the re-run cleaned the leftover and completed the set
    for image_id in ids:
        paths = DatasetPaths(out, image_id)
        SceneAnnotation.model_validate_json(paths.annotation.read_bytes())
        assert read_png(paths.image).shape == (64, 64, 3) and read_png(paths.instances).shape == (64, 64, 1)
    hidden = [p for sub_dir in ("images", "instances", "annotations") for p in (out / sub_dir).glob(".*")]
    assert hidden == []
    assert len(json.loads((out / "coco.json").read_text())["images"]) == 3
