"""HTTP client of the refinement service, beside the contracts it speaks (:mod:`shared_schema.api`).

    client = RefineClient("http://127.0.0.1:8000", token=None)
    result = client.refine(image_png, instances_png, annotations_json)   # RefineResult
    open("refined.png", "wb").write(result.image_png)

``requests`` is an optional dependency (the ``render`` extra; Blender ships it): it is imported when a client is
created, so ``import shared_schema.client`` works without it. Replies are parsed with the response models
(:class:`~shared_schema.api.RefineResponse`, :class:`~shared_schema.api.ErrorBody`).

Retries (exponential backoff, honouring ``Retry-After`` up to :data:`MAX_RETRY_AFTER_S`) on 503/429 and on
connection errors / timeouts; other 4xx answers raise at once. The token is sent as ``Authorization: Bearer``
and never printed or logged.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .api import ErrorBody, Health, ModelCardSummary, RefineResponse

__all__ = [
    "MAX_RETRY_AFTER_S",
    "AuthError",
    "RefineClient",
    "RefineError",
    "RefineResult",
    "RequestRejected",
    "ServerUnavailable",
]

#: The longest ``Retry-After`` the client waits for before a retry (a larger value is cut to this).
MAX_RETRY_AFTER_S = 30.0
RETRY_STATUSES = frozenset({429, 503})


class RefineError(Exception):
    """Base of every client error."""

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.status, self.code, self.field = message, status, code, field


class ServerUnavailable(RefineError):
    """Connection refused, timeouts, or 503/429 (queue full / not ready), after all retries.
    ``status`` is None when the server could not be reached at all (a connection failure)."""

    @property
    def unreachable(self) -> bool:
        return self.status is None


class RequestRejected(RefineError):
    """The server rejected the request (4xx); ``code``/``field``/``message`` come from its ErrorBody."""


class AuthError(RequestRejected):
    """401: missing or wrong token."""


@dataclass
class RefineResult:
    image_png: bytes
    annotations: bytes
    model_id: str
    timings: dict[str, float] = field(default_factory=dict)
    persons_refined: list[int] = field(default_factory=list)
    image_id: str = ""
    scope: str = ""  # where the camera look applied: person | frame
    look: str = ""  # which look: harmonize | fitted | both | off


def _requests() -> Any:
    try:
        import requests
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RefineError("the refinement client needs `requests` (pip install 'render-and-refine[render]')") from exc
    return requests


def _error_fields(resp: Any) -> tuple[str | None, str, str | None]:
    """(code, message, field) of an error answer: its ErrorBody, or the start of its text."""
    try:
        err = ErrorBody.model_validate_json(resp.content).error
    except ValidationError:
        return None, (resp.text or resp.reason or "")[:500], None
    return err.code.value, err.message, err.field


def _retry_after(resp: Any) -> float:
    with contextlib.suppress(TypeError, ValueError):
        value = float(resp.headers.get("Retry-After", "0"))
        if value == value:  # not NaN
            return max(0.0, min(value, MAX_RETRY_AFTER_S))
    return 0.0


def parse_refine_response(content: bytes, annotations_json: bytes, status: int) -> RefineResult:
    """The :class:`RefineResult` of a 200 answer; raises :class:`RefineError` when the body does not match the
    contract or its annotations differ from those sent."""
    try:
        body = RefineResponse.model_validate_json(content)
        png = base64.b64decode(body.image_png_base64, validate=True)
    except (ValidationError, ValueError) as exc:
        raise RefineError(f"malformed response from the server: {str(exc)[:300]}", status=status) from None
    ann = body.annotations.encode("utf-8")
    if ann != annotations_json or body.annotations_sha256 != hashlib.sha256(annotations_json).hexdigest():
        raise RefineError("server returned different annotations than sent", status=status)
    return RefineResult(
        image_png=png,
        annotations=ann,
        model_id=body.model_id,
        timings=body.timings.model_dump(),
        persons_refined=list(body.persons_refined),
        image_id=body.image_id,
        scope=body.scope,
        look=body.look,
    )


class RefineClient:
    """``timeout``: seconds to wait for an answer; ``connect_timeout`` (default: ``timeout``): seconds to wait for
    the connection, so a host that drops packets fails fast. Both are per attempt."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = 60,
        retries: int = 4,
        backoff: float = 0.5,
        session: Any = None,
        connect_timeout: float | None = None,
    ) -> None:
        self._rq = _requests()
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self._timeouts = (timeout if connect_timeout is None else connect_timeout, timeout)
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.session = session or self._rq.Session()

    def __repr__(self) -> str:  # never shows the token
        return f"RefineClient({self.base_url!r}, token={'***' if self._token else None})"

    def _headers(self, accept: str = "application/json") -> dict[str, str]:
        h = {"Accept": accept}
        if self._token:
            h["Authorization"] = f"Bearer {self._token}"
        return h

    def _sleep(self, attempt: int, resp: Any) -> None:
        delay = self.backoff * (2**attempt)
        if resp is not None:
            delay = max(delay, _retry_after(resp))
        time.sleep(delay)

    def _request(self, method: str, path: str, **kw: Any) -> Any:
        url = self.base_url + path
        last, status = "", None
        for attempt in range(self.retries + 1):
            resp = None
            try:
                resp = self.session.request(method, url, timeout=self._timeouts, **kw)
            except (self._rq.ConnectionError, self._rq.Timeout) as e:
                last, status = f"{type(e).__name__} contacting {url}", None
            else:
                if resp.status_code not in RETRY_STATUSES:
                    return resp
                code, msg, _ = _error_fields(resp)
                last, status = f"{resp.status_code} {code}: {msg}", resp.status_code
            if attempt < self.retries:
                self._sleep(attempt, resp)
        raise ServerUnavailable(
            f"refinement server unavailable after {self.retries + 1} attempts: {last}", status=status
        )

    @staticmethod
    def _raise_for(resp: Any) -> None:
        if resp.status_code < 400:
            return
        code, msg, fld = _error_fields(resp)
        text = f"{resp.status_code} {code}: {msg}" + (f" (field {fld})" if fld else "")
        if resp.status_code == 401:
            raise AuthError(text, status=401, code=code, field=fld)
        if 400 <= resp.status_code < 500:
            raise RequestRejected(text, status=resp.status_code, code=code, field=fld)
        raise RefineError(text, status=resp.status_code, code=code, field=fld)

    def refine(
        self, image_png: bytes, instances_png: bytes, annotations_json: bytes, persons: list[int] | None = None
    ) -> RefineResult:
        """Refine one image; returns the refined PNG and the annotations (checked byte-identical)."""
        files: dict[str, Any] = {
            "image": ("image.png", image_png, "image/png"),
            "instances": ("instances.png", instances_png, "image/png"),
            "annotations": ("annotations.json", annotations_json, "application/json"),
        }
        if persons is not None:
            files["options"] = (None, json.dumps({"persons": list(persons)}), "application/json")
        resp = self._request("POST", "/v1/refine", files=files, headers=self._headers())
        self._raise_for(resp)
        return parse_refine_response(resp.content, annotations_json, resp.status_code)

    def _get(self, path: str, model: type[Health] | type[ModelCardSummary]) -> dict[str, Any]:
        resp = self._request("GET", path, headers=self._headers())
        self._raise_for(resp)
        try:
            return model.model_validate_json(resp.content).model_dump(mode="json")
        except ValidationError as exc:
            raise RefineError(f"malformed {path} answer: {str(exc)[:300]}", status=resp.status_code) from None

    def health(self) -> dict[str, Any]:
        """GET /healthz, checked against :class:`~shared_schema.api.Health` (ServerUnavailable when unreachable)."""
        return self._get("/healthz", Health)

    def ready(self) -> bool:
        """True when /readyz answers 200 (model loaded and warmed up); one attempt, no retries."""
        try:
            resp = self.session.get(self.base_url + "/readyz", timeout=self._timeouts, headers=self._headers())
        except (self._rq.ConnectionError, self._rq.Timeout):
            return False
        return resp.status_code == 200

    def model(self) -> dict[str, Any]:
        """GET /v1/models: the loaded model's card summary (:class:`~shared_schema.api.ModelCardSummary`)."""
        return self._get("/v1/models", ModelCardSummary)

    def wait_ready(self, timeout: float = 60.0, interval: float = 0.2, alive: Callable[[], bool] | None = None) -> None:
        """Poll /readyz until it answers 200. ``alive`` (e.g. ``lambda: proc.poll() is None``) stops the wait early
        with :class:`ServerUnavailable` when the server process has died."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if alive is not None and not alive():
                raise ServerUnavailable(f"the server process for {self.base_url} exited before it was ready")
            if self.ready():
                return
            time.sleep(interval)
        raise ServerUnavailable(f"server at {self.base_url} not ready within {timeout} s")
