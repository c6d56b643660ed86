"""Randomized MakeHuman people posed with CMU mocap (bpy layer).

Entry point for the scene code: :func:`make_person`. All sampling and maths live in ``..core`` (no bpy); this
module only turns a :class:`..core.person.BodyModel` into Blender data: the body mesh (vertex order = hm08, so
MakeHuman targets and weights apply), the cmu_mb armature with two keyframes (mocap frames t and t+δ at scene
frames ``frame`` and ``frame + motion_frames``) for real motion blur, procedural skin/clothing/hair materials and
hair/headwear meshes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..core.person import BodyModel, build_body
from . import build

__all__ = ["PersonHandle", "PersonParams", "make_person", "person_model", "sample_person_params"]


@dataclass
class PersonParams:
    """Everything needed to rebuild the person."""

    posture: str  # "standing" | "sitting"
    position: tuple[float, float]  # floor x, y in metres (pelvis/feet centre)
    yaw_deg: float  # 0 = facing -Y, counter-clockwise seen from above
    seat_height: float | None = None  # sitting: the underside of the buttocks rests at this height
    instance_id: int = 1
    seed: int = 0  # drives phenotype/appearance/pose sampling


@dataclass
class PersonHandle:
    objects: list
    mesh_object: object
    armature: object
    instance_id: int
    head_3d: tuple[float, float, float]
    keypoints_3d: list[tuple[float, float, float]]
    footprint: list[tuple[float, float]]
    sampled: dict
    frame: int = 1
    body: BodyModel | None = field(default=None, repr=False)
    _data: list = field(default_factory=list, repr=False)

    def world_vertices(self) -> np.ndarray:
        """(N, 3) posed, evaluated vertices of all the person's meshes at the rendered frame (sets that frame)."""
        return build.evaluated_vertices(self.objects, self.frame)

    def remove(self) -> None:
        """Delete the person's objects and their data blocks (meshes, armature, materials, actions)."""
        build.remove(self.objects, self._data)
        self.objects = []
        self._data = []


def sample_person_params(
    seed: int, posture: str | None = None, position=(0.0, 0.0), seat_height: float | None = None, instance_id: int = 1
) -> PersonParams:
    """Convenience: a random yaw (and posture if not given) from ``seed``."""
    from shared_schema.distributions import rng_for

    rng = rng_for(seed, "person_params")
    yaw = float(rng.uniform(0.0, 360.0))
    if posture is None:
        posture = "sitting" if (seat_height is not None and rng.random() < 0.5) else "standing"
    return PersonParams(
        posture,
        (float(position[0]), float(position[1])),
        yaw,
        seat_height if posture == "sitting" else None,
        instance_id,
        int(seed),
    )


def person_model(params: PersonParams, ranges=None) -> BodyModel:
    """The person's posed, dressed body as numpy data (no bpy): what :func:`make_person` realizes."""
    return build_body(params.posture, params.position, params.yaw_deg, params.seat_height, params.seed, ranges)


def make_person(
    params: PersonParams,
    ranges=None,
    *,
    collection=None,
    frame: int = 1,
    motion_frames: int = 1,
    body: BodyModel | None = None,
) -> PersonHandle:
    """Build one posed, dressed person in ``collection`` (default: the scene collection).

    Every object gets ``pass_index = params.instance_id``. The pose is keyed at ``frame`` (mocap frame t) and
    ``frame + motion_frames`` (t+δ) with linear interpolation and extrapolation; ``motion_frames=0`` keys only
    ``frame``. ``keypoints_3d``/``head_3d``/``footprint`` are for ``frame``. ``body``: the
    :func:`person_model` of the same ``params`` and ``ranges`` when already built.
    """
    if body is None:
        body = person_model(params, ranges)
    objects, data, mesh_obj, arm_obj = build.build_blender_person(
        body, f"person_{params.instance_id:03d}", collection, frame, motion_frames
    )
    for ob in objects:
        ob.pass_index = int(params.instance_id)
    sampled = dict(body.sampled)
    sampled["instance_id"] = int(params.instance_id)
    sampled["seat_height"] = params.seat_height
    return PersonHandle(
        objects=objects,
        mesh_object=mesh_obj,
        armature=arm_obj,
        instance_id=int(params.instance_id),
        head_3d=tuple(float(x) for x in body.head_point),
        keypoints_3d=[tuple(float(x) for x in p) for p in body.keypoints],
        footprint=[(float(x), float(y)) for x, y in body.footprint],
        sampled=_jsonable(sampled),
        frame=int(frame),
        body=body,
        _data=data,
    )


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
