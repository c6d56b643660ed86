"""API errors: the exception routes raise, the ``ErrorBody`` response, and the app's exception handlers.

Every non-2xx body is a ``shared_schema.api.ErrorBody``; the status of each code is ``shared_schema.api.HTTP_STATUS``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared_schema.api import HTTP_STATUS, ErrorBody, ErrorCode, ErrorDetail

log = logging.getLogger("refine_server")

#: OpenAPI ``responses`` of the /v1 routes.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody, "description": d}
    for s, d in [
        (400, "invalid image / decompression bomb"),
        (401, "missing or wrong bearer token"),
        (406, "unsupported Accept"),
        (408, "the body did not arrive in time"),
        (413, "body over the limit"),
        (
            422,
            "missing field, invalid annotations, unsupported image mode, size mismatch, unknown instance, "
            "annotated person missing from the mask, too many persons, request too costly",
        ),
        (429, "memory budget in use by other requests (Retry-After)"),
        (503, "queue full or model not ready (Retry-After)"),
    ]
}


class ApiError(Exception):
    """An error answered with ``ErrorBody`` and the status of ``code``."""

    def __init__(
        self, code: ErrorCode, message: str, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.field, self.headers = code, message, field, headers or {}


def error_response(
    code: ErrorCode, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, field=field))
    return JSONResponse(body.model_dump(mode="json"), status_code=HTTP_STATUS[code], headers=headers)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.code, exc.message, exc.field, exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})  # 405 carries Allow
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
        return error_response(ErrorCode.METHOD_NOT_ALLOWED, message, headers=headers)
    if exc.status_code == 404:
        return error_response(ErrorCode.NOT_FOUND, f"no route {request.url.path}; see /docs", headers=headers)
    body = ErrorBody(error=ErrorDetail(code=ErrorCode.INTERNAL, message=str(exc.detail)))
    return JSONResponse(body.model_dump(mode="json"), status_code=exc.status_code, headers=headers)


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error")
    return error_response(ErrorCode.INTERNAL, f"internal error: {type(exc).__name__}")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal)
