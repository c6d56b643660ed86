"""Real bpy renders of small scenes with the real humans, both background modes, several seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_addon import pipeline  # noqa: E402
from blender_addon.core.png import read_png  # noqa: E402
from shared_schema.annotation import SceneAnnotation  # noqa: E402
from shared_schema.coco import decode_rle  # noqa: E402
from shared_schema.geometry import bbox_from_mask, radial_angle_deg  # noqa: E402

from .conftest import RES, small_config  # noqa: E402

CASES = [(3, "procedural"), (11, "procedural"), (5, "photo"), (8, "photo")]
_RESULTS: dict = {}


def _render(seed: int, mode: str, photo: str, out) -> tuple:
    key = (seed, mode, str(out))
    if key not in _RESULTS:
        cfg = small_config(mode, photo if mode == "photo" else None)
        built = pipeline.build_scene(cfg, seed)
        checks = _mesh_overlaps(built)
        ann = pipeline.render_and_annotate(built, out, f"img_{seed}")
        _RESULTS[key] = (built, ann, checks)
    return _RESULTS[key]


def _mesh_overlaps(built) -> list[str]:
    """Narrow-phase check on the posed meshes: no person intersects another person or an obstacle
    (a sitter's own seat excepted)."""
    from blender_addon.scene.builder import bvh_of_objects

    dg = bpy.context.evaluated_depsgraph_get()
    persons = [bvh_of_objects(h.objects, dg) for h in built.persons]
    obstacles = {o.name: bvh_of_objects([built.scene.objects[f"R2_Obstacle_{o.name}"]], dg) for o in built.obstacles}
    bad = []
    for i, a in enumerate(persons):
        for j in range(i + 1, len(persons)):
            if a.overlap(persons[j]):
                bad.append(f"person {i + 1} x person {j + 1}")
        for name, ob in obstacles.items():
            if name != built.person_meta[i].seat and a.overlap(ob):
                bad.append(f"person {i + 1} x {name}")
    return bad


def _radial_extent_is_shorter(mask: np.ndarray, center: tuple[float, float]) -> bool:
    """Whether the mask's extent along the ray from the image centre is shorter than across it."""
    ys, xs = np.nonzero(mask)
    pts = np.stack([xs + 0.5, ys + 0.5], axis=1)
    a = math.radians(radial_angle_deg(tuple(pts.mean(axis=0)), center))
    along = pts @ np.array([math.sin(a), -math.cos(a)])
    across = pts @ np.array([math.cos(a), math.sin(a)])
    return float(np.ptp(along)) < float(np.ptp(across))


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "mode"), CASES)
def test_scene_annotations_match_render(seed, mode, photo_path, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"scene_{mode}_{seed}")
    built, ann, overlaps = _render(seed, mode, photo_path, out)
    assert built.sampled["humans"] == "mpfb2", "the real humans package must render in every test scene"
    assert overlaps == [], overlaps
    assert len(ann.persons) >= 2
    inst = read_png(out / "instances" / f"img_{seed}.png")[..., 0]
    rgb = read_png(out / "images" / f"img_{seed}.png")
    assert inst.dtype == np.uint16 and inst.shape == (RES, RES) and rgb.shape == (RES, RES, 3)
    assert set(np.unique(inst)) <= set(range(len(ann.persons) + 1))
    assert SceneAnnotation.model_validate_json((out / "annotations" / f"img_{seed}.json").read_bytes()) == ann
    visible = 0
    for p in ann.persons:
        mask = inst == p.instance_id
        assert p.area == int(mask.sum())
        assert p.bbox == bbox_from_mask(mask)
        if p.area == 0:
            continue
        visible += 1
        assert (decode_rle(p.segmentation) == mask).all()
        if p.head_2d is not None:
            x, y = p.head_2d
            assert inst[int(y), int(x)] == p.instance_id, f"head of {p.instance_id} outside its mask"
        cx, cy, w, h, angle = p.rotated_box
        assert h >= w
        c = built.camera.center
        if math.hypot(cx - c[0], cy - c[1]) > 8 and h > 1.2 * w + 1:  # a near-square box has no axis
            radial = radial_angle_deg((cx, cy), c)
            if _radial_extent_is_shorter(mask, c):  # CEPDOF: h >= w, so the axes swap (person wider than long)
                radial += 90.0
            diff = (angle - radial + 90.0) % 180.0 - 90.0
            assert abs(diff) < 12.0, f"rotated box of {p.instance_id} not along its radial axes ({angle} vs {radial})"
        for kp in p.keypoints:
            if kp.v == 2:
                r, col = int(kp.y), int(kp.x)
                assert (inst[max(0, r - 1) : r + 2, max(0, col - 1) : col + 2] == p.instance_id).any()
        assert 0.0 < p.visible_fraction <= 1.0
    assert visible >= 1
    # placement: every person inside the image circle and on the floor, apart from each other
    for p in ann.persons:
        uv = built.camera.project(np.array([[*p.position, 0.0]]))[0]
        assert np.isfinite(uv).all()
    assert ann.sampled["humans"] == "mpfb2"


