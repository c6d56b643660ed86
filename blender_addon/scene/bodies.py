"""The Blender side of people placement (imports bpy): the ``fits`` callback that builds a candidate body and
checks its posed mesh against the furniture and the people within reach (the narrow phase)."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
    return bvh_of_triangles(np.concatenate(all_verts), np.concatenate(all_tris))


def bvh_of_triangles(verts: np.ndarray, tris: np.ndarray) -> BVHTree:
    """A BVH of world vertices (N, 3) and triangles (T, 3)."""
    with _gc_paused():  # ~10^5 small lists: the cyclic GC would otherwise rescan the whole heap several times
        vert_list = np.asarray(verts, np.float64).tolist()
        tri_list = np.asarray(tris).astype(np.int32).tolist()
    return BVHTree.FromPolygons(vert_list, tri_list, all_triangles=True)


@contextmanager
def _gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def humans_api():
    """The humans package (MakeHuman bodies posed with CMU mocap), imported on first use."""
    from .. import humans

    return humans


@dataclass
class BodyChecker:
    """The ``fits`` callback of :func:`..core.placement.place_people` for one Blender scene.

    Each query adds the stools generated since the previous one, models the candidate body in numpy and checks its
    posed surface against the obstacles and people within reach; only a body that fits is built in Blender and
    stays in the scene (``handles``)."""

    scene: Any
    room: RoomDescription
    phenotype: Any  # shared_schema PhenotypeRanges
    motion_blur: bool
    obstacle_objects: list
    obstacle_bvh: dict[str, BVHTree | None] = field(default_factory=dict)  # built when first within reach
    handles: list = field(default_factory=list)  # humans.PersonHandle of the people placed, in order
    person_bvh: list = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    _object_of: dict = field(default_factory=dict, init=False, repr=False)  # obstacle name -> its object

    def __post_init__(self) -> None:
        self._object_of = {ob.name: o for ob, o in zip(self.room.obstacles, self.obstacle_objects, strict=True)}

    def add_obstacle(self, ob: FloorObstacle) -> None:
        """A generated obstacle (a stool)."""
        obj = add_obstacle(self.scene, ob, self.room.color_of(ob))
        self.obstacle_objects.append(obj)
        self._object_of[ob.name] = obj

    def obstacle_tree(self, name: str) -> BVHTree | None:
        """The obstacle's BVH (None for an empty mesh), built the first time a candidate comes within reach."""
        if name not in self.obstacle_bvh:
            self.obstacle_bvh[name] = bvh_of_objects([self._object_of[name]], scene_depsgraph(self.scene))
        return self.obstacle_bvh[name]

    def person_params(self, query: BodyQuery):
        p = query.spec.person
        return humans_api().PersonParams(
            posture=p.posture,
            position=p.position,
            yaw_deg=p.yaw_deg,
            seat_height=p.seat_height,
            instance_id=query.spec.instance_id,
            seed=query.spec.body_seed,
        )

    def body_model(self, params):
        """The candidate's posed, dressed body as numpy data (its collision surface, before any bpy)."""
        t0 = time.perf_counter()
        body = humans_api().person_model(params, self.phenotype)
        self._count("body_model_s", time.perf_counter() - t0)
        self._count("bodies_modelled", 1)
        return body

    def build_body(self, params, body):
        """The accepted candidate's body in the scene (object index = its instance id)."""
        t0 = time.perf_counter()
        handle = humans_api().make_person(
            params,
            self.phenotype,
            collection=self.scene.collection,
            frame=FRAME,
            motion_frames=1 if self.motion_blur else 0,
            body=body,
        )
        self._count("make_person_s", time.perf_counter() - t0)
        self._count("bodies_built", 1)
        for ob in handle.objects:
            ob.pass_index = params.instance_id
        return handle  # posed at FRAME by the builder's one frame_set after placement (not per person: O(n^2))

    def _count(self, key: str, value: float) -> None:
        self.timings[key] = self.timings.get(key, 0) + value

    def overlaps(self, bvh: BVHTree, obstacles: list[str], people: tuple[int, ...]) -> bool:
        """Whether the body's BVH touches one of the named obstacles or people (their BVHs built on demand)."""
        if any(bvh.overlap(self.obstacle_tree(name)) for name in obstacles):
            return True
        for i in people:
            if self.person_bvh[i] is None:
                self.person_bvh[i] = bvh_of_triangles(*self.handles[i].body.surface(0))
            if bvh.overlap(self.person_bvh[i]):
                return True
        return False

    def __call__(self, query: BodyQuery) -> BodyFit:
        for ob in query.new_obstacles:
            self.add_obstacle(ob)
        params = self.person_params(query)
        body = self.body_model(params)
        obstacles = [n for n in query.near_obstacles if self.obstacle_tree(n) is not None]
        bvh = None
        if obstacles or query.near_people:
            bvh = bvh_of_triangles(*body.surface(0))
            if self.overlaps(bvh, obstacles, query.near_people):
                return BodyFit(False)
        handle = self.build_body(params, body)
        self.handles.append(handle)
        self.person_bvh.append(bvh)
        return BodyFit(True, handle.footprint)
