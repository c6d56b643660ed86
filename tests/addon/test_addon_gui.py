"""The buttons in a real Blender window: Debian's ``blender`` (3.4, the legacy add-on path) under Xvfb.

Exercises what the bpy wheel cannot: the modal Render & Refine (worker thread + timer), the side-by-side Image
Editor window, Render Batch… in a background Blender process with its progress bar, and Cancel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.blender_binary]

GUI_CHECKS = Path(__file__).resolve().parent / "gui_checks.py"


@pytest.fixture(scope="module")
def gui_result(addon_zip: Path, refine_server_url: str, tmp_path_factory) -> dict:
    if not shutil.which("blender") or not shutil.which("xvfb-run"):
        pytest.skip("needs `blender` and `xvfb-run` on PATH")
    work = tmp_path_factory.mktemp("gui")
    env = dict(
        os.environ,
        BLENDER_USER_CONFIG=str(work / "config"),
        BLENDER_USER_SCRIPTS=str(work / "scripts"),
        BLENDER_USER_RESOURCES=str(work / "resources"),
    )
    start = work / "start.blend"  # opening a file skips the splash screen
    subprocess.run(
        [
            "blender",
            "-b",
            "--factory-startup",
            "--python-expr",
            f"import bpy; bpy.ops.wm.save_as_mainfile(filepath={str(start)!r})",
        ],
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )
    result = work / "result.json"
    args = {"zip": str(addon_zip), "url": refine_server_url, "out": str(work / "out"), "result": str(result)}
    if os.environ.get("R2_GUI_SCREENSHOT"):  # e.g. to look at the side-by-side window
        args["screenshot"] = os.environ["R2_GUI_SCREENSHOT"]
    proc = subprocess.run(
        [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1280x800x24",
            "blender",
            "--factory-startup",
            str(start),
            "-P",
            str(GUI_CHECKS),
            "--",
            json.dumps(args),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=400,
    )
    assert result.is_file(), f"no result\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    res = json.loads(result.read_text())
    assert "exception" not in res, res["exception"] + proc.stdout[-3000:]
    res["_out"] = str(work / "out")
    return res


def test_modal_render_and_refine(gui_result):
    res = gui_result
    assert res["generate"] == ["FINISHED"]
    assert res["invoke_refine"] == ["RUNNING_MODAL"]
    assert res["busy_right_after_invoke"] is True
    assert res["refine_message"].startswith("Refined gui"), (res["refine_message"], res["refine_error"])
    out = Path(res["_out"])
    for sub, ext in (("images", "png"), ("instances", "png"), ("annotations", "json"), ("refined", "png")):
        assert (out / sub / f"gui.{ext}").is_file()
    # The synthetic | refined image opened in an Image Editor (a new window).
    assert "Render & Refine: synthetic | refined" in res["image_editors"]


def test_batch_progress_and_cancel(gui_result):
    res = gui_result
    assert res["invoke_batch"] == ["FINISHED"]
    assert res["batch_message"].startswith("Batch finished: 2/2"), (res["batch_message"], res["batch_error"])
    assert res["batch_progress"], "the panel showed the running batch"
    assert res["cancel"] == ["FINISHED"]
    assert res["cancel_message"].startswith("Batch cancelled")
    assert res["cancel_busy"] is False
    assert res["leftover_classes"] == []
