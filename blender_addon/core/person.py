"""The whole person, without bpy: phenotype -> shaped mesh -> rig -> pose -> skinned vertices, keypoints, footprint.

``build_body`` is deterministic in ``seed`` (independent streams ``phenotype``, ``appearance``, ``pose``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared_schema.distributions import rng_for

from . import accessories, appearance, garments, mhdata, poses, skeleton, wardrobe
from .phenotype import Phenotype, sample_phenotype, shaped_coords, standing_height
from .retarget import Skeleton, fit_skeleton, rigid, skin


class _U:
    def __init__(self, low, high):
        self.low, self.high = low, high

    def sample(self, rng):
        return float(rng.uniform(self.low, self.high))


class _N:
    def __init__(self, mean, std, low, high):
        self.mean, self.std, self.low, self.high = mean, std, low, high

    def sample(self, rng):
        return float(min(self.high, max(self.low, rng.normal(self.mean, self.std))))


class FallbackRanges:
    """The PhenotypeRanges defaults, for Blender Pythons without pydantic."""

    gender = _U(0.0, 1.0)
    age_years = _U(18.0, 70.0)
    allow_children = False
    muscle = _U(0.2, 0.8)
    weight = _U(0.2, 0.8)
    height = _N(0.5, 0.18, 0.0, 1.0)
    proportions = _U(0.3, 0.7)
    african = _U(0.0, 1.0)
    asian = _U(0.0, 1.0)
    caucasian = _U(0.0, 1.0)
    skin_melanin = _U(0.2, 1.0)
    skin_hue = _U(0.49, 0.51)
    skin_oil = _U(0.0, 1.0)
    skin_bump = _U(0.0, 1.0)
    fabric_saturation = _U(0.45, 0.9)
    fabric_value = _N(0.5, 0.2, 0.02, 1.0)
    appearance = None  # the defaults of shared_schema/appearance_defaults.json
    hair_styles = {"short": 0.35, "long": 0.2, "tied": 0.15, "bald": 0.1, "cap": 0.1, "hat": 0.1}  # noqa: RUF012


def default_ranges():
    try:
        from shared_schema.config import PhenotypeRanges
    except ImportError:  # Blender's Python without pydantic
        return FallbackRanges()
    return PhenotypeRanges()


@dataclass
class BodyModel:
    phenotype: Phenotype
    coords: np.ndarray  # (V, 3) rest vertices incl. joint cubes, grounded (body: [:n_body])
    n_body: int
    skeleton: Skeleton
    weights: np.ndarray  # (n_body, B)
    pose: poses.Pose
    appearance: dict
    regions: np.ndarray  # (n_body,) region code per body vertex
    extras: list  # hair/headwear/accessory meshes (rest verts), each rigid on its "bone"
    posed: list  # per frame k in (0, 1): (n_body, 3) posed body vertices
    posed_extras: list  # per frame: list of (n, 3)
    keypoints: np.ndarray  # (17, 3) at frame 0
    head_point: np.ndarray  # (3,)
    footprint: np.ndarray  # (K, 2)
    height: float
    sampled: dict
    garments: list  # GarmentMesh (rest), innermost first
    posed_garments: list  # per frame: list of (n, 3)
    face_slots: np.ndarray  # (F_body,) material slot per body face: 0 skin, 1 hair, 2 + i garment i

    def all_vertices(self, k: int = 0) -> np.ndarray:
        """Body, then extras, then garments (the order of the person's mesh objects)."""
        return np.concatenate([self.posed[k], *self.posed_extras[k], *self.posed_garments[k]])


def build_body(
    posture: str,
    position,
    yaw_deg: float,
    seat_height: float | None = None,
    seed: int = 0,
    ranges=None,
    clip: str | None = None,
    clip_frame: int | None = None,
) -> BodyModel:
    ranges = ranges if ranges is not None else default_ranges()
    ph = sample_phenotype(ranges, rng_for(seed, "phenotype"))
    coords = shaped_coords(ph)
    bm = mhdata.base_mesh()
    n = bm.n_body
    coords[:, 2] -= coords[:n, 2].min()
    sk = fit_skeleton(coords)
    _, weights = mhdata.skin_weights()
    rest = coords[:n]
    rng_pose = rng_for(seed, "pose")
    if posture == "standing":
        pose = poses.standing_pose(sk, rest, weights, rng_pose, position, yaw_deg, clip=clip, frame=clip_frame)
    elif posture == "sitting":
        if seat_height is None:
            raise ValueError("sitting needs seat_height")
        pose = poses.seated_pose(sk, rest, weights, rng_pose, position, yaw_deg, seat_height)
    else:
        raise ValueError(f"posture must be 'standing' or 'sitting', not {posture!r}")
    app = _appearance(ranges, seed, ph)
    face = skeleton.face_points_rest(coords)
    regions = appearance.body_regions(coords, weights, sk, app, face)
    extras = appearance.hair_meshes(coords, bm.face_verts, bm.face_start, bm.face_count, regions, face, app)
    extras += [accessories.accessory_mesh(item, sk, rest) for item in app["accessories"]]
    frame = garments.body_frame(coords, bm.face_verts.reshape(-1, 4), weights, sk)
    worn = garments.build_garments(frame, app["outfit"], posture)
    face_slots = garments.face_materials(regions, frame.quads, worn)
    posed, posed_extras, posed_garments = [], [], []
    for k in range(2):
        a, t = pose.transforms(k, sk)
        posed.append(skin(rest, weights, a, t))
        posed_extras.append([_rigid_on_bone(e, sk, pose, k) for e in extras])
        posed_garments.append([garments.skin_garment(g, a, t) for g in worn])
    kp, head = skeleton.keypoints(sk, coords, pose.g[0], pose.heads[0])
    allv = np.concatenate([posed[0], *posed_extras[0], *posed_garments[0]])
    fp = skeleton.footprint(allv)
    height = standing_height(coords)
    sampled = {
        "seed": int(seed),
        "phenotype": ph.to_dict(),
        "height_m": round(height, 4),
        "appearance": app,
        "pose": {
            **pose.info,
            "posture": posture,
            "yaw_deg": float(yaw_deg),
            "position": [float(position[0]), float(position[1])],
        },
    }
    return BodyModel(
        ph,
        coords,
        n,
        sk,
        weights,
        pose,
        app,
        regions,
        extras,
        posed,
        posed_extras,
        kp,
        head,
        fp,
        height,
        sampled,
        worn,
        posed_garments,
        face_slots,
    )


def _appearance(ranges, seed: int, ph: Phenotype) -> dict:
    """Skin, hair, headwear, outfit and carried objects of one person (independent seeded streams)."""
    settings = appearance.appearance_settings(ranges)
    app = appearance.sample_appearance(ranges, rng_for(seed, "appearance"), ph)
    app["outfit"] = wardrobe.sample_outfit(settings, ranges, seed, female=ph.gender < 0.5)
    app["accessories"] = accessories.sample_accessories(settings, seed)
    return app


def _rigid_on_bone(extra: dict, sk: Skeleton, pose, k: int) -> np.ndarray:
    b = sk.index(extra.get("bone", "Head"))
    return rigid(extra["verts"], pose.g[k, b], sk.heads[b], pose.heads[k, b])
