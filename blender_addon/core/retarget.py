"""Retargeting maths (pure numpy): Daz/Aiko3 BVH -> MPFB cmu_mb rig, forward kinematics and skinning.

A pose of the target rig is stored as *global deltas*: for each bone b a rotation ``G[b]`` (armature space) that
takes the bone from its rest (MakeHuman A-pose) orientation to its posed orientation, and the posed head position
``P[b]``. A rest-pose point x skinned to bone b goes to ``G[b] @ (x - head_rest[b]) + P[b]`` (linear blend
skinning, exactly what Blender's Armature modifier computes). Bone rolls never enter the deltas; the bpy layer
converts deltas into pose-bone matrices with Blender's own rest matrices.

Retargeting transfers world-space rotation deltas between the two rigs' T-poses::

    R_tgt_world(t) = R_src_world(t) · R_src_rest_world⁻¹ · R_tgt_rest_world

The BVH rests in a T-pose (all rotations zero, so R_src_rest_world = I); the target's T-pose is MPFB's
``poses/cmu_mb_fk/t-pose.json`` applied to the A-pose rest. In delta form: ``G[b](t) = C R_src(t) Cᵀ · G_T[b]``
where C maps BVH axes (Y up, facing +Z) to Blender's (Z up, facing -Y).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import mhdata
from .bvh import BVH, axis_rotation, forward_kinematics

# BVH (x, y, z) -> Blender (x, -z, y)
C_BVH = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
BVH_HIP_HEIGHT_M = 0.85  # README: standing hip joint ~85 cm above the floor

# cmu_mb bone -> Daz/Aiko3 BVH joint (README's map). Unmapped bones keep their T-pose rotation relative to the parent.
BONE_MAP = {
    "Hips": "hip",
    "LowerBack": "abdomen",
    "Spine1": "chest",
    "Neck": "neck",
    "Head": "head",
    "LeftShoulder": "lCollar",
    "RightShoulder": "rCollar",
    "LeftArm": "lShldr",
    "RightArm": "rShldr",
    "LeftForeArm": "lForeArm",
    "RightForeArm": "rForeArm",
    "LeftHand": "lHand",
    "RightHand": "rHand",
    "LHipJoint": "lButtock",
    "RHipJoint": "rButtock",
    "LeftUpLeg": "lThigh",
    "RightUpLeg": "rThigh",
    "LeftLeg": "lShin",
    "RightLeg": "rShin",
    "LeftFoot": "lFoot",
    "RightFoot": "rFoot",
}


def vec_roll_to_mat3(vec: np.ndarray, roll: float) -> np.ndarray:
    """Blender's bone rest orientation from head->tail vector and roll (BKE ``vec_roll_to_mat3_normalized``)."""
    nor = np.asarray(vec, dtype=np.float64)
    nor = nor / np.linalg.norm(nor)
    x, y, z = nor
    theta = 1.0 + y
    theta_alt = x * x + z * z
    if theta > 6.1e-3 or theta_alt > 2.5e-4**2:
        if theta <= 6.1e-3:
            theta = 0.5 * theta_alt + 0.125 * theta_alt * theta_alt
        b = np.array(
            [
                [1.0 - x * x / theta, x, -x * z / theta],
                [-x, y, -z],
                [-x * z / theta, z, 1.0 - z * z / theta],
            ]
        )
    else:
        b = np.diag([-1.0, -1.0, 1.0])
    return axis_angle(nor, roll) @ b


def axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def euler_xyz(angles) -> np.ndarray:
    """Blender Euler 'XYZ' to matrix (= Rz @ Ry @ Rx)."""
    x, y, z = angles
    return axis_rotation("Z", np.float64(z)) @ axis_rotation("Y", np.float64(y)) @ axis_rotation("X", np.float64(x))


@dataclass(frozen=True)
class Skeleton:
    """The cmu_mb rig fitted to one shaped body (rest pose, metres, grounded)."""

    names: tuple[str, ...]
    parents: np.ndarray  # (B,) parent index, -1 for root
    heads: np.ndarray  # (B, 3)
    tails: np.ndarray  # (B, 3)
    rolls: np.ndarray  # (B,)
    rest: np.ndarray  # (B, 3, 3) rest orientations (Blender bone matrix_local rotation)

    def index(self, name: str) -> int:
        return self.names.index(name)

    @property
    def hip_height(self) -> float:
        return float(self.heads[self.index("Hips"), 2])


