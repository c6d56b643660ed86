"""Pose sampling (pure numpy): CMU mocap clips for standing people, a procedural seated pose for sitting ones.

Both produce, for two consecutive frames (t and t+δ, δ = one mocap frame at 15 fps), the cmu_mb global deltas
``g`` (2, B, 3, 3) and posed bone heads (2, B, 3) in world coordinates, already turned to ``yaw_deg`` (0 = facing -Y)
and moved to ``position``; standing poses are grounded (lowest foot vertex on z = 0), seated poses rest the
underside of the thighs/buttocks on ``seat_height``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import mhdata
from .bvh import axis_rotation, load_bvh
from .retarget import Skeleton, bone_transforms, deltas_from_source, pose_heads, retarget_bvh, skin

FOOT_BONES = ("LeftFoot", "RightFoot", "LeftToeBase", "RightToeBase")
SEAT_BONES = ("Hips", "LHipJoint", "RHipJoint", "LeftUpLeg", "RightUpLeg")


@lru_cache(maxsize=1)
def clip_index() -> tuple[dict, ...]:
    with open(mhdata.MOCAP_DIR / "INDEX.tsv", encoding="utf-8") as fh:
        return tuple(dict(r) for r in csv.DictReader(fh, delimiter="\t"))


def clip_path(name: str):
    return mhdata.MOCAP_DIR / name


@dataclass
class Pose:
    g: np.ndarray  # (2, B, 3, 3)
    heads: np.ndarray  # (2, B, 3)
    info: dict = field(default_factory=dict)

    def transforms(self, k: int, sk: Skeleton) -> tuple[np.ndarray, np.ndarray]:
        return bone_transforms(sk, self.g[k], self.heads[k])


def _dominant(weights: np.ndarray, sk: Skeleton, bones) -> np.ndarray:
    idx = [sk.index(b) for b in bones]
    return np.isin(np.argmax(weights, axis=1), idx)


def _place(g: np.ndarray, root: np.ndarray, yaw: float, anchor_xy: np.ndarray, position) -> tuple:
    rz = axis_rotation("Z", np.float64(yaw))
    g2 = np.einsum("ij,fbjk->fbik", rz, g)
    shifted = root - np.array([anchor_xy[0], anchor_xy[1], 0.0])
    root2 = shifted @ rz.T + np.array([position[0], position[1], 0.0])
    return g2, root2


def heading_correction(g_hips: np.ndarray) -> float:
    """Angle about Z that turns the hips' forward direction (-Y at rest) to -Y."""
    f = g_hips @ np.array([0.0, -1.0, 0.0])
    return -math.pi / 2 - math.atan2(f[1], f[0])


def standing_pose(
    sk: Skeleton,
    rest: np.ndarray,
    weights: np.ndarray,
    rng: np.random.Generator,
    position,
    yaw_deg: float,
    clip: str | None = None,
    frame: int | None = None,
) -> Pose:
    """A random CMU clip/frame retargeted onto ``sk``; ``rest`` are the body's rest vertices (N, 3)."""
    clips = clip_index()
    pick = clips[int(rng.integers(len(clips)))]["file"]
    clip = clip or pick
    bvh = load_bvh(str(clip_path(clip)))
    f_draw = int(rng.integers(bvh.n_frames - 1))
    frame = f_draw if frame is None else int(frame)
    g, root = retarget_bvh(sk, bvh, [frame, frame + 1])
    yaw = math.radians(yaw_deg) + heading_correction(g[0, sk.index("Hips")])
    g, root = _place(g, root, yaw, root[0, :2], position)
    heads = pose_heads(sk, g, root)
    feet = _dominant(weights, sk, FOOT_BONES)
    a, t = bone_transforms(sk, g[0], heads[0])
    dz = -skin(rest[feet], weights[feet], a, t)[:, 2].min()
    heads[:, :, 2] += dz
    return Pose(
        g,
        heads,
        {"kind": "mocap", "clip": clip, "frame": frame, "frame_next": frame + 1, "fps": round(1.0 / bvh.frame_time, 3)},
    )


def _seated_source(rng: np.random.Generator) -> dict:
    """Seated-pose parameters (degrees), drawn in a fixed order."""
    u = rng.uniform
    return {
        "pelvis_pitch": u(-5, 8),
        "lean_lower": u(-8, 12),
        "lean_upper": u(-8, 15),
        "head_pitch": u(-10, 30),
        "head_yaw": u(-35, 35),
        "leg_splay": u(0, 15),
        # upper arms hang 5-35° forward, elbows bent 50-100°: forearms towards the table, a phone or the lap (arms
        # nearly straight at 20° reached out like a sleepwalker's and met the table top)
        "l_arm_forward": u(5, 35),
        "r_arm_forward": u(5, 35),
        "l_elbow": u(50, 100),
        "r_elbow": u(50, 100),
        "l_arm_down": u(70, 85),
        "r_arm_down": u(70, 85),
        "sway_head": u(-4, 4),
        "sway_lean": u(-2, 2),
        "sway_arm": u(-4, 4),
    }


