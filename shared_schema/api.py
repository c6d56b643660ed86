"""Models of the refinement HTTP API (``POST /v1/refine`` and friends)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .finite import STRICT_CONFIG, FiniteDict


class ErrorCode(StrEnum):
    """Machine-readable error codes; each maps to one HTTP status (:data:`HTTP_STATUS`)."""

    PAYLOAD_TOO_LARGE = "payload_too_large"  # 413
    INVALID_IMAGE = "invalid_image"  # 400: not an image, truncated, corrupt
    DECOMPRESSION_BOMB = "decompression_bomb"  # 400
    UNSUPPORTED_IMAGE = "unsupported_image"  # 422: a valid image in a mode the server does not take (16-bit RGB)
    MISSING_FIELD = "missing_field"  # 422
    INVALID_ANNOTATIONS = "invalid_annotations"  # 422
    SIZE_MISMATCH = "size_mismatch"  # 422
    UNKNOWN_INSTANCE = "unknown_instance"  # 422
    PERSON_NOT_IN_MASK = "person_not_in_mask"  # 422: annotated with area > 0 but no pixel in the instance map
    TOO_MANY_PERSONS = "too_many_persons"  # 422
    TOO_MANY_PIXELS = "too_many_pixels"  # 422
    REQUEST_TOO_COSTLY = "request_too_costly"  # 422: estimated memory over the per-request bound
    UNAUTHORIZED = "unauthorized"  # 401
    REQUEST_TIMEOUT = "request_timeout"  # 408: the body did not arrive in time
    OVER_CAPACITY = "over_capacity"  # 429: requests in flight use the memory budget (Retry-After)
    QUEUE_FULL = "queue_full"  # 503
    NOT_READY = "not_ready"  # 503
    NOT_ACCEPTABLE = "not_acceptable"  # 406
    NOT_FOUND = "not_found"  # 404: no such route
    METHOD_NOT_ALLOWED = "method_not_allowed"  # 405
    INTERNAL = "internal"  # 500


#: The HTTP status of each error code.
HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.INVALID_IMAGE: 400,
    ErrorCode.DECOMPRESSION_BOMB: 400,
    ErrorCode.UNSUPPORTED_IMAGE: 422,
    ErrorCode.MISSING_FIELD: 422,
    ErrorCode.INVALID_ANNOTATIONS: 422,
    ErrorCode.SIZE_MISMATCH: 422,
    ErrorCode.UNKNOWN_INSTANCE: 422,
    ErrorCode.PERSON_NOT_IN_MASK: 422,
    ErrorCode.TOO_MANY_PERSONS: 422,
    ErrorCode.TOO_MANY_PIXELS: 422,
    ErrorCode.REQUEST_TOO_COSTLY: 422,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.REQUEST_TIMEOUT: 408,
    ErrorCode.OVER_CAPACITY: 429,
    ErrorCode.QUEUE_FULL: 503,
    ErrorCode.NOT_READY: 503,
    ErrorCode.NOT_ACCEPTABLE: 406,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.INTERNAL: 500,
}


class ErrorDetail(BaseModel):
    model_config = STRICT_CONFIG
    code: ErrorCode
    message: str = Field(description="human-readable explanation")
    field: str | None = Field(None, description="the offending request field, e.g. 'instances'")


class ErrorBody(BaseModel):
    """Body of every non-2xx response."""

    model_config = STRICT_CONFIG
    error: ErrorDetail


class RefineOptions(BaseModel):
    """Optional ``options`` form field of ``POST /v1/refine`` (JSON)."""

    model_config = STRICT_CONFIG
    persons: list[int] | None = Field(None, description="refine only these instance ids (default: all)")


class Timings(BaseModel):
    model_config = STRICT_CONFIG
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

    model_config = STRICT_CONFIG
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
        "frame",
        description="where the camera look applied: 'person' = person pixels only (real photo background, "
        "every background pixel bit-identical), 'frame' = every pixel (rendered background)",
    )
    look: str = Field("off", description="the look applied: harmonize | fitted | both | off")


class ModelCardSummary(BaseModel):
    """``GET /v1/models``: the loaded model."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    model_id: str
    architecture: str
    crop_size: int
    device: str
    card: FiniteDict = Field(default_factory=dict)


class Health(BaseModel):
    model_config = STRICT_CONFIG
    status: str
    model_id: str | None = None
    detail: str | None = None