def fit_skeleton(coords: np.ndarray) -> Skeleton:
    groups = mhdata.base_mesh().groups
    bones = mhdata.rig()
    names = tuple(b.name for b in bones)
    parents = np.array([names.index(b.parent) if b.parent else -1 for b in bones])
    heads = np.array([mhdata.joint_point(b.head, coords, groups) for b in bones])
    tails = np.array([mhdata.joint_point(b.tail, coords, groups) for b in bones])
    rolls = np.array([b.roll for b in bones])
    rest = np.array([vec_roll_to_mat3(t - h, r) for h, t, r in zip(heads, tails, rolls, strict=True)])
    return Skeleton(names, parents, heads, tails, rolls, rest)


def tpose_deltas(sk: Skeleton) -> np.ndarray:
    """G_T (B, 3, 3): global deltas of MPFB's cmu_mb T-pose from the A-pose rest."""
    rots = mhdata.tpose_rotations()
    g = np.empty((len(sk.names), 3, 3))
    for b, name in enumerate(sk.names):
        local = euler_xyz(rots[name]) if name in rots else np.eye(3)
        parent = g[sk.parents[b]] if sk.parents[b] >= 0 else np.eye(3)
        g[b] = parent @ sk.rest[b] @ local @ sk.rest[b].T
    return g


def deltas_from_source(sk: Skeleton, src_world: dict[str, np.ndarray]) -> np.ndarray:
    """Global deltas (F, B, 3, 3) from source world rotations (BVH axes) per BVH joint name, each (F, 3, 3)."""
    gt = tpose_deltas(sk)
    n = len(next(iter(src_world.values())))
    g = np.empty((n, len(sk.names), 3, 3))
    for b, name in enumerate(sk.names):
        src = BONE_MAP.get(name)
        if src is not None and src in src_world:
            g[:, b] = C_BVH @ src_world[src] @ C_BVH.T @ gt[b]
        else:
            p = sk.parents[b]
            parent = g[:, p] if p >= 0 else np.eye(3)
            parent_t = gt[p] if p >= 0 else np.eye(3)
            g[:, b] = parent @ parent_t.T @ gt[b]
    return g


def retarget_bvh(sk: Skeleton, bvh: BVH, frames) -> tuple[np.ndarray, np.ndarray]:
    """(G (F, B, 3, 3), root head positions (F, 3)) in Blender axes; root translation scaled by hip height."""
    rot, pos = forward_kinematics(bvh, frames)
    src = {name: rot[:, j] for j, name in enumerate(bvh.names)}
    g = deltas_from_source(sk, src)
    scale = sk.hip_height / BVH_HIP_HEIGHT_M
    root = (pos[:, bvh.index("hip")] * 0.01) @ C_BVH.T * scale
    return g, root


def pose_heads(sk: Skeleton, g: np.ndarray, root: np.ndarray) -> np.ndarray:
    """Posed bone heads (F, B, 3) given deltas and the root bone's posed head."""
    f = g.shape[0]
    p = np.empty((f, len(sk.names), 3))
    for b, parent in enumerate(sk.parents):
        if parent < 0:
            p[:, b] = root
        else:
            p[:, b] = p[:, parent] + np.einsum("fij,j->fi", g[:, parent], sk.heads[b] - sk.heads[parent])
    return p


def bone_transforms(sk: Skeleton, g: np.ndarray, heads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-bone affine (A, t) with x' = A x + t, for one frame: g (B,3,3), heads (B,3)."""
    t = heads - np.einsum("bij,bj->bi", g, sk.heads)
    return g, t


def skin(rest: np.ndarray, weights: np.ndarray, g: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Linear blend skinning of rest points (N,3) with dense weights (N,B) for one frame."""
    a = np.einsum("nb,bij->nij", weights, g, optimize=True)
    tt = weights @ t
    return np.einsum("nij,nj->ni", a, rest, optimize=True) + tt


def rigid(points: np.ndarray, g_b: np.ndarray, head_rest: np.ndarray, head_posed: np.ndarray) -> np.ndarray:
    return (np.asarray(points) - head_rest) @ g_b.T + head_posed


def rigid_inverse(m: np.ndarray) -> np.ndarray:
    """Inverse of a 4x4 rigid transform (orthonormal rotation + translation): ``[Rᵀ, -Rᵀt]``, no LAPACK call
    (a threaded BLAS makes thousands of tiny ``np.linalg.inv`` calls slow on a busy machine)."""
    r = m[:3, :3]
    out = np.eye(4)
    out[:3, :3] = r.T
    out[:3, 3] = -(r.T @ m[:3, 3])
    return out


def yaw_matrix(yaw_rad: float) -> np.ndarray:
    return axis_rotation("Z", np.float64(yaw_rad))
