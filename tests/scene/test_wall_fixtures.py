"""Wall fixtures of procedural rooms (doors, boards, windows, posters, radiators): a pure, seeded description that
stands on the inner face of the walls, packed without overlaps, in the configured shares."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from pydantic import ValidationError

from blender_addon.core.furniture import Furniture
from blender_addon.core.wall_fixtures import CORNER_MARGIN_M, KINDS, WALL_HEIGHT_M, describe_wall_fixtures
from shared_schema.config import DEFAULT_WALL_FIXTURES, BackgroundConfig

ROOM = [(-4.0, -3.0), (4.0, -3.0), (4.0, 3.0), (-4.0, 3.0)]  # counter-clockwise, 8 x 6 m
WEIGHTS = dict(DEFAULT_WALL_FIXTURES)


def _fixtures(seed: int, floor=ROOM, weights=WEIGHTS, per_m: float = 0.3) -> tuple[Furniture, ...]:
    return describe_wall_fixtures(floor, weights, per_m, np.random.default_rng(seed))


def test_seeded_and_recorded() -> None:
    a, b = _fixtures(3), _fixtures(3)
    assert a == b and a != _fixtures(4)
    assert all(Furniture.from_record(f.record()) == f for f in a)


@pytest.mark.parametrize("floor", [ROOM, ROOM[::-1]])
def test_fixtures_stand_on_the_inner_face_of_their_wall_without_overlaps(floor) -> None:
    poly = np.asarray(floor)
    for seed in range(30):
        spans: dict[int, list[tuple[float, float]]] = collections.defaultdict(list)
        for f in _fixtures(seed, floor, per_m=0.6):
            wall = int(f.name.split("_")[0].removeprefix("wall"))
            a, b = poly[wall], poly[(wall + 1) % len(poly)]
            u = (b - a) / np.linalg.norm(b - a)
            pts = np.concatenate([np.asarray(p.polygon) for p in f.parts])
            along = (pts - a) @ u
            off = np.abs((pts - a) @ np.array([-u[1], u[0]]))
            assert off.max() <= KINDS[f.style].depth + 0.006  # thin, against the wall line
            inside = np.abs(pts).max(axis=0) <= np.abs(poly).max(axis=0) + 1e-9
            assert inside.all()  # on the room's side of the wall
            length = float(np.linalg.norm(b - a))
            assert along.min() >= CORNER_MARGIN_M - 1e-9 and along.max() <= length - CORNER_MARGIN_M + 1e-9
            assert all(0.0 <= p.z0 < p.z1 < WALL_HEIGHT_M for p in f.parts)
            spans[wall].append((along.min(), along.max()))
        for s in spans.values():
            s.sort()
            assert all(s[i][1] <= s[i + 1][0] + 1e-9 for i in range(len(s) - 1))  # side by side, never overlapping


def test_kind_shares_follow_the_weights_and_zero_means_bare_walls() -> None:
    weights = {"door": 0.5, "poster": 0.3, "radiator": 0.2}
    counts = collections.Counter(f.style for s in range(300) for f in _fixtures(s, weights=weights))
    n = sum(counts.values())
    assert n > 1000 and set(counts) == set(weights)
    for kind, w in weights.items():
        assert abs(counts[kind] / n - w) < 0.04, (kind, counts[kind] / n)
    assert _fixtures(1, per_m=0.0) == () and _fixtures(1, weights={}) == ()
    assert _fixtures(1, weights={"door": 0.0, "poster": 0.0}) == ()


def test_config_rejects_bad_fixture_tables() -> None:
    with pytest.raises(ValidationError):
        BackgroundConfig(wall_fixtures={"door": -1.0})
    with pytest.raises(ValidationError):
        BackgroundConfig(wall_fixtures={"fireplace": 1.0})
    with pytest.raises(ValidationError):
        BackgroundConfig(wall_fixtures_per_m=float("nan"))
    assert BackgroundConfig(wall_fixtures={}).wall_fixtures == {}
