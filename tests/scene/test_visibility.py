"""people.min_visible_fraction drops a person hidden behind furniture (real bpy scenes, no render needed)."""

from __future__ import annotations

import pytest

bpy = pytest.importorskip("bpy")

from blender_addon import pipeline  # noqa: E402
from blender_addon.scene.visibility import visible_fractions  # noqa: E402
from shared_schema.config import ObstacleSpec  # noqa: E402

from .conftest import small_config  # noqa: E402

#: A 2.6 m partition between the ceiling camera (at the origin) and a floor strip behind it.
PARTITION = ObstacleSpec(
    name="partition", kind="shelf", polygon=[(1.5, -2.0), (2.9, -2.0), (2.9, 2.0), (1.5, 2.0)], height=2.6
)
BEHIND = [(2.95, -1.0), (3.9, -1.0), (3.9, 1.0), (2.95, 1.0)]
IN_FRONT = [(-1.5, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.5, 1.0)]


def _config(floor, min_visible: float):
    cfg = small_config(standing=(1, 1), sitting=(0, 0))
    people = cfg.people.model_copy(update={"min_visible_fraction": min_visible})
    return cfg.model_copy(update={"floor": floor, "obstacles": [PARTITION], "people": people})


def _occluders(built):
    mine = {ob.name for h in built.persons for ob in h.objects}
    return [o for o in built.scene.objects if o.type == "MESH" and o.name not in mine and o.name != "R2_Floor"]


@pytest.mark.slow
def test_person_hidden_behind_furniture_is_dropped():
    kept = pipeline.build_scene(_config(BEHIND, 0.0), 3)
    assert len(kept.persons) == 1  # without the threshold the hidden person stays
    assert visible_fractions(kept, _occluders(kept)) == [0.0]
    dropped = pipeline.build_scene(_config(BEHIND, 0.3), 3)
    assert dropped.persons == [] and not [o for o in dropped.scene.objects if o.name.startswith("person_")]
    (record,) = dropped.sampled["dropped_persons"]
    assert record["visible_fraction"] < 0.3 and record["position"][0] > 2.95
    assert dropped.sampled["min_visible_fraction"] == 0.3


@pytest.mark.slow
def test_visible_person_is_kept_and_renumbered():
    built = pipeline.build_scene(_config(IN_FRONT, 0.3), 3)
    assert len(built.persons) == 1 and built.sampled["dropped_persons"] == []
    assert visible_fractions(built, _occluders(built))[0] > 0.9
    assert {ob.pass_index for ob in built.persons[0].objects} == {1}
