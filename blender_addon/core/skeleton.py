"""COCO-17 keypoints, the head point and floor footprints from a posed cmu_mb body (pure numpy)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from shared_schema.annotation import COCO_KEYPOINTS

from . import mhdata
from .retarget import Skeleton, rigid

COCO17 = COCO_KEYPOINTS
# COCO joint -> cmu_mb bone whose head is that joint (character's left = +X at rest)
JOINT_BONES = {
    "left_shoulder": "LeftArm",
    "right_shoulder": "RightArm",
    "left_elbow": "LeftForeArm",
    "right_elbow": "RightForeArm",
    "left_wrist": "LeftHand",
    "right_wrist": "RightHand",
    "left_hip": "LeftUpLeg",
    "right_hip": "RightUpLeg",
    "left_knee": "LeftLeg",
    "right_knee": "RightLeg",
    "left_ankle": "LeftFoot",
    "right_ankle": "RightFoot",
}
HEAD_POINT_ABOVE_EYES = 0.02


@lru_cache(maxsize=1)
def face_vertices() -> dict[str, int]:
    """Vertex indices of the nose tip and the two ear tragi on the hm08 base mesh."""
    bm = mhdata.base_mesh()
    c = bm.coords[: bm.n_body]
    eye_l = bm.coords[bm.groups["joint-l-eye"]].mean(axis=0)
    eye_z = eye_l[2]
    head = bm.coords[bm.groups["joint-head"]].mean(axis=0)
    near = (np.abs(c[:, 0]) < 0.006) & (c[:, 2] < eye_z - 0.01) & (c[:, 2] > eye_z - 0.07)
    nose = int(np.flatnonzero(near)[np.argmin(c[near, 1])])
    band = (np.abs(c[:, 2] - (eye_z - 0.02)) < 0.015) & (np.abs(c[:, 1] - head[1]) < 0.05)
    band &= c[:, 2] > head[2]
    idx = np.flatnonzero(band)
    return {"nose": nose, "left_ear": int(idx[np.argmax(c[idx, 0])]), "right_ear": int(idx[np.argmin(c[idx, 0])])}


def face_points_rest(coords: np.ndarray) -> dict[str, np.ndarray]:
    groups = mhdata.base_mesh().groups
    fv = face_vertices()
    pts = {k: coords[v] for k, v in fv.items()}
    pts["left_eye"] = coords[groups["joint-l-eye"]].mean(axis=0)
    pts["right_eye"] = coords[groups["joint-r-eye"]].mean(axis=0)
    ears = 0.5 * (pts["left_ear"] + pts["right_ear"])
    eye_z = 0.5 * (pts["left_eye"][2] + pts["right_eye"][2])
    pts["head_point"] = np.array([ears[0], ears[1], eye_z + HEAD_POINT_ABOVE_EYES])
    return pts


def keypoints(sk: Skeleton, coords_rest: np.ndarray, g: np.ndarray, heads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(COCO-17 (17, 3), head point (3,)) in world coordinates for one frame (g (B,3,3), heads (B,3))."""
    hb = sk.index("Head")
    face = {k: rigid(v, g[hb], sk.heads[hb], heads[hb]) for k, v in face_points_rest(coords_rest).items()}
    out = []
    for name in COCO17:
        out.append(face[name] if name in face else heads[sk.index(JOINT_BONES[name])])
    return np.array(out), face["head_point"]


def convex_hull_2d(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise convex hull (Andrew's monotone chain) of (N, 2) points."""
    pts_arr = np.unique(np.round(np.asarray(points, dtype=np.float64), 5), axis=0)
    if len(pts_arr) < 3:
        return pts_arr
    pts = pts_arr.tolist()  # Python floats: the same IEEE double arithmetic, without numpy scalar overhead

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list = []
    for p in pts[::-1]:
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1], dtype=np.float64)


def footprint(vertices: np.ndarray) -> np.ndarray:
    """Convex floor polygon of posed vertices (uses the hull of the xy projection)."""
    xy = np.asarray(vertices)[:, :2]
    # pre-filter to candidates on a coarse angular hull to keep the Python loop short
    c = xy.mean(axis=0)
    ang = np.arctan2(xy[:, 1] - c[1], xy[:, 0] - c[0])
    r = np.hypot(xy[:, 0] - c[0], xy[:, 1] - c[1])
    bins = np.floor((ang + np.pi) / (2 * np.pi) * 720).astype(int)
    order = np.lexsort((-r, bins))
    first = np.ones(len(order), bool)
    first[1:] = bins[order][1:] != bins[order][:-1]
    return convex_hull_2d(xy[order[first]])


def knee_flexion_deg(sk: Skeleton, g: np.ndarray, side: str = "Left") -> np.ndarray:
    """Signed knee flexion per frame (g (F, B, 3, 3)); positive = the shin swings backward (a natural knee)."""
    up, lo = sk.index(f"{side}UpLeg"), sk.index(f"{side}Leg")
    d1 = np.einsum("fij,j->fi", g[:, up], sk.tails[up] - sk.heads[up])
    d2 = np.einsum("fij,j->fi", g[:, lo], sk.tails[lo] - sk.heads[lo])
    lateral = np.einsum("fij,j->fi", g[:, sk.index("Hips")], np.array([1.0, 0.0, 0.0]))
    cr = np.cross(d1, d2)
    s = np.einsum("fi,fi->f", cr, lateral)
    c = np.einsum("fi,fi->f", d1, d2)
    return np.degrees(np.arctan2(s, c))
