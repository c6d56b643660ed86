"""A crowd of 30 people (the bound) renders with mutual occlusion and exact annotations (tiny render)."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_addon import pipeline  # noqa: E402
from blender_addon.core.png import read_png  # noqa: E402
from shared_schema.config import MAX_PEOPLE  # noqa: E402

from .conftest import small_config  # noqa: E402


@pytest.mark.slow
def test_thirty_people_render_with_mutual_occlusion(tmp_path):
    cfg = small_config(standing=(24, 24), sitting=(6, 6), res=128, samples=1)
    assert cfg.people.standing.high + cfg.people.sitting.high == MAX_PEOPLE
    built = pipeline.build_scene(cfg, 12)
    ann = pipeline.render_and_annotate(built, tmp_path, "crowd")
    assert len(ann.persons) == MAX_PEOPLE
    inst = read_png(tmp_path / "instances" / "crowd.png")[..., 0]
    assert len(set(np.unique(inst)) - {0}) >= MAX_PEOPLE - 3  # nearly everyone has pixels at 128 px
    assert min(p.visible_fraction for p in ann.persons) < 0.95  # somebody is partly hidden by someone/something
    for p in ann.persons:
        assert p.area == int((inst == p.instance_id).sum())
