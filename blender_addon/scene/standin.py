"""Stand-in bodies with the humans package's interface (capsule body + sphere head), used only when
``blender_addon.humans`` is missing or fails to import. Imports bpy."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import bmesh
import bpy
import numpy as np
from mathutils import Matrix

from shared_schema.distributions import rng_for

from . import compat


@dataclass
class PersonParams:
    posture: str
    position: tuple[float, float]
    yaw_deg: float = 0.0
    seat_height: float | None = None
    instance_id: int = 1
    seed: int = 0


@dataclass
class PersonHandle:
    objects: list
    mesh_object: Any
    armature: Any
    instance_id: int
    head_3d: tuple[float, float, float]
    keypoints_3d: list[tuple[float, float, float]]
    footprint: list[tuple[float, float]]
    sampled: dict = field(default_factory=dict)

    def world_vertices(self) -> np.ndarray:
        out = []
        for ob in self.objects:
            m = np.array(ob.matrix_world)
            v = np.array([x.co for x in ob.data.vertices], dtype=np.float64)
            out.append(v @ m[:3, :3].T + m[:3, 3])
        return np.concatenate(out)

    def remove(self) -> None:
        for ob in list(self.objects):
            me = ob.data
            bpy.data.objects.remove(ob, do_unlink=True)
            if me is not None and me.users == 0:
                bpy.data.meshes.remove(me)


def _cube(bm, center, size, rot: Matrix) -> None:
    m = Matrix.Translation(center) @ rot @ Matrix.Diagonal((*size, 1.0))
    bmesh.ops.create_cube(bm, size=1.0, matrix=m)


def make_person(params: PersonParams, ranges=None, *, collection=None, frame: int = 1, motion_frames: int = 1):
    rng = rng_for(params.seed, "standin")
    height = float(rng.uniform(1.55, 1.9))
    yaw = math.radians(params.yaw_deg)
    rot = Matrix.Rotation(yaw, 4, "Z")
    bm = bmesh.new()
    x, y = params.position
    fwd = np.array([math.sin(yaw), -math.cos(yaw)])  # yaw 0 faces -Y (the humans package's convention)
    side = np.array([math.cos(yaw), math.sin(yaw)])
    if params.posture == "sitting":
        seat = params.seat_height or 0.45
        hip_z = seat + 0.08
        _cube(bm, (x, y, hip_z + 0.3), (0.22, 0.38, 0.6), rot)  # torso
        knee = np.array([x, y]) + fwd * 0.42
        _cube(bm, (*(np.array([x, y]) + fwd * 0.22), hip_z), (0.44, 0.36, 0.14), rot)  # thighs
        _cube(bm, (*knee, hip_z / 2), (0.12, 0.34, hip_z), rot)  # shins
        head = (x, y, hip_z + 0.75)
        hips = [(*(np.array([x, y]) + s * side * 0.1), hip_z) for s in (1, -1)]
        knees = [(*(knee + s * side * 0.1), hip_z) for s in (1, -1)]
        ankles = [(*(knee + s * side * 0.1), 0.08) for s in (1, -1)]
    else:
        hip_z = height * 0.52
        _cube(bm, (x, y, hip_z + 0.28), (0.22, 0.4, 0.58), rot)
        _cube(bm, (x, y, hip_z / 2), (0.18, 0.3, hip_z), rot)
        head = (x, y, height - 0.11)
        hips = [(*(np.array([x, y]) + s * side * 0.1), hip_z) for s in (1, -1)]
        knees = [(*(np.array([x, y]) + s * side * 0.1), hip_z / 2) for s in (1, -1)]
        ankles = [(*(np.array([x, y]) + s * side * 0.1), 0.08) for s in (1, -1)]
    bmesh.ops.create_uvsphere(bm, u_segments=12, v_segments=8, radius=0.11, matrix=Matrix.Translation(head))
    sh_z = head[2] - 0.25
    shoulders = [(*(np.array([x, y]) + s * side * 0.2), sh_z) for s in (1, -1)]
    elbows = [(*(np.array([x, y]) + s * side * 0.22 + fwd * 0.05), sh_z - 0.28) for s in (1, -1)]
    wrists = [(*(np.array([x, y]) + s * side * 0.22 + fwd * 0.15), sh_z - 0.5) for s in (1, -1)]
    me = bpy.data.meshes.new(f"standin_{params.instance_id}")
    bm.to_mesh(me)
    bm.free()
    ob = bpy.data.objects.new(f"person_{params.instance_id}", me)
    ob.pass_index = params.instance_id
    mat = bpy.data.materials.new(f"standin_{params.instance_id}")
    col = rng.uniform(0.1, 0.8, 3)
    mat.diffuse_color = (*col, 1.0)
    compat.ensure_nodes(mat)
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    if bsdf is not None:
        bsdf.inputs["Base Color"].default_value = (*col, 1.0)
    me.materials.append(mat)
    (collection or bpy.context.scene.collection).objects.link(ob)
    if motion_frames > 0:
        for f, dx in ((frame, 0.0), (frame + motion_frames, 0.01)):
            ob.location = (float(fwd[0] * dx), float(fwd[1] * dx), 0.0)
            ob.keyframe_insert("location", frame=f)
        ob.location = (0.0, 0.0, 0.0)
    h = np.array(head)
    eye = [tuple(h + np.r_[fwd * 0.09 + s * side * 0.03, 0.03]) for s in (1, -1)]
    ear = [tuple(h + np.r_[s * side * 0.1, 0.0]) for s in (1, -1)]
    nose = tuple(h + np.r_[fwd * 0.11, 0.0])
    kps = [nose, *eye, *ear, *shoulders, *elbows, *wrists, *hips, *knees, *ankles]
    fp = [(float(p[0]), float(p[1])) for p in np.array(ob.bound_box)[[0, 3, 7, 4]]]
    return PersonHandle(
        objects=[ob], mesh_object=ob, armature=None, instance_id=params.instance_id,
        head_3d=tuple(float(v) for v in h), keypoints_3d=[tuple(float(v) for v in p) for p in kps],
        footprint=fp,
        sampled={"standin": True, "height_m": round(height, 4), "color": [round(float(c), 4) for c in col]},
    )  # fmt: skip
