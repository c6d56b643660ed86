"""Contracts shared by the Blender add-on, the refinement server and the tools.

Depends only on pydantic v2 and numpy, so it imports inside Blender's own Python (the extension bundles the
pydantic wheels) as well as in the server and the tests.
"""

from .annotation import COCO_KEYPOINTS, COCO_SKELETON, Keypoint, Obstacle, Person, PoseSource, SceneAnnotation
from .api import ErrorBody, ErrorCode, ErrorDetail, RefineOptions, RefineResponse, Timings
from .camera import CameraModel, polynomial_from_opencv_fisheye
from .config import SceneConfig, example_config
from .distributions import rng_for
from .versioning import SCHEMA_VERSION

#: The project's version, written only here: pyproject.toml reads it (dynamic version), refine_server re-exports it,
#: and the add-on's bl_info / blender_manifest.toml and the image tags are checked against it (tests/deploy).
__version__ = "0.1.0"

__all__ = [
    "COCO_KEYPOINTS",
    "COCO_SKELETON",
    "SCHEMA_VERSION",
    "CameraModel",
    "ErrorBody",
    "ErrorCode",
    "ErrorDetail",
    "Keypoint",
    "Obstacle",
    "Person",
    "PoseSource",
    "RefineOptions",
    "RefineResponse",
    "SceneAnnotation",
    "SceneConfig",
    "Timings",
    "__version__",
    "example_config",
    "polynomial_from_opencv_fisheye",
    "rng_for",
]
