"""Take docs/panel.png: a real Blender window showing the Render & Refine N-panel.

Runs inside Blender's GUI (``-P``); ``scripts/panel_screenshot.sh`` starts it under Xvfb with the right flags:

    xvfb-run -a -s "-screen 0 1600x900x24" blender --enable-event-simulate START.blend \
        -P scripts/panel_screenshot.py -- --zip dist/render_and_refine-0.1.0.zip --out docs/panel.png

It installs the packaged zip the legacy way (``preferences.addon_install``: what Blender < 4.2, e.g. Debian's 3.4,
does with it), enables it, optionally generates a small scene, opens the sidebar, switches it to the
"Render & Refine" tab (simulated clicks down the tab strip until the panel draws), and saves a screenshot of the
whole window.
"""

from __future__ import annotations

import argparse
import sys
import traceback

import addon_utils
import bpy

MODULE = "render_and_refine"
TAB = "Render & Refine"


def parse_args() -> argparse.Namespace:
    argv = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else []
    p = argparse.ArgumentParser(prog="panel_screenshot.py")
    p.add_argument("--zip", required=True, help="dist/render_and_refine-<version>.zip")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--no-generate", action="store_true", help="do not build a scene before the screenshot")
    p.add_argument("--debug-dir", default="", help="also save a screenshot after each tab switch attempt")
    return p.parse_args(argv)


ARGS = parse_args()
STATE = {"step": 0, "tries": 0}


def log(msg: str) -> None:
    print(f"[panel_screenshot] {msg}", flush=True)


def view3d():
    window = bpy.context.window_manager.windows[0]
    area = max((a for a in window.screen.areas if a.type == "VIEW_3D"), key=lambda a: a.width * a.height)
    region_ui = next(r for r in area.regions if r.type == "UI")
    region_win = next(r for r in area.regions if r.type == "WINDOW")
    return window, area, region_ui, region_win


def setup() -> None:
    bpy.ops.preferences.addon_install(filepath=ARGS.zip, overwrite=True)
    mod = addon_utils.enable(MODULE, default_set=True, handle_error=None)
    if mod is None:
        raise RuntimeError("the add-on did not enable")
    log(f"enabled {mod.__file__}")
    s = bpy.context.scene.render_refine
    s.example = "office"
    s.seed = 7
    s.resolution = 512
    s.samples = 16
    s.override_people = True
    s.standing_min, s.standing_max = 2, 4
    s.sitting_min, s.sitting_max = 1, 2
    s.output_dir = "//render_and_refine"
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.server_url = "http://127.0.0.1:8000"
    prefs.token = "not-a-real-token"  # drawn as dots (PASSWORD)


def generate() -> None:
    if ARGS.no_generate:
        return
    window, area, _region_ui, region_win = view3d()
    try:
        with bpy.context.temp_override(window=window, area=area, region=region_win):
            bpy.ops.render_refine.generate_scene()
        log(f"generated: {bpy.context.window_manager.render_refine.message}")
    except Exception as exc:  # the screenshot is about the panel; say why the scene is missing
        log(f"Generate Scene failed here: {exc}")


def frame_view() -> None:
    window, area, _region_ui, region_win = view3d()
    space = area.spaces.active
    space.show_region_ui = True
    space.shading.type = "SOLID"
    # Flat material colours: the room reads well from above and the software GL of Xvfb needs no normals.
    space.shading.light = "FLAT"
    space.shading.color_type = "MATERIAL"
    space.overlay.show_floor = True
    r3d = space.region_3d
    r3d.view_perspective = "PERSP"
    try:
        with bpy.context.temp_override(window=window, area=area, region=region_win):
            bpy.ops.view3d.view_axis(type="TOP")
            bpy.ops.view3d.view_all(center=False)
    except Exception as exc:
        log(f"framing failed: {exc}")


def click_tab_strip(k: int) -> None:
    """Click the k-th probe point down the sidebar's tab strip (its right edge), 12 px apart."""
    window, _area, region_ui, _region_win = view3d()
    x = region_ui.x + region_ui.width - 9
    y = region_ui.y + region_ui.height - 20 - 12 * k
    window.event_simulate(type="MOUSEMOVE", value="NOTHING", x=x, y=y)
    window.event_simulate(type="LEFTMOUSE", value="PRESS", x=x, y=y)
    window.event_simulate(type="LEFTMOUSE", value="RELEASE", x=x, y=y)


def active_tab_is_ours() -> bool:
    """Our panel drew last redraw iff our tab is active (draw() records it)."""
    return bool(bpy.app.driver_namespace.get("r2_panel_drawn"))


def tick():
    try:
        step = STATE["step"]
        if step == 0:
            setup()
            generate()
            frame_view()
            # Mark when our panel draws, to know which sidebar tab is showing.
            bpy.types.RENDER_REFINE_PT_main.append(_mark_drawn)
            STATE["step"] = 1
            return 1.0
        if step == 1:
            if active_tab_is_ours():
                STATE["step"] = 2
                return 1.0
            STATE["tries"] += 1
            if ARGS.debug_dir:
                window, area, _, _ = view3d()
                with bpy.context.temp_override(window=window, area=area):
                    bpy.ops.screen.screenshot(filepath=f"{ARGS.debug_dir}/try_{STATE['tries']}.png")
            if STATE["tries"] > 60:
                raise RuntimeError(f"could not switch the sidebar to the {TAB!r} tab")
            bpy.app.driver_namespace["r2_panel_drawn"] = False
            click_tab_strip(STATE["tries"])
            for area in bpy.context.window_manager.windows[0].screen.areas:
                area.tag_redraw()
            return 0.4
        if step == 2:
            bpy.types.RENDER_REFINE_PT_main.remove(_mark_drawn)
            window, area, _, _ = view3d()
            with bpy.context.temp_override(window=window, area=area):
                bpy.ops.screen.screenshot(filepath=ARGS.out)
            log(f"wrote {ARGS.out}")
            STATE["step"] = 3
            return 0.5
        bpy.ops.wm.quit_blender()
        return None
    except Exception:
        traceback.print_exc()
        log("FAILED")
        sys.stdout.flush()
        import os

        os._exit(1)


def _mark_drawn(self, context) -> None:
    bpy.app.driver_namespace["r2_panel_drawn"] = True


bpy.app.timers.register(tick, first_interval=2.0)
