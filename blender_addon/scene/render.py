"""Render a built scene once and return its passes, the final image and the instance map (imports bpy).

One Cycles render writes one multilayer EXR (beauty, object index, shadow catcher), read with numpy
(:mod:`..core.exr`); the photo composite is ``Combined + photo * ShadowCatcher * (1 - alpha)``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator

import bpy
import numpy as np

from ..core.exr import find_channel, read_exr
from ..core.lighting import auto_exposure_ev, white_balance_gains
from ..core.png import linear_to_srgb8
from . import compat
from .lighting import circle_mask


class RenderError(RuntimeError):
    pass


@contextlib.contextmanager
def blender_log_to(path: str) -> Iterator[None]:
    """Send what Blender's C code prints to stdout (Cycles' per-tile status lines) to ``path`` instead, so a
    batch shows one progress line per image; ``R2_BLENDER_LOG=1`` keeps it on the terminal."""
    if os.environ.get("R2_BLENDER_LOG") == "1":
        yield
        return
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no real stdout (GUI, captured): nothing to redirect
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    with open(path, "wb") as log:
        os.dup2(log.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)


def render_passes(built) -> dict[str, np.ndarray]:
    """Render ``built.scene``; returns rgba (H, W, 4) linear premultiplied, index (H, W) int, and
    shadow_catcher (H, W, 3) when present. Rows top to bottom."""
    scene = built.scene
    tmp = tempfile.mkdtemp(prefix="r2_render_")
    try:
        path = os.path.join(tmp, "passes.exr")
        scene.render.filepath = path
        t0 = time.perf_counter()
        if bpy.context.window is not None:
            bpy.context.window.scene = scene
        log_path = os.path.join(tmp, "blender.log")
        with blender_log_to(log_path):
            result = bpy.ops.render.render(write_still=True, scene=scene.name)
        built.timings["render_s"] = time.perf_counter() - t0
        if "FINISHED" not in result or not os.path.isfile(path):
            tail = ""
            if os.path.isfile(log_path):
                with open(log_path, "rb") as fh:
                    tail = fh.read()[-2000:].decode("utf-8", "replace")
            raise RenderError(f"Cycles render failed ({result}); Blender's log ends with:\n{tail}")
        t1 = time.perf_counter()
        ch = read_exr(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out: dict[str, np.ndarray] = {}
    comb = [find_channel(ch, compat.PASS_NAMES["combined"], c) for c in "RGBA"]
    if any(c is None for c in comb):
        raise RenderError(f"no Combined pass in the EXR (channels: {sorted(ch)[:12]})")
    out["rgba"] = np.stack(comb, axis=-1)
    idx = find_channel(ch, compat.PASS_NAMES["index"], "X")
    if idx is None:
        raise RenderError(f"no object index pass in the EXR (channels: {sorted(ch)[:12]})")
    out["index"] = np.rint(idx).astype(np.int64)
    sc = [find_channel(ch, compat.PASS_NAMES["shadow_catcher"], c) for c in "RGB"]
    if all(c is not None for c in sc):
        out["shadow_catcher"] = np.stack(sc, axis=-1)
    built.timings["read_passes_s"] = time.perf_counter() - t1
    return out


def composite(built, passes: dict[str, np.ndarray]) -> np.ndarray:
    """Final 8-bit sRGB image (H, W, 3). Photo mode: the render at the photo-matched exposure over the photo.
    Procedural: the camera's white balance and auto exposure (``built.camera_response``), recorded in
    ``built.lighting`` (``white_balance_gains``, ``exposure_ev``)."""
    rgba = passes["rgba"]
    rgb = rgba[..., :3]
    if built.photo_linear is None and built.camera_response:
        resp = built.camera_response
        gains = white_balance_gains(resp["kelvin"], float(np.clip(resp["white_balance"], 0.0, 1.0)))
        rgb = rgb * np.asarray(gains, dtype=rgb.dtype)
        built.exposure = auto_exposure_ev(rgb, resp["target"], circle_mask(built.camera))
        built.lighting["white_balance_gains"] = [round(g, 5) for g in gains]
        with contextlib.suppress(Exception):  # Blender's own view shows the same exposure
            built.scene.view_settings.exposure = built.exposure
    built.lighting["exposure_ev"] = round(float(built.exposure), 5)
    rgb = rgb * float(2.0**built.exposure)
    if built.photo_linear is not None:
        alpha = rgba[..., 3:4]
        sc = passes.get("shadow_catcher")
        if sc is None:
            sc = np.ones_like(rgb)
        rgb = rgb + built.photo_linear * sc * (1.0 - alpha)
    return linear_to_srgb8(rgb)


def instance_map(built, passes: dict[str, np.ndarray]) -> np.ndarray:
    """uint16 instance ids: the object index where it names a person, else 0."""
    idx = passes["index"]
    k = len(built.persons)
    out = np.where((idx >= 1) & (idx <= k), idx, 0)
    return out.astype(np.uint16)


def unoccluded_areas(built) -> list[int]:
    """Pixels each person would cover with no occluder (see :mod:`.visibility`)."""
    from .visibility import unoccluded_areas as areas

    return areas(built)
