"""The Blender side of people placement (imports bpy): the ``fits`` callback that builds a candidate body and
checks its posed mesh against the furniture and the people within reach (the narrow phase)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from mathutils.bvhtree import BVHTree

from ..core.placement import BodyFit, BodyQuery, FloorObstacle
from ..core.scene_description import FRAME, RoomDescription
from .room import add_obstacle


def scene_depsgraph(scene):
    """The evaluated depsgraph of ``scene`` (not necessarily the context's scene)."""
    dg = scene.view_layers[0].depsgraph
    dg.update()
    return dg


def world_triangles(ob, depsgraph) -> tuple[np.ndarray, np.ndarray] | None:
    """World vertices (N, 3) and triangles (T, 3) of an object's evaluated (posed) mesh; None when empty."""
    if ob.type != "MESH":
        return None
    ev = ob.evaluated_get(depsgraph)
    me = ev.to_mesh()
    try:
        me.calc_loop_triangles()
        nv, nt = len(me.vertices), len(me.loop_triangles)
        if nv == 0 or nt == 0:
            return None
        co = np.empty(nv * 3, dtype=np.float64)
        me.vertices.foreach_get("co", co)
        tris = np.empty(nt * 3, dtype=np.int64)
        me.loop_triangles.foreach_get("vertices", tris)
        mw = np.array(ev.matrix_world, dtype=np.float64)
    finally:
        ev.to_mesh_clear()
    return co.reshape(-1, 3) @ mw[:3, :3].T + mw[:3, 3], tris.reshape(-1, 3)


def bvh_of_objects(objects, depsgraph) -> BVHTree | None:
    """A BVH of the evaluated (posed) meshes of ``objects`` in world coordinates (triangles)."""
    all_verts: list[np.ndarray] = []
    all_tris: list[np.ndarray] = []
    base = 0
    for ob in objects:
        got = world_triangles(ob, depsgraph)
        if got is None:
            continue
        all_verts.append(got[0])
        all_tris.append(got[1] + base)
        base += len(got[0])
    if not all_tris:
        return None
    return BVHTree.FromPolygons(
        np.concatenate(all_verts).tolist(), np.concatenate(all_tris).tolist(), all_triangles=True
    )


def humans_api():
    """(PersonParams, make_person): the humans package (MakeHuman bodies posed with CMU mocap)."""
    from ..humans import PersonParams, make_person

    return PersonParams, make_person


@dataclass
class BodyChecker:
    """The ``fits`` callback of :func:`..core.placement.place_people` for one Blender scene.

    Each query adds the stools generated since the previous one, builds the candidate body and checks its posed
    mesh against the obstacles and people within reach; a body that fits stays in the scene (``handles``)."""

    scene: Any
    room: RoomDescription
    phenotype: Any  # shared_schema PhenotypeRanges
    motion_blur: bool
    obstacle_objects: list
    obstacle_bvh: dict[str, BVHTree | None] = field(default_factory=dict)
    handles: list = field(default_factory=list)  # humans.PersonHandle of the people placed, in order
    person_bvh: list = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        dg = scene_depsgraph(self.scene)
        for ob, obj in zip(self.room.obstacles, self.obstacle_objects, strict=True):
            self.obstacle_bvh[ob.name] = bvh_of_objects([obj], dg)

    def add_obstacle(self, ob: FloorObstacle) -> None:
        """A generated obstacle (a stool) and its BVH."""
        obj = add_obstacle(self.scene, ob, self.room.color_of(ob))
        self.obstacle_objects.append(obj)
        self.obstacle_bvh[ob.name] = bvh_of_objects([obj], scene_depsgraph(self.scene))

    def build_body(self, query: BodyQuery):
        """The candidate's posed, dressed body in the scene (object index = its instance id)."""
        PersonParams, make_person = humans_api()
        p = query.spec.person
        params = PersonParams(
            posture=p.posture,
            position=p.position,
            yaw_deg=p.yaw_deg,
            seat_height=p.seat_height,
            instance_id=query.spec.instance_id,
            seed=query.spec.body_seed,
        )
        t0 = time.perf_counter()
        handle = make_person(
            params,
            self.phenotype,
            collection=self.scene.collection,
            frame=FRAME,
            motion_frames=1 if self.motion_blur else 0,
        )
        self.timings["make_person_s"] = self.timings.get("make_person_s", 0.0) + time.perf_counter() - t0
        self.timings["bodies_built"] = self.timings.get("bodies_built", 0) + 1
        for ob in handle.objects:
            ob.pass_index = query.spec.instance_id
        self.scene.frame_set(FRAME)
        return handle

    def overlaps(self, bvh: BVHTree, obstacles: list[str], people: tuple[int, ...]) -> bool:
        """Whether the body's BVH touches one of the named obstacles or people (their BVHs built on demand)."""
        if any(bvh.overlap(self.obstacle_bvh[name]) for name in obstacles):
            return True
        for i in people:
            if self.person_bvh[i] is None:
                self.person_bvh[i] = bvh_of_objects(self.handles[i].objects, scene_depsgraph(self.scene))
            if self.person_bvh[i] is not None and bvh.overlap(self.person_bvh[i]):
                return True
        return False

    def __call__(self, query: BodyQuery) -> BodyFit:
        for ob in query.new_obstacles:
            self.add_obstacle(ob)
        handle = self.build_body(query)
        obstacles = [n for n in query.near_obstacles if self.obstacle_bvh.get(n) is not None]
        bvh = None
        if obstacles or query.near_people:
            bvh = bvh_of_objects(handle.objects, scene_depsgraph(self.scene))
        if bvh is not None and self.overlaps(bvh, obstacles, query.near_people):
            handle.remove()
            return BodyFit(False)
        self.handles.append(handle)
        self.person_bvh.append(bvh)
        return BodyFit(True, handle.footprint)
