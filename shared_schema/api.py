"""Models of the refinement HTTP API (``POST /v1/refine`` and friends)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorCode(StrEnum):
    """Machine-readable error codes; each maps to one HTTP status."""

    PAYLOAD_TOO_LARGE = "payload_too_large"  # 413
    INVALID_IMAGE = "invalid_image"  # 400: not an image, truncated, wrong mode
    DECOMPRESSION_BOMB = "decompression_bomb"  # 400
    MISSING_FIELD = "missing_field"  # 422
    INVALID_ANNOTATIONS = "invalid_annotations"  # 422
    SIZE_MISMATCH = "size_mismatch"  # 422
    UNKNOWN_INSTANCE = "unknown_instance"  # 422
    TOO_MANY_PERSONS = "too_many_persons"  # 422
    TOO_MANY_PIXELS = "too_many_pixels"  # 422
    UNAUTHORIZED = "unauthorized"  # 401
    QUEUE_FULL = "queue_full"  # 503
    NOT_READY = "not_ready"  # 503
    NOT_ACCEPTABLE = "not_acceptable"  # 406
    NOT_FOUND = "not_found"  # 404: no such route
    METHOD_NOT_ALLOWED = "method_not_allowed"  # 405
    INTERNAL = "internal"  # 500


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: ErrorCode
    message: str = Field(description="human-readable explanation")
    field: str | None = Field(None, description="the offending request field, e.g. 'instances'")


class ErrorBody(BaseModel):
    """Body of every non-2xx response."""

    model_config = ConfigDict(extra="forbid")
    error: ErrorDetail


class RefineOptions(BaseModel):
    """Optional ``options`` form field of ``POST /v1/refine`` (JSON)."""

    model_config = ConfigDict(extra="forbid")
    persons: list[int] | None = Field(None, description="refine only these instance ids (default: all)")


class Timings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decode_ms: float = 0.0
    queue_ms: float = 0.0
    crop_ms: float = 0.0
    generator_ms: float = 0.0
    reinsert_ms: float = 0.0
    look_ms: float = 0.0
    encode_ms: float = 0.0
    total_ms: float = 0.0


class RefineResponse(BaseModel):
    """JSON response of ``POST /v1/refine`` (``Accept: application/json``, the default).

    ``annotations`` is the annotations part exactly as sent, as a string: encoding it as UTF-8 gives the
    request's bytes back. ``image_png_base64`` is the refined RGB PNG.
    """

    model_config = ConfigDict(extra="forbid")
    image_id: str
    model_id: str
    persons_refined: list[int]
    width: int
    height: int
    image_png_base64: str
    annotations: str
    annotations_sha256: str
    timings: Timings
    scope: Literal["person", "frame"] = Field(
        "frame", description="where the camera look applied: 'person' = person pixels only (real photo background, "
        "every background pixel bit-identical), 'frame' = every pixel (rendered background)")
    look: str = Field("off", description="the look applied: harmonize | fitted | both | off")


class ModelCardSummary(BaseModel):
    """``GET /v1/models``: the loaded model."""

    model_config = ConfigDict(extra="allow")
    model_id: str
    architecture: str
    crop_size: int
    device: str
    card: dict[str, Any] = Field(default_factory=dict)


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str
    model_id: str | None = None
    detail: str | None = None
