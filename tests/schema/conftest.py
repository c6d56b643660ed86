"""Small synthetic annotated images built without Blender (pure numpy + shared_schema)."""

from __future__ import annotations

import numpy as np
import pytest

from shared_schema.annotation import COCO_KEYPOINTS, GeneratorInfo, Keypoint, PoseSource, SceneAnnotation
from shared_schema.annotation import Person as PersonRecord
from shared_schema.camera import CameraModel
from shared_schema.coco import encode_rle
from shared_schema.geometry import bbox_from_mask, keypoint_visibility, rotated_box_from_mask


def make_annotated_image(seed: int, size: int = 96, persons: int = 3) -> tuple[SceneAnnotation, np.ndarray]:
    """Ellipse 'persons' (possibly overlapping) with an instance map and a consistent annotation."""
    rng = np.random.default_rng(seed)
    cam = CameraModel(width=size, height=size)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    inst = np.zeros((size, size), dtype=np.uint16)
    records = []
    for k in range(1, persons + 1):
        cx, cy = rng.uniform(0.2 * size, 0.8 * size, 2)
        a, b = rng.uniform(4, 12), rng.uniform(8, 18)
        inst[((xx - cx) / a) ** 2 + ((yy - cy) / b) ** 2 <= 1.0] = k
    for k in range(1, persons + 1):
        mask = inst == k
        if not mask.any():
            continue
        rows, cols = np.nonzero(mask)
        head = (float(cols.mean() + 0.5), float(rows.mean() + 0.5))
        kp_xy = np.stack([cols[:17] + 0.5, rows[:17] + 0.5], axis=1) if len(rows) >= 17 else np.tile(head, (17, 1))
        vis = keypoint_visibility(kp_xy, inst, k)
        records.append(
            PersonRecord(
                instance_id=k,
                posture="standing",
                head_2d=head,
                head_3d=(0.0, 0.0, 1.6),
                bbox=bbox_from_mask(mask),
                rotated_box=rotated_box_from_mask(mask, cam.center),
                keypoints=[Keypoint(x=float(x), y=float(y), v=int(v)) for (x, y), v in zip(kp_xy, vis, strict=True)],
                area=int(mask.sum()),
                segmentation=encode_rle(mask),
                visible_fraction=1.0,
                position=(0.0, 0.0),
                pose=PoseSource(posture="standing", clip="02_01", frame=3),
            )
        )
    ann = SceneAnnotation(
        image_id=f"img_{seed:04d}",
        width=size,
        height=size,
        seed=seed,
        camera=cam,
        persons=records,
        generator=GeneratorInfo(version="test"),
    )
    assert len(COCO_KEYPOINTS) == 17
    return ann, inst


@pytest.fixture
def annotated_images() -> list[tuple[SceneAnnotation, np.ndarray]]:
    return [make_annotated_image(seed) for seed in range(4)]
