"""The pure people placer (core.placement.place_people): a fits callback, bounded tries, deterministic seeds."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from blender_addon.core.placement import (
    MAX_BUILDS_PER_PERSON,
    BodyFit,
    BodyQuery,
    PlacementError,
    config_obstacles,
    human_yaw,
    place_people,
    point_polygon_distance,
    polygon_area,
)

from .conftest import small_config


def _always_fits(query: BodyQuery) -> BodyFit:
    return BodyFit(True)


def _recording(fits_from: int = 1) -> tuple[list[BodyQuery], Callable[[BodyQuery], BodyFit]]:
    """A fits callback that records every query and says yes from its ``fits_from``-th call on (0: never)."""
    seen: list[BodyQuery] = []

    def fits(query: BodyQuery) -> BodyFit:
        seen.append(query)
        return BodyFit(0 < fits_from <= len(seen))

    return seen, fits


def _summary(desc) -> list:
    return [(s.instance_id, s.body_seed, s.person) for s in desc.people] + [o.name for o in desc.obstacles]


def test_same_seed_same_description_and_queries_are_the_only_interaction():
    cfg = small_config(standing=(3, 3), sitting=(3, 3))
    queries, fits = _recording()
    a = place_people(cfg, 7, config_obstacles(cfg), fits)
    b = place_people(cfg, 7, config_obstacles(cfg), _always_fits)
    assert _summary(a) == _summary(b)
    assert (a.standing, a.sitting, len(a.people)) == (3, 3, 6)
    assert [p.person.posture for p in a.people] == ["sitting"] * 3 + ["standing"] * 3
    assert len(queries) == sum(p.person.mesh_checks for p in a.people)
    assert _summary(place_people(cfg, 8, config_obstacles(cfg), _always_fits)) != _summary(a)


def test_every_generated_stool_is_handed_over_once_before_its_sitter():
    cfg = small_config(standing=(0, 0), sitting=(4, 4))  # one chair: the other sitters need stools
    handed: list[str] = []

    def fits(query: BodyQuery) -> BodyFit:
        handed.extend(o.name for o in query.new_obstacles)
        seat = query.spec.person.seat
        assert seat is None or seat in handed or seat == "chair"  # the seat exists before the body
        assert seat not in query.near_obstacles
        return BodyFit(True)

    desc = place_people(cfg, 3, config_obstacles(cfg), fits)
    stools = [o.name for o in desc.obstacles if o.generated]
    assert stools and handed == stools
    assert {p.person.seat for p in desc.people} <= {"chair", *stools}
    assert all(p.person.seat_height is not None for p in desc.people)


def test_a_rejected_body_is_retried_with_a_new_body_seed():
    cfg = small_config(standing=(1, 1), sitting=(0, 0))
    queries, fits = _recording(fits_from=3)
    desc = place_people(cfg, 5, config_obstacles(cfg), fits)
    seeds = [q.spec.body_seed for q in queries]
    (only,) = desc.people
    assert only.person.mesh_checks == 3 and only.person.placement_tries == 3
    assert len(set(seeds)) == 3 and only.body_seed == seeds[-1]
    assert only.person.yaw_deg == human_yaw(only.person.facing_deg)


def test_a_body_that_never_fits_gives_up_after_a_bounded_number_of_builds():
    cfg = small_config(standing=(2, 2), sitting=(0, 0))
    calls, never = _recording(fits_from=0)
    with pytest.raises(PlacementError, match=r"could not place person 1 \(standing\)"):
        place_people(cfg, 5, config_obstacles(cfg), never)
    assert len(calls) == min(MAX_BUILDS_PER_PERSON, cfg.people.max_placement_attempts)


def test_near_people_are_those_within_both_reaches():
    cfg = small_config(standing=(5, 5), sitting=(0, 0))
    seen, fits = _recording()
    desc = place_people(cfg, 11, config_obstacles(cfg), fits)
    for q in seen:
        p = q.spec.person
        placed = desc.people[: q.spec.instance_id - 1]
        want = tuple(
            i for i, s in enumerate(placed) if math.dist(p.position, s.person.position) < p.reach + s.person.reach
        )
        assert q.near_people == want


def test_polygon_helpers():
    square = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    assert polygon_area(square) == 1.0 and polygon_area(square[::-1]) == -1.0
    assert point_polygon_distance((0.5, 0.5), square) == 0.0
    assert point_polygon_distance((2.0, 0.5), square) == pytest.approx(1.0)
    assert human_yaw(0.0) == 90.0 and human_yaw(300.0) == 30.0


def test_core_imports_without_bpy():
    """core = pure numpy/pydantic: importing every core module pulls in no bpy layer."""
    import subprocess
    import sys

    code = (
        "import importlib, pkgutil, sys\n"
        "import blender_addon.core as c\n"
        "for m in pkgutil.iter_modules(c.__path__): importlib.import_module('blender_addon.core.' + m.name)\n"
        "bpy_layer = ('bpy', 'bmesh', 'mathutils', 'blender_addon.scene', 'blender_addon.humans')\n"
        "bad = [m for m in bpy_layer if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_stage_description_is_pure_and_seeded():
    from blender_addon.core.scene_description import describe_stage

    cfg = small_config(standing=(1, 1), sitting=(0, 0))
    a, b = (describe_stage(cfg, 21, cfg.camera, 2, None, None) for _ in range(2))
    assert a.lights.record == b.lights.record and a.room == b.room and a.render == b.render
    assert a.room.wall_color is not None and a.lights.exposure_ev is None
    assert [s.name for s in a.lights.areas][-1].startswith("R2_Panel")
    assert describe_stage(cfg, 22, cfg.camera, 2, None, None).room.floor_color != a.room.floor_color
