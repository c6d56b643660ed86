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


def default_ranges():
    """The phenotype ranges of ``shared_schema.config.PhenotypeRanges`` (the one place the defaults live)."""
    from shared_schema.config import PhenotypeRanges

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

    def surface(self, k: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The posed surface at frame ``k``: :meth:`all_vertices` and triangles (T, 3) indexing them, every
        polygon of every mesh as a fan: the collision mesh, without building the person in Blender."""
        bm = mhdata.base_mesh()
        tris = [fan_triangles(bm.face_verts, bm.face_start, bm.face_count)]
        base = self.n_body
        for e in self.extras:
            tris.append(_polygon_fans(e["faces"]) + base)
            base += len(e["verts"])
        for g in self.garments:
            tris.append(fan_triangles(g.faces.ravel(), np.arange(len(g.faces)) * 4, np.full(len(g.faces), 4)) + base)
            base += len(g.verts)
        return self.all_vertices(k), np.concatenate(tris)


def fan_triangles(face_verts: np.ndarray, face_start: np.ndarray, face_count: np.ndarray) -> np.ndarray:
    """Triangles (T, 3) of flat-stored polygons, each split as a fan (v0, vi, vi+1): Blender's split of a convex
    quad. Polygons with fewer than 3 corners give none."""
    face_verts, face_count = np.asarray(face_verts), np.asarray(face_count)
    n_tri = np.maximum(face_count - 2, 0)
    poly = np.repeat(np.arange(len(face_count)), n_tri)
    corner = np.arange(int(n_tri.sum())) - np.repeat(np.cumsum(n_tri) - n_tri, n_tri)
    start = np.asarray(face_start)[poly]
    return np.stack([face_verts[start], face_verts[start + corner + 1], face_verts[start + corner + 2]], axis=1)


def _polygon_fans(faces) -> np.ndarray:
    counts = np.array([len(f) for f in faces], np.int64)
    flat = np.fromiter((i for f in faces for i in f), np.int64, int(counts.sum()))
    return fan_triangles(flat, np.cumsum(counts) - counts, counts)


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
