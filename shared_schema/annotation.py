"""Per-image annotation record written beside every render (``annotations/<id>.json``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from .camera import CameraModel
from .finite import FiniteDict, StrictModel
from .versioning import SCHEMA_VERSION, check_schema_version

#: COCO-17 keypoint names, in COCO order.
COCO_KEYPOINTS: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
#: COCO-17 skeleton edges (1-based indices, as in the COCO person category).
COCO_SKELETON: tuple[tuple[int, int], ...] = (
    (16, 14),
    (14, 12),
    (17, 15),
    (15, 13),
    (12, 13),
    (6, 12),
    (7, 13),
    (6, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (9, 11),
    (2, 3),
    (1, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
    (5, 7),
)

Point2 = tuple[float, float]
Point3 = tuple[float, float, float]


_Strict = StrictModel


class Keypoint(_Strict):
    """A COCO keypoint: pixel position and visibility (0 outside the image, 1 occluded, 2 visible)."""

    x: float
    y: float
    v: Literal[0, 1, 2]


class PoseSource(_Strict):
    posture: Literal["standing", "sitting"]
    clip: str | None = Field(None, description="mocap clip id (standing) or None (procedural seated pose)")
    frame: int | None = None
    yaw_deg: float = 0.0
    params: FiniteDict = Field(default_factory=dict, description="any other sampled pose parameters")


class Person(_Strict):
    """One rendered person, everything measured from the render's own instance mask."""

    instance_id: int = Field(ge=1, le=65535)
    posture: Literal["standing", "sitting"]
    head_2d: Point2 | None = Field(None, description="head point in pixels; None when the head is not visible")
    head_3d: Point3 = Field(description="head centre in world metres")
    bbox: tuple[float, float, float, float] = Field(description="[x, y, w, h] of the visible mask, pixels")
    rotated_box: tuple[float, float, float, float, float] = Field(
        description="[cx, cy, w, h, angle_deg], clockwise, h >= w, long axis toward the image centre (CEPDOF)"
    )
    keypoints: list[Keypoint] = Field(description="COCO-17 keypoints, COCO order")
    keypoints_3d: list[Point3] = Field(default_factory=list, description="COCO-17 joints in world metres")
    area: int = Field(ge=0, description="visible mask pixels")
    segmentation: FiniteDict | None = Field(
        None, description="visible mask as compressed COCO RLE {size: [h, w], counts: str}"
    )
    visible_fraction: float = Field(ge=0.0, le=1.0, description="visible pixels / pixels with no occluder")
    position: Point2 = Field(description="floor position in metres")
    pose: PoseSource
    phenotype: FiniteDict = Field(default_factory=dict)
    appearance: FiniteDict = Field(default_factory=dict)

    @field_validator("keypoints")
    @classmethod
    def _seventeen(cls, v: list[Keypoint]) -> list[Keypoint]:
        if v and len(v) != len(COCO_KEYPOINTS):
            raise ValueError(f"expected {len(COCO_KEYPOINTS)} COCO keypoints, got {len(v)}")
        return v


class Obstacle(_Strict):
    name: str
    kind: str
    polygon: list[Point2] = Field(description="floor polygon, metres")
    height: float
    seat_height: float | None = None


class Lighting(_Strict):
    sun_strength: float
    sun_elevation_deg: float
    sun_azimuth_deg: float
    color_temperature_k: float
    world_strength: float
    area_lights: list[FiniteDict] = Field(default_factory=list)
    sun_angle_deg: float | None = Field(None, description="angular diameter of the sun/key light (shadow softness)")
    panels: list[FiniteDict] = Field(default_factory=list, description="ceiling panels (procedural rooms)")
    environment: FiniteDict = Field(default_factory=dict, description="world light: kind and parameters")
    photo_estimate: FiniteDict | None = Field(None, description="light estimated from the background photo")
    white_balance_gains: tuple[float, float, float] | None = Field(None, description="camera RGB gains applied")
    exposure_ev: float | None = Field(None, description="camera exposure applied to the render, stops")


class Background(_Strict):
    mode: Literal["procedural", "photo"]
    photo: str | None = None
    params: FiniteDict = Field(default_factory=dict)


class RenderInfo(_Strict):
    engine: str = "CYCLES"
    samples: int
    denoise: bool
    motion_blur: bool
    device: str = "CPU"
    blender_version: str = ""
    frame: int = 1


class GeneratorInfo(_Strict):
    name: str = "render-and-refine"
    version: str
    config_name: str = ""
    config_sha256: str = ""


class SceneAnnotation(_Strict):
    """Everything needed to use the image for training and to re-render it exactly."""

    schema_version: str = SCHEMA_VERSION
    image_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")
    width: int = Field(ge=1, le=16384)
    height: int = Field(ge=1, le=16384)
    seed: int = Field(ge=0)
    camera: CameraModel
    persons: list[Person] = Field(default_factory=list)
    obstacles: list[Obstacle] = Field(default_factory=list)
    lighting: Lighting | None = None
    background: Background | None = None
    render: RenderInfo | None = None
    generator: GeneratorInfo
    sampled: FiniteDict = Field(default_factory=dict, description="every other sampled parameter")

    _check_version = field_validator("schema_version")(check_schema_version)

    @model_validator(mode="after")
    def _consistent(self) -> SceneAnnotation:
        if (self.camera.width, self.camera.height) != (self.width, self.height):
            raise ValueError("camera width/height must equal the image width/height")
        ids = [p.instance_id for p in self.persons]
        if len(ids) != len(set(ids)):
            raise ValueError("persons: instance_id values must be unique")
        return self

    def person(self, instance_id: int) -> Person:
        for p in self.persons:
            if p.instance_id == instance_id:
                return p
        raise KeyError(instance_id)

    def to_json(self) -> str:
        """Canonical JSON (stable key order, 2-space indent): same content ⇒ same bytes."""
        return self.model_dump_json(indent=2) + "\n"


def annotation_from_instances(
    instances: object,
    *,
    image_id: str,
    seed: int = 0,
    camera: CameraModel | None = None,
    generator: GeneratorInfo | None = None,
) -> SceneAnnotation:
    """A minimal annotation for an instance map (H, W; 0 = background) made by another tool, e.g. to refine its
    renders through ``POST /v1/refine``: one standing person per id with the boxes and area of its mask, no
    keypoints, 3-D data or pose source; the camera defaults to an equidistant fisheye filling the frame."""
    import numpy as np

    from .geometry import bbox_from_mask, rotated_box_from_mask

    imap = np.asarray(instances)
    h, w = imap.shape[:2]
    cam = camera or CameraModel(width=w, height=h)
    persons = []
    for k in sorted(int(v) for v in np.unique(imap) if v):
        m = imap == k
        persons.append(
            Person(
                instance_id=k,
                posture="standing",
                head_3d=(0.0, 0.0, 1.7),
                bbox=bbox_from_mask(m),
                rotated_box=rotated_box_from_mask(m, cam.center),
                keypoints=[],
                area=int(m.sum()),
                visible_fraction=1.0,
                position=(0.0, 0.0),
                pose=PoseSource(posture="standing"),
            )
        )
    gen = generator or GeneratorInfo(version="external")
    return SceneAnnotation(image_id=image_id, width=w, height=h, seed=seed, camera=cam, persons=persons, generator=gen)
