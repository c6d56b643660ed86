"""Dependencies of the /v1 routes, in the order they run: bearer auth (before any body byte is read), content
negotiation, readiness, then the multipart body with every part bounded."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from shared_schema.api import ErrorCode, RefineOptions

from .errors import ApiError
from .guard import BodyAborted
from .ops import server_state
from .state import ServerState

PARTS = ("image", "instances", "annotations", "options")


def require_token(request: Request) -> None:
    """401 unless ``Authorization: Bearer <token>`` matches (when a token is configured)."""
    token = server_state(request).settings.token_value
    if not token:
        return
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        raise ApiError(
            ErrorCode.UNAUTHORIZED, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


def negotiate(request: Request) -> str:
    """'json' or 'png' from the Accept header; 406 otherwise."""
    accept = request.headers.get("accept", "")
    if not accept.strip():
        return "json"
    for part in accept.split(","):
        mime = part.split(";")[0].strip().lower()
        if mime in ("application/json", "application/*", "*/*"):
            return "json"
        if mime in ("image/png", "image/*"):
            return "png"
    raise ApiError(ErrorCode.NOT_ACCEPTABLE, f"cannot produce {accept!r}; use application/json or image/png")


def ready_state(request: Request) -> ServerState:
    """The server state once the model is loaded; 503 + Retry-After before."""
    state = server_state(request)
    if not state.ready or state.batcher is None or state.card is None:
        raise ApiError(
            ErrorCode.NOT_READY, "model is loading", headers={"Retry-After": str(state.settings.retry_after_s)}
        )
    return state


@dataclass(frozen=True)
class RefineParts:
    """The parts of one ``POST /v1/refine`` body, each within its limit."""

    image: bytes
    instances: bytes
    annotations: bytes
    annotations_text: str
    options: RefineOptions


async def _part_bytes(form: FormData, name: str) -> bytes | None:
    v = form.get(name)
    if v is None:
        return None
    if isinstance(v, UploadFile):
        return await v.read()
    return str(v).encode("utf-8")


async def _read_form(request: Request, max_part_bytes: int) -> dict[str, bytes | None]:
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise ApiError(ErrorCode.MISSING_FIELD, "body must be multipart/form-data with image, instances, annotations")
    try:
        form = await request.form(max_files=8, max_fields=8, max_part_size=max_part_bytes)
    except BodyAborted:
        raise  # 408 / 413 answered by the guard
    except Exception as e:
        raise ApiError(ErrorCode.MISSING_FIELD, f"malformed multipart body: {e}") from e
    try:
        return {name: await _part_bytes(form, name) for name in PARTS}
    finally:
        await form.close()


async def refine_parts(request: Request, state: ServerState = Depends(ready_state)) -> RefineParts:
    """Read and check the multipart body (runs after auth, so an unauthenticated body is never read)."""
    s = state.settings
    got = await _read_form(request, s.max_annotations_bytes)
    for name in PARTS[:3]:
        if got[name] is None:
            raise ApiError(ErrorCode.MISSING_FIELD, f"multipart field {name!r} is required", name)
    annotations = got["annotations"] or b""
    if len(annotations) > s.max_annotations_bytes:
        raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE, "annotations part over the limit", "annotations")
    try:
        text = annotations.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError(ErrorCode.INVALID_ANNOTATIONS, "annotations are not UTF-8", "annotations") from e
    raw_options = got["options"]
    try:
        options = RefineOptions.model_validate_json(raw_options) if raw_options else RefineOptions()
    except ValidationError as e:
        raise ApiError(ErrorCode.INVALID_ANNOTATIONS, f"invalid options: {e.errors()[0]['msg']}", "options") from e
    return RefineParts(got["image"] or b"", got["instances"] or b"", annotations, text, options)
