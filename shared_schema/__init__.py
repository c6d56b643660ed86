"""Contracts shared by the Blender add-on, the refinement server and the tools.

Depends only on pydantic v2 and numpy, so it imports inside Blender's own Python (the extension bundles the
pydantic wheels) as well as in the server and the tests. Importing the package loads nothing but the version;
each name below is imported from its module on first use, so ``shared_schema.distributions`` (say) can be used
piece by piece.
"""

from __future__ import annotations

import importlib
from typing import Any

#: The project's version, written only here: pyproject.toml reads it (dynamic version), refine_server re-exports it,
#: and the add-on's bl_info / blender_manifest.toml and the image tags are checked against it (tests/deploy).
__version__ = "0.1.0"

_HOMES = {
    "COCO_KEYPOINTS": "annotation",
    "COCO_SKELETON": "annotation",
    "Keypoint": "annotation",
    "Obstacle": "annotation",
    "Person": "annotation",
    "PoseSource": "annotation",
    "SceneAnnotation": "annotation",
    "ErrorBody": "api",
    "ErrorCode": "api",
    "ErrorDetail": "api",
    "RefineOptions": "api",
    "RefineResponse": "api",
    "Timings": "api",
    "CameraModel": "camera",
    "polynomial_from_opencv_fisheye": "camera",
    "SceneConfig": "config",
    "example_config": "config",
    "rng_for": "distributions",
    "SCHEMA_VERSION": "versioning",
}

__all__ = sorted([*_HOMES, "__version__"])


def __getattr__(name: str) -> Any:
    """Import ``name`` from the module that defines it, once (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'shared_schema' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
