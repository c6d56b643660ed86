"""Procedural furniture: a pure, seeded description (chairs with backrests behind their sitters, tables with clutter,
shelves with goods) inside the obstacle footprints, stored in the annotation; real bpy objects, tiny renders."""

from __future__ import annotations

import json

import numpy as np
import pytest

from blender_addon.core.furniture import Furniture, _shrink, describe_furniture, prisms_geometry
from blender_addon.core.placement import (
    FloorObstacle,
    Placer,
    as_poly,
    config_obstacles,
    polygon_centroid,
    polygon_inside,
    polygons_overlap,
    seat_facing,
)
from blender_addon.core.scene_description import describe_room
from shared_schema.config import example_config

from .conftest import render_stored, small_config


def _inside(part_polygon, footprint) -> bool:
    grown = _shrink(as_poly(footprint), polygon_centroid(footprint), -0.002)  # rounding to 0.1 mm
    return polygon_inside(np.asarray(part_polygon), grown)


def test_description_is_pure_and_seeded() -> None:
    cfg = example_config("office")
    a, b = describe_room(cfg, 4), describe_room(cfg, 4)
    assert a.furniture == b.furniture and len(a.furniture) == len(cfg.obstacles)
    assert a.furniture != describe_room(cfg, 5).furniture
    styles = {f.style for s in range(8) for f in describe_room(cfg, s).furniture}
    assert {"star_base", "four_legs", "table", "shelf"} <= styles
    for f in a.furniture:
        assert Furniture.from_record(json.loads(json.dumps(f.record()))) == f


def test_furniture_stream_leaves_other_draws_alone() -> None:
    cfg = example_config("office")
    a, bare = describe_room(cfg, 7), describe_room(cfg.model_copy(update={"obstacles": []}), 7)
    assert (a.floor_material, a.wall_material) == (bare.floor_material, bare.wall_material)


@pytest.mark.parametrize("name", ["office", "shop"])
def test_pieces_and_clutter_stay_in_their_footprints(name) -> None:
    cfg = example_config(name)
    obstacles = config_obstacles(cfg)
    for seed in range(12):
        for ob in obstacles:
            f = describe_furniture(seed, ob, obstacles)
            assert all(_inside(p.polygon, ob.polygon) for p in f.parts), (seed, ob.name)
            items = [np.asarray(i.parts[0].polygon) for i in f.clutter]
            for k, item in enumerate(f.clutter):
                assert all(_inside(p.polygon, ob.polygon) for p in item.parts), (seed, ob.name, item.kind)
                assert all(abs(p.z0 - ob.height) < 1e-3 for p in item.parts[:1]), "clutter stands on the top"
                assert not any(polygons_overlap(items[k], o) for o in items[:k]), (seed, ob.name)
            assert not (f.clutter and ob.kind not in ("table", "counter"))


def test_backrest_behind_the_sitter() -> None:
    """The chair turns like the placer turns its sitter (towards the nearest table); the backrest is the part
    highest above the seat, and it lies behind the seat centre."""
    cfg = example_config("office")
    obstacles = config_obstacles(cfg)
    placer = Placer(floor=list(cfg.floor), camera=cfg.camera, obstacles=list(obstacles))
    rng = np.random.default_rng(0)
    for ob in (o for o in obstacles if o.is_seat):
        facing = seat_facing(ob, obstacles)
        assert facing is not None and abs(facing - placer.seat_yaw(ob, rng)) < 1e-9
        for seed in range(4):
            f = describe_furniture(seed, ob, obstacles)
            back = max(f.parts, key=lambda p: p.z1)
            assert back.z1 > (ob.seat_height or 0) + 0.25
            d = np.asarray(back.polygon).mean(axis=0) - np.asarray(polygon_centroid(ob.polygon))
            a = np.radians(f.facing_deg)
            assert float(d @ np.array([np.cos(a), np.sin(a)])) < -0.1


def test_stools_are_backless() -> None:
    stool = FloorObstacle("stool_1_1", "chair", [(0, 0), (0.42, 0), (0.42, 0.42), (0, 0.42)], 0.45, 0.45, True)
    f = describe_furniture(3, stool, [stool])
    assert f.style == "stool" and max(p.z1 for p in f.parts) == pytest.approx(0.45)
    geo = prisms_geometry(f.parts)
    assert len(geo.faces) == len(geo.face_finish) and geo.vertices.shape[1] == 3


def test_photo_mode_has_no_furniture(photo_path) -> None:
    assert describe_room(small_config("photo", photo_path), 2).furniture == ()


@pytest.mark.slow
def test_furnished_scene_renders_seated_people_and_annotation(tmp_path) -> None:
    pytest.importorskip("bpy")
    from blender_addon.core.png import read_png

    cfg = small_config(standing=(0, 0), sitting=(1, 1), res=64)
    built, ann = render_stored(cfg, 21, tmp_path, "furn")
    room = describe_room(cfg, 21)
    assert ann.background.params["furniture"] == {f.name: f.record() for f in room.furniture}
    assert [p.seat for p in built.person_meta] and all(p.posture == "sitting" for p in built.person_meta)
    assert "R2_Clutter_table" in built.scene.objects or not room.furniture[0].clutter
    chair = built.scene.objects["R2_Obstacle_chair"]
    assert max(v.co.z for v in chair.data.vertices) > 0.7  # the backrest
    img = read_png(tmp_path / "images" / "furn.png").astype(np.float64)
    assert np.isfinite(img).all() and img.mean() > 5