def _seated_world(p: dict, shin_tilt: float, thigh_drop: float, nxt: bool) -> dict[str, np.ndarray]:
    """World rotations of the BVH joints (BVH axes: Y up, facing +Z, left +X) for the seated pose."""

    def rx(d):
        return axis_rotation("X", np.float64(math.radians(d)))

    def ry(d):
        return axis_rotation("Y", np.float64(math.radians(d)))

    def rz(d):
        return axis_rotation("Z", np.float64(math.radians(d)))

    s = 1.0 if nxt else 0.0
    lean1 = p["lean_lower"] + s * p["sway_lean"]
    lean2 = lean1 + p["lean_upper"]
    w: dict[str, np.ndarray] = {
        "hip": rx(p["pelvis_pitch"]),
        "abdomen": rx(lean1),
        "chest": rx(lean2),
        "neck": rx(lean2 + 0.5 * p["head_pitch"]) @ ry(0.5 * (p["head_yaw"] + s * p["sway_head"])),
        "head": ry(p["head_yaw"] + s * p["sway_head"]) @ rx(lean2 + p["head_pitch"]),
        "lCollar": np.eye(3),
        "rCollar": np.eye(3),
        "lButtock": np.eye(3),
        "rButtock": np.eye(3),
    }
    for side, sign in (("l", 1.0), ("r", -1.0)):
        splay = sign * p["leg_splay"]
        w[f"{side}Thigh"] = ry(splay) @ rx(-90 + thigh_drop)
        w[f"{side}Shin"] = ry(splay) @ rx(-shin_tilt)
        w[f"{side}Foot"] = ry(splay)
        fwd = p[f"{side}_arm_forward"] + s * p["sway_arm"]
        down = p[f"{side}_arm_down"]
        w[f"{side}Shldr"] = rx(lean2 * 0.5) @ rx(-fwd) @ rz(-sign * down)
        w[f"{side}ForeArm"] = rx(-(fwd + p[f"{side}_elbow"])) @ rz(-sign * down)
        w[f"{side}Hand"] = w[f"{side}ForeArm"]
    return {k: v[None] for k, v in w.items()}


def seated_pose(
    sk: Skeleton,
    rest: np.ndarray,
    weights: np.ndarray,
    rng: np.random.Generator,
    position,
    yaw_deg: float,
    seat_height: float,
) -> Pose:
    params = _seated_source(rng)
    hip_z, knee_z = sk.heads[sk.index("LeftUpLeg"), 2], sk.heads[sk.index("LeftLeg"), 2]
    seat = _dominant(weights, sk, SEAT_BONES) & (rest[:, 2] > 0.5 * (hip_z + knee_z))  # buttocks, upper thighs
    feet = _dominant(weights, sk, FOOT_BONES)
    yaw = math.radians(yaw_deg)
    shin_tilt = thigh_drop = 0.0
    for _ in range(3):
        g = np.concatenate(
            [deltas_from_source(sk, _seated_world(params, shin_tilt, thigh_drop, k == 1)) for k in range(2)]
        )
        root = np.tile(sk.heads[sk.index("Hips")], (2, 1))
        g, root = _place(g, root, yaw, root[0, :2], position)
        heads = pose_heads(sk, g, root)
        a, t = bone_transforms(sk, g[0], heads[0])
        dz = seat_height - skin(rest[seat], weights[seat], a, t)[:, 2].min()
        heads[:, :, 2] += dz
        a, t = bone_transforms(sk, g[0], heads[0])
        foot_z = skin(rest[feet], weights[feet], a, t)[:, 2].min()
        knee = heads[0, sk.index("LeftLeg")]
        ankle = heads[0, sk.index("LeftFoot")]
        shin_len = float(np.linalg.norm(knee - ankle))
        thigh_len = float(np.linalg.norm(knee - heads[0, sk.index("LeftUpLeg")]))
        if abs(foot_z) < 0.01:
            break
        if foot_z < 0:  # seat low: feet forward (open the knee)
            need = max(0.25 * shin_len, shin_len * math.cos(math.radians(shin_tilt)) + foot_z)
            shin_tilt = math.degrees(math.acos(min(1.0, need / shin_len)))
        else:  # seat high: knees down until the feet reach the floor (at most 35°)
            drop = math.sin(math.radians(thigh_drop)) * thigh_len + foot_z
            thigh_drop = min(35.0, math.degrees(math.asin(min(1.0, drop / thigh_len))))
    params = {k: round(float(v), 4) for k, v in params.items()}
    params["shin_tilt"] = round(shin_tilt, 3)
    params["thigh_drop"] = round(thigh_drop, 3)
    return Pose(g, heads, {"kind": "seated", "seat_height": float(seat_height), "params": params})
