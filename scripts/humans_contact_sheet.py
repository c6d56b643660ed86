"""Render a contact sheet of 16 random people seen from above through a fisheye camera.

    .venv/bin/python scripts/humans_contact_sheet.py [--out docs/humans_contact_sheet.png] [--seed 0]

Each tile: one person (12 standing on mocap frames, 4 sitting on a stool), dressed and carrying objects as
sampled from the default AppearanceConfig, rendered with Cycles by an equidistant fisheye (``--fov`` degrees of
its field shown, default 100) 2.8 m above the floor, offset 0.6 m sideways as in a real ceiling-mounted camera.
The docs image is made with ``--fov 80`` (people large enough to see their clothes).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bpy  # noqa: E402

from blender_addon.humans import PersonParams, make_person  # noqa: E402
from shared_schema.distributions import rng_for  # noqa: E402


def _scene(size: int, samples: int, a):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    sc = bpy.context.scene
    sc.render.engine = "CYCLES"
    sc.cycles.samples = samples
    sc.cycles.use_denoising = True
    if hasattr(sc.cycles, "denoising_prefilter"):
        sc.cycles.denoising_prefilter = "FAST"
    sc.render.resolution_x = sc.render.resolution_y = size
    sc.render.resolution_percentage = 100
    sc.view_settings.view_transform = "Standard"
    sc.render.image_settings.file_format = "PNG"
    world = bpy.data.worlds.new("world")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.6
    sc.world = world
    bpy.ops.mesh.primitive_plane_add(size=200.0)
    floor = bpy.context.active_object
    mat = bpy.data.materials.new("floor")
    mat.use_nodes = True
    mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (0.45, 0.42, 0.38, 1)
    floor.data.materials.append(mat)
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.data.energy = 3.0
    sun.rotation_euler = (math.radians(35), 0.0, math.radians(30))
    sc.collection.objects.link(sun)
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    cam.data.type = "PANO"
    if hasattr(cam.data, "panorama_type"):
        cam.data.panorama_type = "FISHEYE_EQUIDISTANT"
        cam.data.fisheye_fov = math.radians(a.fov)
    else:  # Blender 3.x
        cam.data.cycles.panorama_type = "FISHEYE_EQUIDISTANT"
        cam.data.cycles.fisheye_fov = math.radians(a.fov)
    sc.collection.objects.link(cam)
    sc.camera = cam
    return sc, cam


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "humans_contact_sheet.png")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--samples", type=int, default=12)
    ap.add_argument("--fov", type=float, default=100.0, help="fisheye field of view, degrees (tiles are cropped)")
    a = ap.parse_args(argv)
    sc, cam = _scene(a.tile, a.samples, a)
    tiles = []
    tmp = Path(tempfile.mkdtemp())
    for i in range(16):
        rng = rng_for(a.seed, "contact_sheet", i)
        x, y = (i % 4) * 20.0, (i // 4) * 20.0  # far apart: one person per tile
        sitting = i % 4 == 3
        seat = float(rng.uniform(0.42, 0.5)) if sitting else None
        params = PersonParams(
            "sitting" if sitting else "standing", (x, y), float(rng.uniform(0, 360)), seat, i + 1, a.seed * 1000 + i
        )
        h = make_person(params, frame=1)
        stool = None
        if sitting:
            bpy.ops.mesh.primitive_cylinder_add(radius=0.2, depth=seat, location=(x, y, seat / 2))
            stool = bpy.context.active_object
            hips = h.body.pose.heads[0, h.body.skeleton.index("Hips")]
            stool.location.x, stool.location.y = float(hips[0]), float(hips[1])
        ang = rng.uniform(0, 2 * math.pi)
        cam.location = (x + 0.6 * math.cos(ang), y + 0.6 * math.sin(ang), 2.8)
        cam.rotation_euler = (0.0, 0.0, float(rng.uniform(0, 2 * math.pi)))
        sc.frame_set(1)
        path = tmp / f"tile_{i:02d}.png"
        sc.render.filepath = str(path)
        bpy.ops.render.render(write_still=True)
        img = bpy.data.images.load(str(path))
        px = np.array(img.pixels[:], dtype=np.float32).reshape(a.tile, a.tile, 4)
        bpy.data.images.remove(img)
        tiles.append(px)
        h.remove()
        if stool is not None:
            bpy.data.objects.remove(stool, do_unlink=True)
        app = h.sampled["appearance"]
        worn = [f"{g['family']} {g['type']}" for g in app["outfit"].values() if g]
        carried = [c["kind"] for c in app["accessories"]]
        print(
            f"tile {i}: {params.posture} {h.sampled['pose'].get('clip', '')} hair={app['hair']['style']}"
            f" height={h.sampled['height_m']:.2f} m wears {', '.join(worn)} carries {carried}",
            flush=True,
        )
    rows = [np.concatenate(tiles[r * 4 : r * 4 + 4], axis=1) for r in range(4)]
    sheet = np.concatenate(rows[::-1], axis=0)  # Blender pixels are bottom-up
    out = bpy.data.images.new("sheet", sheet.shape[1], sheet.shape[0], alpha=True)
    out.pixels[:] = sheet.ravel()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    out.filepath_raw = str(a.out)
    out.file_format = "PNG"
    out.save()
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
