"""A drawn room per image (shared_schema RoomLayout): seeded, inside its walls, tables with aisles and chairs
beside them, shelves against the walls; it replaces the config's floor and obstacles in procedural rooms only."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from blender_addon.core.placement import config_obstacles, polygon_inside, polygons_overlap, seat_facing
from blender_addon.core.room_layout import draw_room
from blender_addon.core.scene_description import describe_room, room_config
from shared_schema.config import RoomLayout
from shared_schema.distributions import IntRange, Normal, Uniform, rng_for

from .conftest import small_config


def _draw(seed: int, cfg: RoomLayout | None = None):
    return draw_room(cfg or RoomLayout(), rng_for(seed, "layout"))


def test_seeded_and_varied() -> None:
    assert _draw(1) == _draw(1)
    rooms = [_draw(s) for s in range(20)]
    assert len({tuple(r.floor) for r in rooms}) == 20  # a new room size every image
    assert len({sum(o.kind == "table" for o in r.obstacles) for r in rooms}) >= 3


def test_furniture_inside_the_room_without_overlaps_and_chairs_face_tables() -> None:
    for s in range(40):
        room = _draw(s, RoomLayout(tables=IntRange(low=2, high=6), shelves=IntRange(low=1, high=3)))
        polys = [np.asarray(o.polygon) for o in room.obstacles]
        assert all(polygon_inside(p, np.asarray(room.floor)) for p in polys)
        for i in range(len(polys)):
            assert not any(polygons_overlap(polys[i], polys[j]) for j in range(i)), (s, room.obstacles[i].name)
        cfg = small_config().model_copy(update={"floor": room.floor, "obstacles": room.obstacles})
        obstacles = config_obstacles(cfg)
        for ob in (o for o in obstacles if o.is_seat):
            assert seat_facing(ob, obstacles) is not None, (s, ob.name)  # a table next to every chair


def _gap(a, b) -> float:
    pa, pb = np.asarray(a.polygon), np.asarray(b.polygon)
    return float(np.maximum(pa.min(0) - pb.max(0), pb.min(0) - pa.max(0)).max())


def test_an_aisle_between_every_table_and_the_chairs_of_the_others() -> None:
    cfg = RoomLayout(width_m=Uniform(low=12, high=12), depth_m=Uniform(low=12, high=12), tables=IntRange(low=5, high=5))
    for s in range(10):
        obstacles = _draw(s, cfg).obstacles
        tables = {o.name.split("_")[1]: o for o in obstacles if o.kind == "table"}
        assert len(tables) >= 3
        for o in obstacles:
            own = o.name.split("_")[1] if o.kind in ("table", "chair") else None
            for t, table in tables.items():
                if t != own:
                    assert _gap(o, table) >= cfg.aisle_m - 1e-6, (s, o.name, table.name)


def test_replaces_floor_and_obstacles_in_procedural_rooms_only(photo_path) -> None:
    cfg = small_config().model_copy(update={"layout": RoomLayout()})
    room = room_config(cfg, None, 5)
    assert room.floor == _draw(5).floor and room.obstacles == _draw(5).obstacles
    assert room_config(cfg.model_copy(update={"layout": None}), None, 5) is not room  # the config's own room
    assert room_config(cfg.model_copy(update={"layout": None}), None, 5).obstacles == cfg.obstacles
    photo = small_config("photo", photo_path).model_copy(update={"layout": RoomLayout()})
    assert room_config(photo, None, 5).obstacles == photo.obstacles
    assert describe_room(room, 5).furniture  # furniture is described on the drawn obstacles


def test_sizes_stay_bounded_whatever_the_distribution() -> None:
    wild = RoomLayout(width_m=Normal(mean=-3.0, std=1.0), table_length_m=Normal(mean=40.0, std=1.0))
    for s in range(5):
        room = _draw(s, wild)
        xs = [x for x, _ in room.floor]
        assert max(xs) - min(xs) == pytest.approx(3.5)  # the smallest room side
        for t in (o for o in room.obstacles if o.kind == "table"):
            p = np.asarray(t.polygon)
            assert (p.max(0) - p.min(0)).max() <= 4.0 + 1e-6


def test_layout_is_bounded() -> None:
    with pytest.raises(ValidationError):
        RoomLayout(tables=IntRange(low=1, high=50))
    with pytest.raises(ValidationError):
        RoomLayout(aisle_m=0.0)
