"""Every operator of the panel, run in the packaged extension installed into the bpy wheel: Generate Scene,
Render & Refine against a real server and against a stopped one, Render Batch…, then a clean unregister."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.live_server import free_port

from .conftest import run_bpy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ops_result(addon_zip: Path, refine_server_url: str, tmp_path_factory) -> tuple[dict, Path]:
    user = tmp_path_factory.mktemp("blender_user")
    out = tmp_path_factory.mktemp("out")
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    res = run_bpy(
        "operators",
        {"zip_path": str(addon_zip), "out": str(out), "live_url": refine_server_url, "dead_url": dead},
        user,
        timeout=400,
    )
    return res, out


def test_generate_scene_builds_people(ops_result):
    res, _ = ops_result
    assert res["rolled_seed_changed"]
    assert res["generate"] == ["FINISHED"]
    assert res["people_objects"] > 0
    assert res["settings_on_scene"]  # the panel settings follow the generated scene
    assert "person" in res["status_after_generate"] or "people" in res["status_after_generate"]


def test_render_and_refine_against_live_server(ops_result):
    res, out = ops_result
    assert res["render_refine"] == ["FINISHED"], res
    assert res["live_files"] == {"images": True, "instances": True, "annotations": True, "refined": True}
    assert res["status_after_refine"].startswith("Refined live")
    # Side by side: twice the width plus a gap.
    w, h = res["comparison"]
    assert h == 64 and w > 128
    ann = json.loads((out / "annotations" / "live.json").read_text())
    assert ann["image_id"] == "live"
    # The identity model returns the render's pixels where people are; the PNG is a valid image of the same size.
    refined = (out / "refined" / "live.png").read_bytes()
    assert refined[:8] == b"\x89PNG\r\n\x1a\n"


def test_annotations_identical_after_refine(ops_result):
    _, out = ops_result
    # The client checks the server's copy byte for byte (sha256 too); the file on disk is never rewritten.
    ann = (out / "annotations" / "live.json").read_bytes()
    assert json.loads(ann)["image_id"] == "live"
    assert not list((out / "annotations").glob(".*"))  # no temp file left over


def test_stopped_server_reports_error_and_keeps_render(ops_result):
    res, _ = ops_result
    assert res["dead_error"] is not None and "not reachable" in res["dead_error"]
    assert "not reachable" in res["dead_status_error"]
    assert res["dead_files"] == {"images": True, "instances": True, "annotations": True, "refined": False}
    assert res["busy_after"] is False


def test_render_batch_in_background_process(ops_result):
    res, _ = ops_result
    assert res["batch"] == ["FINISHED"], res["batch_log_tail"]
    assert res["batch_status"].startswith("Batch finished: 2/2"), (res["batch_status"], res["batch_error"])
    assert len([n for n in res["batch_images"] if n not in ("live.png", "dead.png")]) == 2


def test_refined_batch_with_a_stopped_server_says_so_then_rerun_refines(ops_result):
    """The installed extension's batch subprocess refines through shared_schema.client (no stand-in package): a
    stopped server ends the batch with exit 3 and a panel error, the re-run with the live server refines the
    same two images without rendering them again."""
    res, _ = ops_result
    log = res["refine_batch_log_tail"]
    assert "not refined" in res["refine_batch_dead"], log  # the operator reports an ERROR (raised in scripts)
    message, error = res["refine_batch_dead_status"]
    assert "not refined" in error and "renders kept" in error, (message, error)
    assert res["refine_batch_dead_refined"] == []
    assert res["refine_batch_live"] == ["FINISHED"], log
    assert res["refine_batch_live_status"][0].startswith("Batch finished: 2/2"), res["refine_batch_live_status"]
    assert len(res["refine_batch_live_refined"]) == 2
    assert log.count('"status":"skipped, refined"') == 2, log


def test_unregister_is_clean(ops_result):
    res, _ = ops_result
    assert res["leftovers"] == {"classes": [], "scene_prop": False, "wm_prop": False, "operators": []}
