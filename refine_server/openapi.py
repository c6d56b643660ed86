"""The hand-written OpenAPI pieces of ``POST /v1/refine``: the multipart request body (parts, their content
types and this server's limits) and the two 200 media types."""

from __future__ import annotations

from typing import Any

from .settings import Settings


def _binary(description: str, max_bytes: int) -> dict[str, Any]:
    return {"type": "string", "format": "binary", "maxLength": max_bytes, "description": description}


def refine_openapi(settings: Settings) -> dict[str, Any]:
    """``openapi_extra`` of the refine route for a server running with ``settings``."""
    s = settings
    properties = {
        "image": _binary(
            "8-bit RGB PNG or JPEG (RGBA: alpha dropped; 16-bit PNG, palette, grey and CMYK images: 422), "
            f"at most {s.max_pixels} pixels",
            s.max_body_bytes,
        ),
        "instances": _binary(
            "instance PNG, 8-bit L or 16-bit grey, 0 = background, k = person k; the image's size; "
            f"at most {s.max_persons} persons to refine",
            s.max_body_bytes,
        ),
        "annotations": _binary(
            "SceneAnnotation JSON (UTF-8, finite numbers only); echoed byte-identical", s.max_annotations_bytes
        ),
        "options": {
            "type": "string",
            "maxLength": s.max_annotations_bytes,
            "description": 'optional RefineOptions JSON, e.g. {"persons": [1, 3]}',
        },
    }
    encoding = {
        "image": {"contentType": "image/png, image/jpeg"},
        "instances": {"contentType": "image/png"},
        "annotations": {"contentType": "application/json"},
        "options": {"contentType": "application/json"},
    }
    body_doc = (
        f"whole body at most {s.max_body_bytes} bytes (413), received within {s.body_timeout_s:g} s with pauses "
        f"under {s.body_idle_timeout_s:g} s (408); estimated working memory at most {s.max_request_mib:g} MiB per "
        f"request (422) and {s.memory_budget_mib:g} MiB for all requests in flight (429 + Retry-After)"
    )
    schema = {"type": "object", "required": ["image", "instances", "annotations"], "properties": properties}
    ok = {
        "description": "refined image (JSON with base64 PNG, or raw PNG via Accept)",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/RefineResponse"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
    }
    return {
        "requestBody": {
            "required": True,
            "description": body_doc,
            "content": {"multipart/form-data": {"schema": schema, "encoding": encoding}},
        },
        "responses": {"200": ok},
    }
