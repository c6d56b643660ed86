"""Request helpers for the server tests: post a scene's parts to ``/v1/refine``, check an ``ErrorBody`` reply, and
a gated model that holds a request in the server's queue."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import requests
import torch

from shared_schema.api import ErrorBody
from tests.server.conftest import Scene


def parts(sc: Scene, **over: bytes | None) -> dict[str, tuple[str, bytes, str]]:
    """The multipart parts of ``sc``; ``part=bytes`` replaces a part, ``part=None`` leaves it out."""
    f = {
        "image": ("i.png", sc.image_png, "image/png"),
        "instances": ("m.png", sc.instances_png, "image/png"),
        "annotations": ("a.json", sc.annotations, "application/json"),
    }
    for k, v in over.items():
        if v is None:
            f.pop(k)
        else:
            f[k] = (f"{k}.bin", v, "application/octet-stream")
    return f


def post(base: str, files, headers=None) -> requests.Response:  # type: ignore[no-untyped-def]
    return requests.post(base + "/v1/refine", files=files, headers=headers or {}, timeout=60)


def err(r: requests.Response, status: int, code: str, field: str | None = "__any__") -> str:
    """Assert ``r`` is an ``ErrorBody`` with this status, code (and field, unless ``"__any__"``); its message."""
    assert r.status_code == status, r.text
    body = ErrorBody.model_validate(r.json())
    assert body.error.code.value == code
    if field != "__any__":
        assert body.error.field == field
    assert body.error.message
    return body.error.message


class GatedModel(torch.nn.Module):
    """An identity generator that holds every batch until ``gate`` is set (at most 10 s)."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.gate.wait(10)
        return x


@contextlib.contextmanager
def parked_request(base: str, files: dict[str, tuple[str, bytes, str]], timeout_s: float) -> Iterator[Future]:
    """Post ``files`` in the background and wait (up to ``timeout_s``) until it sits in the server's queue
    (``refine_queue_depth 1``); yields the future of its response."""
    with ThreadPoolExecutor(1) as ex:
        first = ex.submit(post, base, files)
        deadline = time.time() + timeout_s
        while "refine_queue_depth 1" not in requests.get(base + "/metrics").text and time.time() < deadline:
            time.sleep(0.02)
        yield first
