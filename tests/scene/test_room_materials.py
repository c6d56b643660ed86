"""Procedural floor and wall materials: a pure, seeded description (shares follow the configured weights, stored in
the annotation), realized as textured Cycles floors (tiny real renders); photo mode keeps its shadow catcher."""

from __future__ import annotations

import collections
import dataclasses

import numpy as np
import pytest

from blender_addon.core.png import linear_to_srgb8
from blender_addon.core.room_materials import FLOOR_PALETTES, describe_floor
from blender_addon.core.scene_description import PHOTO_FLOOR_COLORS, describe_room
from shared_schema.config import FLOOR_MATERIALS, BackgroundConfig, SceneConfig
from shared_schema.distributions import rng_for

from .conftest import render_stored, small_config


def _with_background(cfg: SceneConfig, **upd) -> SceneConfig:
    return cfg.model_copy(update={"background": cfg.background.model_copy(update=upd)})


def test_description_is_pure_and_seeded() -> None:
    cfg = small_config()
    a, b = describe_room(cfg, 5), describe_room(cfg, 5)
    assert a == b and a.floor_material is not None and a.wall_material is not None
    assert a.floor_material.kind in FLOOR_MATERIALS
    assert a.floor_color == a.floor_material.base_color and a.wall_color == a.wall_material.color
    others = {describe_room(cfg, s).floor_material for s in range(6, 12)}
    assert a.floor_material not in others


def test_material_shares_follow_weights() -> None:
    weights = {"carpet": 0.5, "wood_planks": 0.3, "concrete": 0.2}
    bg = BackgroundConfig(floor_materials=weights)
    n = 3000
    counts = collections.Counter(describe_floor(bg, rng_for(s, "background", "floor")).kind for s in range(n))
    assert set(counts) == set(weights)
    for kind, w in weights.items():
        assert abs(counts[kind] / n - w) < 0.03, (kind, counts[kind] / n)


def test_default_floors_are_realistic_colours() -> None:
    """Palette colours with a luminance jitter only: greys, blues, beiges, browns, burgundy, wood; never green,
    pink or lilac, never garish; about a quarter of the floors visibly coloured (as real sites)."""
    cfg = small_config()
    coloured = 0
    for s in range(400):
        fm = describe_room(cfg, s).floor_material
        assert fm is not None
        r, g, b = fm.base_color
        display = linear_to_srgb8(np.asarray(fm.base_color)).astype(float)
        sat = (display.max() - display.min()) / display.max()
        coloured += sat > 0.25
        if fm.kind == "wood_planks":
            assert r >= g >= b
        else:
            assert sat < 0.55, fm.base_color
            assert not (g > r + 0.01 and g > b + 0.01), fm.base_color  # never green
            assert not (r > g + 0.01 and b > g + 0.01), fm.base_color  # never pink/lilac
    assert 0.15 < coloured / 400 < 0.5


def test_explicit_floor_colors_stay_the_base_palette() -> None:
    cfg = _with_background(small_config(), floor_colors=[(0.5, 0.25, 0.1)], floor_materials={"vinyl": 1.0})
    for s in range(20):
        r, g, b = describe_room(cfg, s).floor_color
        assert 0.8 * 0.5 - 1e-6 <= r <= 1.2 * 0.5 + 1e-6
        assert g / r == pytest.approx(0.5, abs=1e-3) and b / r == pytest.approx(0.2, abs=1e-3)
    old = SceneConfig.model_validate({"background": {"floor_colors": [[0.3, 0.3, 0.3]]}})  # an old config
    assert old.background.floor_materials and describe_room(old, 1).floor_material is not None


def test_photo_mode_floor_is_unchanged() -> None:
    """Photo mode: no material, walls or texture; the shadow catcher's colour as drawn before (byte-identical
    renders of photo scenes)."""
    cfg = small_config("photo", "room.png")
    for seed in (1, 2, 3):
        room = describe_room(cfg, seed)
        assert room.photo and room.floor_material is None and room.wall_material is None and room.wall_color is None
        rng = rng_for(seed, "background")
        base = np.asarray(PHOTO_FLOOR_COLORS[int(rng.integers(len(PHOTO_FLOOR_COLORS)))])
        expect = np.clip(base + rng.uniform(-0.05, 0.05, 3), 0.02, 0.95)
        assert room.floor_color == tuple(float(c) for c in expect)
        assert room.floor_roughness == float(rng.uniform(0.3, 0.9))


