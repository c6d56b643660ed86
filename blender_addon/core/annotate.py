"""Person records from one render's instance map and the scene's 3D points (pure numpy, no bpy).

Everything 2D is measured on the rendered instance map (after occlusion): bbox, rotated box, area, RLE
segmentation, keypoint visibility; 3D points are projected with the same :class:`CameraModel` the camera
was built from (invariant 5), so no value depends on anything but the render and the scene.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared_schema.annotation import Keypoint, Person, PoseSource
from shared_schema.coco import encode_rle
from shared_schema.geometry import bbox_from_mask, keypoint_visibility, rotated_box_from_mask

#: Head radius used to find a visible head pixel when the head centre's own pixel is covered.
HEAD_RADIUS_M = 0.11


@dataclass
class PersonInfo:
    """What the scene knows about a person (all JSON-serializable except the arrays)."""

    instance_id: int
    posture: str
    position: tuple[float, float]
    head_3d: tuple[float, float, float]
    keypoints_3d: list[tuple[float, float, float]]
    pose: dict[str, Any]
    phenotype: dict[str, Any] = field(default_factory=dict)
    appearance: dict[str, Any] = field(default_factory=dict)
    unoccluded_area: int | None = None


def _r(x: float, nd: int = 4) -> float:
    return float(round(float(x), nd))


def head_point(camera, head_3d, instance_map: np.ndarray, instance_id: int) -> tuple[float, float] | None:
    """Projected head centre when its pixel shows this person, else the nearest of its pixels within the
    head's projected radius, else None (head hidden)."""
    h, w = instance_map.shape
    p = camera.project(np.asarray([head_3d], dtype=np.float64))[0]
    if not np.isfinite(p).all():
        return None
    u, v = float(p[0]), float(p[1])
    c, r = int(np.floor(u)), int(np.floor(v))
    if 0 <= c < w and 0 <= r < h and instance_map[r, c] == instance_id:
        return (_r(u, 3), _r(v, 3))
    # projected head radius in pixels, from a point offset horizontally
    head = np.asarray(head_3d, dtype=np.float64)
    side = camera.project(np.asarray([head + np.array([HEAD_RADIUS_M, 0.0, 0.0])]))[0]
    rad = float(np.hypot(*(side - p))) if np.isfinite(side).all() else 3.0
    rad = max(1.5, rad)
    r0, r1 = max(0, int(v - rad) - 1), min(h, int(v + rad) + 2)
    c0, c1 = max(0, int(u - rad) - 1), min(w, int(u + rad) + 2)
    if r0 >= r1 or c0 >= c1:
        return None
    rows, cols = np.nonzero(instance_map[r0:r1, c0:c1] == instance_id)
    if rows.size == 0:
        return None
    cx, cy = cols + c0 + 0.5, rows + r0 + 0.5
    d = np.hypot(cx - u, cy - v)
    k = int(np.argmin(d))
    if d[k] > rad + 0.75:
        return None
    return (float(cx[k]), float(cy[k]))


def person_record(camera, instance_map: np.ndarray, info: PersonInfo) -> Person:
    """One :class:`Person` from the instance map (after occlusion) and the person's 3D points."""
    mask = instance_map == info.instance_id
    area = int(mask.sum())
    center = camera.center
    if area:
        bbox = bbox_from_mask(mask)
        rbox = tuple(_r(x, 3) for x in rotated_box_from_mask(mask, center))
        seg = encode_rle(mask)
    else:
        bbox, rbox, seg = (0.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0, 0.0), None
    kp3 = np.asarray(info.keypoints_3d, dtype=np.float64).reshape(-1, 3)
    kp2 = camera.project(kp3) if len(kp3) else np.zeros((0, 2))
    vis = keypoint_visibility(kp2, instance_map, info.instance_id, radius=1) if len(kp3) else np.zeros(0, int)
    keypoints = [
        Keypoint(x=_r(x, 3), y=_r(y, 3), v=int(v)) if v > 0 else Keypoint(x=0.0, y=0.0, v=0)
        for (x, y), v in zip(kp2, vis, strict=True)
    ]
    head = head_point(camera, info.head_3d, instance_map, info.instance_id) if area else None
    visible = min(1.0, area / info.unoccluded_area) if info.unoccluded_area else 1.0 if area else 0.0
    pose = dict(info.pose)
    return Person(
        instance_id=info.instance_id,
        posture=info.posture,  # type: ignore[arg-type]
        head_2d=head,
        head_3d=tuple(_r(x) for x in info.head_3d),  # type: ignore[arg-type]
        bbox=bbox,
        rotated_box=rbox,  # type: ignore[arg-type]
        keypoints=keypoints,
        keypoints_3d=[tuple(_r(x) for x in p) for p in kp3],  # type: ignore[misc]
        area=area,
        segmentation=seg,
        visible_fraction=_r(visible),
        position=(_r(info.position[0]), _r(info.position[1])),
        pose=PoseSource(
            posture=info.posture,  # type: ignore[arg-type]
            clip=pose.pop("clip", None),
            frame=pose.pop("frame", None),
            yaw_deg=_r(pose.pop("yaw_deg", 0.0)),
            params=pose,
        ),
        phenotype=info.phenotype,
        appearance=info.appearance,
    )


def persons_from_render(camera, instance_map: np.ndarray, infos: list[PersonInfo]) -> list[Person]:
    return [person_record(camera, instance_map, info) for info in sorted(infos, key=lambda i: i.instance_id)]
