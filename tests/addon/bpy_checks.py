"""Checks that run inside a fresh ``bpy`` process (the PyPI wheel), started by the tests in this folder.

    python tests/addon/bpy_checks.py <check> '<json args>'

Each check prints one line ``R2RESULT <json>`` that the test reads. ``BLENDER_USER_RESOURCES`` (set by the test)
points Blender's user folders (extensions, scripts, config) at a temporary folder.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

import bpy

EXT_MODULE = "bl_ext.user_default.render_and_refine"
LEGACY_MODULE = "render_and_refine"


def addon_classes() -> list[str]:
    return sorted(n for n in dir(bpy.types) if n.startswith(("RENDER_REFINE_", "RenderRefine")))


def leftovers() -> dict:
    return {
        "classes": addon_classes(),
        "scene_prop": hasattr(bpy.types.Scene, "render_refine"),
        "wm_prop": hasattr(bpy.types.WindowManager, "render_refine"),
        "operators": sorted(dir(bpy.ops.render_refine)),
    }


def install_extension(zip_path: str) -> dict:
    import addon_utils

    before = set(dir(bpy.types))
    bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
    enabled = [a.module for a in bpy.context.preferences.addons]
    registered = addon_classes()
    site = Path(bpy.utils.user_resource("EXTENSIONS", path=".local"))
    wheels = sorted(p.name for p in site.glob("lib/python*/site-packages/*") if not p.name.endswith(".dist-info"))
    import pydantic

    import shared_schema

    panel_ok = bpy.types.RENDER_REFINE_PT_main.bl_category == "Render & Refine"
    addon_utils.disable(EXT_MODULE, default_set=True, handle_error=None)
    after = set(dir(bpy.types))
    return {
        "enabled": EXT_MODULE in enabled,
        "registered": registered,
        "panel_ok": panel_ok,
        "wheels_installed": wheels,
        "pydantic": pydantic.VERSION,
        "shared_schema_from": shared_schema.__file__,
        "new_types_after_disable": sorted(after - before),
        "leftovers": leftovers(),
    }


def install_legacy(zip_path: str) -> dict:
    import addon_utils

    before = set(dir(bpy.types))
    bpy.ops.preferences.addon_install(filepath=zip_path, overwrite=True)
    mod = addon_utils.enable(LEGACY_MODULE, default_set=True, handle_error=None)
    ok = mod is not None and LEGACY_MODULE in bpy.context.preferences.addons
    registered = addon_classes()
    installed_at = str(Path(mod.__file__).parent) if mod else ""
    addon_utils.disable(LEGACY_MODULE, default_set=True, handle_error=None)
    after = set(dir(bpy.types))
    return {
        "enabled": ok,
        "registered": registered,
        "installed_at": installed_at,
        "new_types_after_disable": sorted(after - before),
        "leftovers": leftovers(),
    }


def _files(out: Path, image_id: str) -> dict:
    return {
        kind: (out / kind / f"{image_id}.{'json' if kind == 'annotations' else 'png'}").is_file()
        for kind in ("images", "instances", "annotations", "refined")
    }


def operators(zip_path: str, out: str, live_url: str, dead_url: str) -> dict:
    """Install the packaged extension, then run every operator the way the panel's buttons do."""
    import addon_utils

    res: dict = {}
    bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
    prefs = bpy.context.preferences.addons[EXT_MODULE].preferences
    prefs.server_url = live_url
    prefs.token = ""
    prefs.retries = 1
    prefs.timeout = 60.0
    s = bpy.context.scene.render_refine
    s.output_dir = out
    s.resolution = 64
    s.samples = 1
    s.override_people = True
    s.standing_min, s.standing_max = 1, 2
    s.sitting_min, s.sitting_max = 0, 1
    s.seed = 3

    bpy.ops.render_refine.roll_seed()
    res["rolled_seed_changed"] = bpy.context.scene.render_refine.seed != 3
    bpy.context.scene.render_refine.seed = 3

    # Generate Scene
    t = time.time()
    res["generate"] = sorted(bpy.ops.render_refine.generate_scene())
    res["generate_s"] = round(time.time() - t, 2)
    scene = bpy.context.scene
    res["scene"] = scene.name
    res["settings_on_scene"] = scene.render_refine.resolution == 64 and scene.render_refine.override_people
    res["people_objects"] = len([o for o in scene.objects if o.pass_index > 0])
    res["status_after_generate"] = bpy.context.window_manager.render_refine.message

    # Render & Refine against the live server
    s = scene.render_refine
    s.image_id = "live"
    t = time.time()
    res["render_refine"] = sorted(bpy.ops.render_refine.render_refine())
    res["render_refine_s"] = round(time.time() - t, 2)
    out_p = Path(out)
    res["live_files"] = _files(out_p, "live")
    res["status_after_refine"] = bpy.context.window_manager.render_refine.message
    res["comparison"] = list(bpy.data.images["Render & Refine: synthetic | refined"].size)

    # Render & Refine against a stopped server
    prefs.server_url = dead_url
    s.image_id = "dead"
    try:
        bpy.ops.render_refine.render_refine()
        res["dead_error"] = None
    except RuntimeError as exc:
        res["dead_error"] = str(exc)
    res["dead_files"] = _files(out_p, "dead")
    res["dead_status_error"] = bpy.context.window_manager.render_refine.error
    res["busy_after"] = bpy.context.window_manager.render_refine.busy

    # Render Batch… (background process; wait=True because a script has no event loop)
    s.batch_count = 2
    t = time.time()
    try:
        res["batch"] = sorted(bpy.ops.render_refine.render_batch(count=2, wait=True))
    except RuntimeError as exc:
        res["batch"] = str(exc)
    res["batch_s"] = round(time.time() - t, 2)
    res["batch_status"] = bpy.context.window_manager.render_refine.message
    res["batch_error"] = bpy.context.window_manager.render_refine.error
    res["batch_images"] = sorted(p.name for p in (out_p / "images").glob("*.png"))
    log = out_p / "batch.log"
    res["batch_log_tail"] = log.read_text(encoding="utf-8")[-1500:] if log.is_file() else ""
    res.update(_refined_batch(s, prefs, out_p, live_url))

    addon_utils.disable(EXT_MODULE, default_set=True, handle_error=None)
    res["leftovers"] = leftovers()
    return res


def _refined_batch(s, prefs, out: Path, live_url: str) -> dict:
    """Render Batch… with refinement: the server is still the stopped one (exit 3, renders kept), then the live one
    (the re-run refines only the images left unrefined)."""
    wm = bpy.context.window_manager.render_refine
    res = {}
    s.batch_refine = True
    for step, url in (("dead", prefs.server_url), ("live", live_url)):
        prefs.server_url = url
        try:
            res[f"refine_batch_{step}"] = sorted(bpy.ops.render_refine.render_batch(count=2, wait=True))
        except RuntimeError as exc:
            res[f"refine_batch_{step}"] = str(exc)
        res[f"refine_batch_{step}_status"] = (wm.message, wm.error)
        refined = (out / "refined").glob("*.png")
        res[f"refine_batch_{step}_refined"] = sorted(p.name for p in refined if p.stem != "live")
    log = out / "batch.log"
    res["refine_batch_log_tail"] = log.read_text(encoding="utf-8")[-3000:] if log.is_file() else ""
    return res


CHECKS = {"install_extension": install_extension, "install_legacy": install_legacy, "operators": operators}

if __name__ == "__main__":
    name, args = sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    try:
        result = CHECKS[name](**args)
    except Exception:
        result = {"exception": traceback.format_exc()}
    print("R2RESULT " + json.dumps(result), flush=True)