@pytest.mark.slow
def test_photo_mode_composite_and_holdout(photo_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("scene_photo_5")
    built, _ann, _ = _render(5, "photo", photo_path, out)
    inst = read_png(out / "instances" / "img_5.png")[..., 0]
    rgb = read_png(out / "images" / "img_5.png").astype(int)
    photo = read_png(photo_path).astype(int)
    bg = inst == 0
    # background = the photo, only darkened by shadows (never brightened beyond noise)
    assert np.median(np.abs(rgb[bg] - photo[bg])) <= 2
    assert (rgb[bg] <= photo[bg] + 6).mean() > 0.98
    # furniture is a holdout: its top shows the photo and never a person
    table = next(o for o in built.obstacles if o.name == "table")
    poly = np.array(table.polygon)
    grid = [
        poly.min(0) + (poly.max(0) - poly.min(0)) * (a, b)
        for a in np.linspace(0.1, 0.9, 7)
        for b in np.linspace(0.1, 0.9, 7)
    ]
    px = built.camera.project(np.array([[x, y, table.height + 0.001] for x, y in grid]))
    for u, v in px:
        assert inst[int(v), int(u)] == 0
        assert np.abs(rgb[int(v), int(u)] - photo[int(v), int(u)]).max() <= 12


@pytest.mark.slow
def test_same_seed_byte_identical(photo_path, tmp_path_factory):
    a = tmp_path_factory.mktemp("det_a")
    b = tmp_path_factory.mktemp("det_b")
    _render(3, "procedural", photo_path, a)
    _render(3, "procedural", photo_path, b)
    for sub, ext in (("annotations", "json"), ("instances", "png")):
        assert (a / sub / f"img_3.{ext}").read_bytes() == (b / sub / f"img_3.{ext}").read_bytes(), sub


@pytest.mark.slow
def test_placement_error_is_clear(tmp_path):
    from blender_addon.core.placement import PlacementError
    from shared_schema.distributions import IntRange

    cfg = small_config(standing=(30, 30), sitting=(0, 0))
    cfg = cfg.model_copy(
        update={
            "floor": [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)],
            "obstacles": [],
            "people": cfg.people.model_copy(
                update={"standing": IntRange(low=30, high=30), "max_placement_attempts": 50}
            ),
        }
    )
    with pytest.raises(PlacementError, match="could not place"):
        pipeline.build_scene(cfg, 1)


@pytest.mark.slow
def test_polygon_px_obstacles_unprojected(photo_path):
    from shared_schema.config import ObstacleSpec

    cfg = small_config("photo", photo_path, standing=(1, 1), sitting=(0, 0))
    floor_poly = [(0.8, 0.8), (1.6, 0.8), (1.6, 1.4), (0.8, 1.4)]
    px = cfg.camera.project(np.array([[x, y, 0.0] for x, y in floor_poly])).tolist()
    cfg = cfg.model_copy(update={"obstacles": [ObstacleSpec(name="desk", kind="table", polygon_px=px, height=0.7)]})
    built = pipeline.build_scene(cfg, 2)
    (desk,) = built.obstacles
    assert np.allclose(desk.polygon, floor_poly, atol=1e-4)
    assert built.scene.objects["R2_Obstacle_desk"].is_holdout
    assert built.scene.objects["R2_Floor"].is_shadow_catcher and built.scene.render.film_transparent
