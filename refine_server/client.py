"""HTTP client of the refinement service. Imports only the standard library and ``requests`` (bundled with
Blender's Python), so the add-on and ``render_batch.py`` can use it inside Blender.

    client = RefineClient("http://127.0.0.1:8000", token=None)
    result = client.refine(image_png, instances_png, annotations_json)   # RefineResult
    open("refined.png", "wb").write(result.image_png)

Retries (with exponential backoff, honouring ``Retry-After``) on 503 and connection errors / timeouts; 4xx
answers raise at once. The token is sent as ``Authorization: Bearer`` and never printed or logged.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

__all__ = ["AuthError", "RefineClient", "RefineError", "RefineResult", "RequestRejected", "ServerUnavailable"]


class RefineError(Exception):
    """Base of every client error."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 field: str | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.message, self.status, self.code, self.field = message, status, code, field


class ServerUnavailable(RefineError):
    """Connection refused, timeouts or 503 (queue full / not ready), after all retries."""


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
    scope: str = ""  # where the look applied: person | frame
    look: str = ""  # which look: harmonize | fitted | both | off


def _error_fields(resp: requests.Response) -> tuple[str | None, str, str | None]:
    try:
        err = resp.json()["error"]
        return err.get("code"), err.get("message", ""), err.get("field")
    except Exception:
        return None, (resp.text or resp.reason or "")[:500], None


class RefineClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 60, retries: int = 4,
                 backoff: float = 0.5, session: requests.Session | None = None) -> None:  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.session = session or requests.Session()

    def __repr__(self) -> str:  # never shows the token
        return f"RefineClient({self.base_url!r}, token={'***' if self._token else None})"

    def _headers(self, accept: str = "application/json") -> dict[str, str]:
        h = {"Accept": accept}
        if self._token:
            h["Authorization"] = f"Bearer {self._token}"
        return h

    def _sleep(self, attempt: int, resp: requests.Response | None) -> None:
        delay = self.backoff * (2**attempt)
        if resp is not None:
            with contextlib.suppress(ValueError):
                delay = max(delay, min(float(resp.headers.get("Retry-After", "0")), 30.0))
        time.sleep(delay)

    def _request(self, method: str, path: str, **kw: Any) -> requests.Response:
        url = self.base_url + path
        last: str = ""
        for attempt in range(self.retries + 1):
            resp = None
            try:
                resp = self.session.request(method, url, timeout=self.timeout, **kw)
            except (requests.ConnectionError, requests.Timeout) as e:
                last = f"{type(e).__name__} contacting {url}"
            else:
                if resp.status_code != 503:
                    return resp
                code, msg, _ = _error_fields(resp)
                last = f"503 {code}: {msg}"
            if attempt < self.retries:
                self._sleep(attempt, resp)
        raise ServerUnavailable(f"refinement server unavailable after {self.retries + 1} attempts: {last}",
                                status=503 if last.startswith("503") else None)  # fmt: skip

    @staticmethod
    def _raise_for(resp: requests.Response) -> None:
        if resp.status_code < 400:
            return
        code, msg, fld = _error_fields(resp)
        text = f"{resp.status_code} {code}: {msg}" + (f" (field {fld})" if fld else "")
        if resp.status_code == 401:
            raise AuthError(text, status=401, code=code, field=fld)
        if 400 <= resp.status_code < 500:
            raise RequestRejected(text, status=resp.status_code, code=code, field=fld)
        raise RefineError(text, status=resp.status_code, code=code, field=fld)

    def refine(self, image_png: bytes, instances_png: bytes, annotations_json: bytes,
               persons: list[int] | None = None) -> RefineResult:  # fmt: skip
        """Refine one image; returns the refined PNG and the annotations (checked byte-identical)."""
        files: dict[str, Any] = {
            "image": ("image.png", image_png, "image/png"),
            "instances": ("instances.png", instances_png, "image/png"),
            "annotations": ("annotations.json", annotations_json, "application/json"),
        }
        if persons is not None:
            import json

            files["options"] = (None, json.dumps({"persons": list(persons)}), "application/json")
        resp = self._request("POST", "/v1/refine", files=files, headers=self._headers())
        self._raise_for(resp)
        try:
            body = resp.json()
            ann = body["annotations"].encode("utf-8")
            png = base64.b64decode(body["image_png_base64"], validate=True)
        except Exception as e:
            raise RefineError(f"malformed response from the server: {e}", status=resp.status_code) from e
        if ann != annotations_json or body.get("annotations_sha256") != hashlib.sha256(annotations_json).hexdigest():
            raise RefineError("server returned different annotations than sent", status=resp.status_code)
        return RefineResult(image_png=png, annotations=ann, model_id=body.get("model_id", ""),
                            timings=body.get("timings", {}), persons_refined=body.get("persons_refined", []),
                            image_id=body.get("image_id", ""), scope=body.get("scope", ""),
                            look=body.get("look", ""))  # fmt: skip

    def health(self) -> dict[str, Any]:
        """GET /healthz (raises ServerUnavailable when unreachable)."""
        resp = self._request("GET", "/healthz", headers=self._headers())
        self._raise_for(resp)
        return resp.json()

    def ready(self) -> bool:
        """True when /readyz answers 200 (model loaded and warmed up); one attempt, no retries."""
        try:
            resp = self.session.get(self.base_url + "/readyz", timeout=self.timeout, headers=self._headers())
        except (requests.ConnectionError, requests.Timeout):
            return False
        return resp.status_code == 200

    def model(self) -> dict[str, Any]:
        """GET /v1/models: the loaded model's card summary."""
        resp = self._request("GET", "/v1/models", headers=self._headers())
        self._raise_for(resp)
        return resp.json()

    def wait_ready(self, timeout: float = 60.0, interval: float = 0.2,
                   alive: Callable[[], bool] | None = None) -> None:  # fmt: skip
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
