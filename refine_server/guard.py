"""ASGI middleware guarding how a request body is read, and counting responses.

* 413 when the body is over ``max_body_bytes`` (by Content-Length before anything is read, or while streaming);
* 408 when the body stalls: more than ``idle_timeout_s`` between two chunks, or not whole ``total_timeout_s``
  after the headers arrived (a slowloris upload holds a connection for at most that long);
* any response started before the body was read whole (401, 413, 408, ...) carries ``Connection: close``, so the
  server stops reading from that client at once;
* every response is counted in ``Metrics`` by path and status.
"""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared_schema.api import ErrorCode

from .errors import error_response
from .metrics import Metrics

KNOWN_PATHS = frozenset({"/v1/refine", "/v1/models", "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"})


class BodyAborted(Exception):
    """Reading the body was stopped; ``code`` and ``message`` say why (routes must let it propagate)."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _header(scope: Scope, name: bytes) -> bytes | None:
    for k, v in scope.get("headers", []):
        if k == name:
            return bytes(v)
    return None


def _declared_length(scope: Scope) -> int | None:
    raw = _header(scope, b"content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


class _Exchange:
    """One request/response: the guarded ``receive`` and ``send``."""

    def __init__(self, guard: BodyGuard, scope: Scope, receive: Receive, send: Send) -> None:
        self.guard, self._receive, self._send = guard, receive, send
        self.status, self.started, self.received = 500, False, 0
        length = _declared_length(scope)
        self.body_done = length == 0 or (length is None and _header(scope, b"transfer-encoding") is None)
        self.deadline = time.monotonic() + guard.total_timeout_s

    async def receive(self) -> Message:
        if self.body_done:
            return await self._receive()  # later calls only wait for a disconnect: no timeout
        wait = min(self.guard.idle_timeout_s, self.deadline - time.monotonic())
        try:
            if wait <= 0:
                raise TimeoutError
            message = await asyncio.wait_for(self._receive(), wait)
        except TimeoutError:
            raise BodyAborted(ErrorCode.REQUEST_TIMEOUT, self._timeout_message()) from None
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.guard.max_body_bytes:
                raise BodyAborted(ErrorCode.PAYLOAD_TOO_LARGE, self.guard.too_large_message)
            self.body_done = not message.get("more_body", False)
        return message

    def _timeout_message(self) -> str:
        g = self.guard
        return (
            f"request body not received in time ({self.received} bytes; the body must arrive within "
            f"{g.total_timeout_s:g} s, with pauses under {g.idle_timeout_s:g} s)"
        )

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status, self.started = int(message["status"]), True
            if not self.body_done:
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
        await self._send(message)


class BodyGuard:
    """See the module docstring."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, idle_timeout_s: float, total_timeout_s: float, metrics: Metrics
    ) -> None:
        self.app, self.max_body_bytes, self.metrics = app, max_body_bytes, metrics
        self.idle_timeout_s, self.total_timeout_s = idle_timeout_s, total_timeout_s
        self.too_large_message = f"request body exceeds {max_body_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ex = _Exchange(self, scope, receive, send)
        try:
            length = _declared_length(scope)
            if length is not None and length > self.max_body_bytes:
                await self._answer(ex, scope, ErrorCode.PAYLOAD_TOO_LARGE, self.too_large_message)
                return
            try:
                await self.app(scope, ex.receive, ex.send)
            except BodyAborted as e:
                if not ex.started:
                    await self._answer(ex, scope, e.code, e.message)
        finally:
            path = scope.get("path", "")
            self.metrics.count_request(path if path in KNOWN_PATHS else "other", ex.status)

    @staticmethod
    async def _answer(ex: _Exchange, scope: Scope, code: ErrorCode, message: str) -> None:
        await error_response(code, message)(scope, ex.receive, ex.send)
