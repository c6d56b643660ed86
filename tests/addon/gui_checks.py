"""The panel's buttons in a real Blender window (``INVOKE_DEFAULT``: modal operator, timers, worker thread,
background process), started by test_addon_gui.py under Xvfb:

    xvfb-run -a blender --factory-startup START.blend -P tests/addon/gui_checks.py -- '<json args>'

Writes a JSON result to ``args["result"]`` and quits.
"""

from __future__ import annotations

import json
import sys
import time
import traceback

import addon_utils
import bpy

MODULE = "render_and_refine"
ARGS = json.loads(sys.argv[sys.argv.index("--") + 1])
RES: dict = {"progress_seen": [], "events": []}
STATE = {"step": "setup", "t0": 0.0}


def view3d_override():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
    region = next(r for r in area.regions if r.type == "WINDOW")
    return {"window": window, "area": area, "region": region}


def status():
    return bpy.context.window_manager.render_refine


def finish(extra: dict | None = None):
    if extra:
        RES.update(extra)
    with open(ARGS["result"], "w", encoding="utf-8") as fh:
        json.dump(RES, fh)
    bpy.ops.wm.quit_blender()


def tick():
    try:
        return _tick()
    except Exception:
        finish({"exception": traceback.format_exc()})
        return None


def _tick():
    step = STATE["step"]
    st = status() if hasattr(bpy.context.window_manager, "render_refine") else None
    if step == "setup":
        bpy.ops.preferences.addon_install(filepath=ARGS["zip"], overwrite=True)
        if addon_utils.enable(MODULE, default_set=True, handle_error=None) is None:
            return finish({"exception": "add-on did not enable"})
        prefs = bpy.context.preferences.addons[MODULE].preferences
        prefs.server_url, prefs.retries, prefs.timeout = ARGS["url"], 1, 60.0
        s = bpy.context.scene.render_refine
        s.output_dir, s.resolution, s.samples, s.seed = ARGS["out"], 64, 1, 5
        s.override_people, s.standing_min, s.standing_max, s.sitting_min, s.sitting_max = True, 1, 2, 0, 1
        with bpy.context.temp_override(**view3d_override()):
            RES["generate"] = sorted(bpy.ops.render_refine.generate_scene())
        bpy.context.scene.render_refine.image_id = "gui"
        with bpy.context.temp_override(**view3d_override()):
            RES["invoke_refine"] = sorted(bpy.ops.render_refine.render_refine("INVOKE_DEFAULT"))
        RES["busy_right_after_invoke"] = status().busy
        STATE.update(step="wait_refine", t0=time.monotonic())
        return 0.2
    if step == "wait_refine":
        if st.busy and time.monotonic() - STATE["t0"] < 120:
            RES["progress_seen"].append(round(st.progress, 3))
            return 0.2
        RES["refine_message"], RES["refine_error"] = st.message, st.error
        RES["windows"] = len(bpy.context.window_manager.windows)
        RES["image_editors"] = [
            a.spaces.active.image.name if a.spaces.active.image else None
            for w in bpy.context.window_manager.windows
            for a in w.screen.areas
            if a.type == "IMAGE_EDITOR"
        ]
        if ARGS.get("screenshot") and not STATE.get("shot_wait"):
            STATE["shot_wait"] = True
            return 1.0
        if ARGS.get("screenshot"):
            win = bpy.context.window_manager.windows[-1]
            area = next((a for a in win.screen.areas if a.type == "IMAGE_EDITOR"), win.screen.areas[0])
            with bpy.context.temp_override(window=win, area=area):
                bpy.ops.screen.screenshot(filepath=ARGS["screenshot"])
        # Batch with a progress bar, then a second one cancelled half-way.
        s = bpy.context.scene.render_refine
        with bpy.context.temp_override(**view3d_override()):
            RES["invoke_batch"] = sorted(bpy.ops.render_refine.render_batch(count=2))
        STATE.update(step="wait_batch", t0=time.monotonic())
        RES["batch_progress"] = []
        del s
        return 0.3
    if step == "wait_batch":
        if st.busy and time.monotonic() - STATE["t0"] < 240:
            RES["batch_progress"].append((round(st.progress, 3), st.message))
            return 0.3
        RES["batch_message"], RES["batch_error"] = st.message, st.error
        bpy.context.scene.render_refine.seed = 100
        with bpy.context.temp_override(**view3d_override()):
            bpy.ops.render_refine.render_batch(count=50)
        STATE.update(step="cancel_batch", t0=time.monotonic())
        return 1.0
    if step == "cancel_batch":
        if st.progress == 0.0 and time.monotonic() - STATE["t0"] < 60:
            return 0.3  # cancel once the first image is done
        with bpy.context.temp_override(**view3d_override()):
            RES["cancel"] = sorted(bpy.ops.render_refine.cancel_job())
        STATE.update(step="wait_cancel", t0=time.monotonic())
        return 0.3
    if step == "wait_cancel":
        if st.busy and time.monotonic() - STATE["t0"] < 30:
            return 0.3
        RES["cancel_message"], RES["cancel_busy"] = st.message, st.busy
        addon_utils.disable(MODULE, default_set=True, handle_error=None)
        RES["leftover_classes"] = sorted(n for n in dir(bpy.types) if n.startswith("RENDER_REFINE_"))
        finish()
        return None
    return None


bpy.app.timers.register(tick, first_interval=1.0)