def test_palettes_cover_every_material() -> None:
    assert set(FLOOR_PALETTES) == set(FLOOR_MATERIALS)


# -- real renders --------------------------------------------------------------------------------------------------
def _floor_room(kind: str, seed: int):
    """The described room of ``seed`` with a floor of ``kind`` and no furniture."""
    cfg = _with_background(small_config(), floor_materials={kind: 1.0}).model_copy(update={"obstacles": []})
    return describe_room(cfg, seed)


def _render_floor(room, path, res: int = 48) -> np.ndarray:
    """A ``res``² (48²), 4 spp orthographic top view of a 1 m patch of ``room``'s floor under a sun
    (direct light only); returns the grey levels (0-255) of the pixels."""
    import bpy

    from blender_addon.core.png import read_png
    from blender_addon.scene import compat
    from blender_addon.scene.builder import new_scene
    from blender_addon.scene.room import add_room

    scene = new_scene()
    add_room(scene, room)
    cam = bpy.data.objects.new("R2_Camera", bpy.data.cameras.new("R2_Camera"))
    cam.data.type, cam.data.ortho_scale, cam.location = "ORTHO", 1.0, (0.3, 0.2, 3.0)  # 2 cm pixels
    sun = bpy.data.objects.new("R2_Sun", bpy.data.lights.new("R2_Sun", "SUN"))
    sun.data.energy, sun.rotation_euler = 1.5, (0.3, 0.2, 0.0)
    for ob in (cam, sun):
        scene.collection.objects.link(ob)
    scene.camera = cam
    scene.render.engine = "CYCLES"
    scene.cycles.samples, scene.cycles.use_denoising, scene.cycles.device = 4, False, "CPU"
    scene.cycles.max_bounces, sun.data.angle = 0, 0.0  # direct light only: a flat floor renders flat
    scene.render.resolution_x = scene.render.resolution_y = res
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    compat.set_view_standard(scene)
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True, scene=scene.name)
    return read_png(path)[..., :3].astype(np.float64).mean(axis=-1)


@pytest.mark.slow
@pytest.mark.parametrize("kind", FLOOR_MATERIALS)
def test_rendered_floor_is_textured(kind, tmp_path) -> None:
    pytest.importorskip("bpy")
    room = _floor_room(kind, 3)
    img = _render_floor(room, tmp_path / f"{kind}.png")
    flat = _render_floor(dataclasses.replace(room, floor_material=None), tmp_path / "flat.png")  # same colour
    assert np.isfinite(img).all() and img.mean() > 5 and abs(img.mean() - flat.mean()) < 0.25 * flat.mean()
    assert img.std() > 2 * flat.std() + 0.3, (kind, img.std(), flat.std())  # grey levels over the floor


@pytest.mark.slow
def test_built_room_stores_and_realizes_its_materials(tmp_path, photo_path) -> None:
    pytest.importorskip("bpy")
    from blender_addon import pipeline

    cfg = small_config(standing=(1, 1), sitting=(0, 0), res=64)
    built, ann = render_stored(cfg, 11, tmp_path, "room")
    room = describe_room(cfg, 11)
    assert room.floor_material is not None and room.wall_material is not None
    assert ann.background.params["floor_material"] == room.floor_material.record()
    assert ann.background.params["wall_material"] == room.wall_material.record()
    kinds = {n.bl_idname for n in built.scene.objects["R2_Floor"].data.materials[0].node_tree.nodes}
    assert {"ShaderNodeTexNoise", "ShaderNodeBump"} <= kinds
    assert room.wall_fixtures and ann.background.params["wall_fixtures"] == [f.record() for f in room.wall_fixtures]
    fixtures = [o for o in built.scene.objects if o.name.startswith("R2_Fixture_")]
    assert sorted(o.name for o in fixtures) == sorted(f"R2_Fixture_{f.name}" for f in room.wall_fixtures)
    assert all(len(o.data.materials) == len(f.finishes) for o, f in zip(fixtures, room.wall_fixtures, strict=True))
    photo = pipeline.build_scene(small_config("photo", photo_path, standing=(1, 1), sitting=(0, 0)), 11)
    floor = photo.scene.objects["R2_Floor"]
    assert floor.is_shadow_catcher and "floor_material" not in photo.background["params"]
    assert "wall_fixtures" not in photo.background["params"]
    assert not any(o.name.startswith("R2_Fixture_") for o in photo.scene.objects)
    assert not any(n.bl_idname.startswith("ShaderNodeTex") for n in floor.data.materials[0].node_tree.nodes)
