"""Pure-numpy tests of the humans core: phenotypes, BVH, retargeting, poses (no bpy)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from blender_addon.core import mhdata, phenotype, poses, retarget, skeleton
from blender_addon.core.bvh import load_bvh
from blender_addon.core.person import build_body
from shared_schema.config import PhenotypeRanges
from shared_schema.distributions import rng_for

RANGES = PhenotypeRanges()


@pytest.fixture(scope="module")
def average_skeleton():
    ph = phenotype.Phenotype(0.5, 30.0, 0.5, 0.5, 0.5, 0.5, 1 / 3, 1 / 3, 1 / 3)
    c = phenotype.shaped_coords(ph)
    c[:, 2] -= c[: mhdata.base_mesh().n_body, 2].min()
    return retarget.fit_skeleton(c)


def test_assets_small_and_complete():
    total = sum(p.stat().st_size for p in mhdata.ASSETS.rglob("*") if p.is_file())
    assert total < 15e6
    bm = mhdata.base_mesh()
    assert bm.coords.shape == (19158, 3) and bm.n_body == 13380
    assert 1.6 < float(np.ptp(bm.coords[: bm.n_body, 2])) < 1.72  # 1.67 m tall, metres
    assert len(mhdata.rig()) == 31
    _names, w = mhdata.skin_weights()
    assert np.allclose(w.sum(axis=1), 1.0, atol=1e-4)
    assert len(poses.clip_index()) == 33


def test_same_seed_same_body_different_seed_different():
    p1 = phenotype.sample_phenotype(RANGES, rng_for(11, "phenotype"))
    p2 = phenotype.sample_phenotype(RANGES, rng_for(11, "phenotype"))
    p3 = phenotype.sample_phenotype(RANGES, rng_for(12, "phenotype"))
    assert p1 == p2 and p1 != p3
    c1, c2, c3 = (phenotype.shaped_coords(p) for p in (p1, p2, p3))
    assert np.array_equal(c1, c2)
    assert np.abs(c1 - c3).max() > 0.02  # visibly different


def test_macro_weights_partition():
    ph = phenotype.sample_phenotype(RANGES, rng_for(5, "phenotype"))
    w = phenotype.macro_target_weights(ph)
    rga = sum(v for k, v in w.items() if k.split("-")[0] in ("african", "asian", "caucasian"))
    assert rga == pytest.approx(1.0, abs=1e-6)
    missing = [k for k in w if k not in mhdata.macro_targets() and "averagemuscle-averageweight" not in k]
    assert not missing


def test_adult_height_distribution():
    hs = np.array(
        [
            phenotype.standing_height(
                phenotype.shaped_coords(phenotype.sample_phenotype(RANGES, rng_for(s, "phenotype")))
            )
            for s in range(200)
        ]
    )
    print(
        json.dumps(
            {
                "min": hs.min(),
                "p5": np.percentile(hs, 5),
                "median": np.median(hs),
                "p95": np.percentile(hs, 95),
                "max": hs.max(),
            }
        )
    )
    assert hs.min() > 1.40 and hs.max() < 2.05
    assert 1.58 < np.median(hs) < 1.76
    assert np.percentile(hs, 95) - np.percentile(hs, 5) > 0.12


def test_children_optional():
    r = PhenotypeRanges(allow_children=True)
    ages = [phenotype.sample_phenotype(r, rng_for(s, "phenotype")).age_years for s in range(100)]
    assert min(ages) < 18 and max(ages) > 18
    adults = [phenotype.sample_phenotype(RANGES, rng_for(s, "phenotype")).age_years for s in range(100)]
    assert min(adults) >= 18


def test_bvh_parser():
    b = load_bvh(str(mhdata.MOCAP_DIR / "02_01.bvh"))
    assert len(b.names) == 43 and b.frames.shape == (42, 132)
    assert b.channels[0][:3] == ("Xposition", "Yposition", "Zposition")
    assert b.frame_time == pytest.approx(1 / 15, rel=1e-3)


def test_walk_retarget_forward_and_alternating(average_skeleton):
    sk = average_skeleton
    b = load_bvh(str(mhdata.MOCAP_DIR / "02_01.bvh"))
    g, root = retarget.retarget_bvh(sk, b, np.arange(b.n_frames))
    heads = retarget.pose_heads(sk, g, root)
    hips = heads[:, sk.index("Hips")]
    forward = np.einsum("fij,j->fi", g[:, sk.index("Hips")], [0.0, -1.0, 0.0])  # rest faces -Y
    travel = hips[-1] - hips[0]
    assert np.linalg.norm(travel[:2]) > 1.5
    assert np.dot(travel[:2], forward.mean(axis=0)[:2]) > 0.9 * np.linalg.norm(travel[:2])  # walks where it faces
    lead = np.einsum("fi,fi->f", heads[:, sk.index("LeftFoot")] - heads[:, sk.index("RightFoot")], forward)
    lead = lead[np.abs(lead) > 0.1]
    assert np.count_nonzero(np.diff(np.sign(lead))) >= 3  # left/right feet alternate


def test_every_clip_frame_head_above_pelvis_and_knees_forward(average_skeleton):
    sk = average_skeleton
    for row in poses.clip_index():
        b = load_bvh(str(mhdata.MOCAP_DIR / row["file"]))
        g, root = retarget.retarget_bvh(sk, b, np.arange(b.n_frames))
        heads = retarget.pose_heads(sk, g, root)
        assert np.all(heads[:, sk.index("Head"), 2] - heads[:, sk.index("Hips"), 2] > 0.4), row["file"]
        for side in ("Left", "Right"):
            flex = skeleton.knee_flexion_deg(sk, g, side)
            assert flex.min() > -5.0, (row["file"], side, flex.min())  # never bends backward
            assert flex.max() < 150.0


def test_tpose_arms_horizontal(average_skeleton):
    sk = average_skeleton
    gt = retarget.tpose_deltas(sk)
    for bone, sign in (("LeftArm", 1), ("RightArm", -1)):
        i = sk.index(bone)
        d = gt[i] @ (sk.tails[i] - sk.heads[i])
        d /= np.linalg.norm(d)
        assert d[0] * sign > 0.95


def test_fan_triangles_split_polygons_like_blender():
    from blender_addon.core.person import fan_triangles

    # a quad, a triangle, a degenerate edge and a pentagon, stored flat
    verts = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
    tris = fan_triangles(verts, np.array([0, 4, 7, 9]), np.array([4, 3, 2, 5]))
    assert tris.tolist() == [[0, 1, 2], [0, 2, 3], [4, 5, 6], [9, 10, 11], [9, 11, 12], [9, 12, 13]]


def test_surface_covers_every_mesh_of_the_person():
    body = build_body("standing", (0.0, 0.0), 30.0, seed=11)
    verts, tris = body.surface(0)
    assert len(verts) == len(body.all_vertices(0))
    assert tris.min() == 0 and tris.max() == len(verts) - 1  # the last garment's last vertex is used
    assert len(np.unique(tris)) > 0.95 * len(verts)


def test_rigid_inverse_matches_the_general_inverse():
    rng = np.random.default_rng(3)
    for _ in range(20):
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        m = np.eye(4)
        m[:3, :3], m[:3, 3] = q, rng.normal(size=3) * 2
        inv = retarget.rigid_inverse(m)
        np.testing.assert_allclose(inv, np.linalg.inv(m), atol=1e-12)
        np.testing.assert_allclose(inv @ m, np.eye(4), atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_standing_grounded_and_facing(seed):
    body = build_body("standing", (1.0, -2.0), 0.0, seed=seed)
    feet = poses._dominant(body.weights, body.skeleton, poses.FOOT_BONES)
    assert abs(body.posed[0][feet, 2].min()) < 0.02
    assert abs(body.posed[1][feet, 2].min()) < 0.04
    assert body.posed[0][:, 2].min() > -0.02
    hips = body.pose.heads[0, body.skeleton.index("Hips")]
    assert np.allclose(hips[:2], (1.0, -2.0), atol=1e-6)
    assert body.keypoints[0, 1] < body.head_point[1]  # nose ahead (-Y) of the head centre
    assert body.head_point[2] > hips[2] + 0.4
    assert np.abs(body.posed[1] - body.posed[0]).max() > 0.005  # t -> t+δ moves
    json.dumps(body.sampled)


def test_same_seed_same_posed_vertices():
    a = build_body("standing", (0.0, 0.0), 45.0, seed=9)
    b = build_body("standing", (0.0, 0.0), 45.0, seed=9)
    assert np.array_equal(a.posed[0], b.posed[0]) and a.sampled == b.sampled


@pytest.mark.parametrize("seat", [0.38, 0.45, 0.6])
def test_sitting_on_seat(seat):
    body = build_body("sitting", (0.5, 0.5), 90.0, seat_height=seat, seed=21)
    sk = body.skeleton
    hz, kz = sk.heads[sk.index("LeftUpLeg"), 2], sk.heads[sk.index("LeftLeg"), 2]
    seat_v = poses._dominant(body.weights, sk, poses.SEAT_BONES) & (body.coords[: body.n_body, 2] > 0.5 * (hz + kz))
    assert body.posed[0][seat_v, 2].min() == pytest.approx(seat, abs=0.005)
    hips = body.pose.heads[0, sk.index("LeftUpLeg")]
    assert seat < hips[2] < seat + 0.2
    for side in ("Left", "Right"):
        flex = skeleton.knee_flexion_deg(sk, body.pose.g[:1], side)[0]
        assert 45 < flex < 135
    thigh = body.pose.heads[0, sk.index("LeftLeg")] - body.pose.heads[0, sk.index("LeftUpLeg")]
    assert thigh[0] > 0.2  # yaw +90 deg (counter-clockwise from above) turns the -Y facing to +X
    assert body.posed[0][:, 2].min() > -0.02
    assert body.head_point[2] > hips[2] + 0.4


def test_footprint_contains_body():
    body = build_body("standing", (0.0, 0.0), 0.0, seed=4)
    fp = body.footprint
    assert len(fp) >= 3
    xy = body.all_vertices(0)[:, :2]
    assert fp[:, 0].min() <= xy[:, 0].min() + 1e-4 and fp[:, 0].max() >= xy[:, 0].max() - 1e-4


def test_skin_tones_darken_with_melanin_and_never_turn_grey():
    import colorsys

    from blender_addon.core.appearance import skin_color
    from blender_addon.core.png import linear_to_srgb8

    melanin = np.linspace(0.2, 1.0, 33)
    lin = np.array([skin_color(float(m), 0.5) for m in melanin])
    luminance = lin @ np.array([0.2126, 0.7152, 0.0722])
    assert np.all(np.diff(luminance) < 0)  # darker with every step of melanin
    assert lin.max() <= 0.8 and 0.05 <= lin[-1, 0] <= 0.15  # albedo, not a display swatch; measured dark end
    display = linear_to_srgb8(lin) / 255.0
    sat = np.array([colorsys.rgb_to_hsv(*c)[1] for c in display])
    assert sat.min() >= 0.15 and sat[len(sat) // 2] >= 0.3  # mid tones keep their colour
    assert np.all(lin[:, 0] > lin[:, 1]) and np.all(lin[:, 1] > lin[:, 2])  # red > green > blue: skin hues
