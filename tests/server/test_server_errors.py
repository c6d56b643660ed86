"""Every error path: status code, ErrorBody code/field/message; the server survives all of them."""

from __future__ import annotations

import json
import threading
import time
import warnings

import numpy as np
import requests
import torch
from PIL import Image

from refine_server.model_card import ModelCard
from refine_server.settings import Settings
from tests.server.conftest import make_scene, png_bytes, running_server
from tests.server.helpers import GatedModel, err, parked_request, parts, post

TOKEN = {"Authorization": "Bearer s3cret-token"}


def test_bad_images_are_400(server: str) -> None:
    sc = make_scene(20, n=2)
    assert "not a" in err(post(server, parts(sc, image=b"hello, not an image")), 400, "invalid_image", "image")
    png = sc.image_png
    assert "truncated" in err(post(server, parts(sc, image=png[: len(png) // 2])), 400, "invalid_image", "image")
    err(post(server, parts(sc, instances=b"\x89PNG\r\n\x1a\nxx")), 400, "invalid_image", "instances")
    # a valid image in a mode the part does not take is 422 (an RGB PNG as instances)
    err(post(server, parts(sc, instances=png)), 422, "unsupported_image", "instances")
    bomb = png_bytes(Image.new("L", (5000, 5000)))  # 25 Mpx in ~25 kB
    assert len(bomb) < 100_000
    assert "exceeds" in err(post(server, parts(sc, image=bomb)), 400, "decompression_bomb", "image")


def test_semantic_errors_are_422(server: str) -> None:
    sc = make_scene(21, n=3)
    err(post(server, parts(sc, annotations=None)), 422, "missing_field", "annotations")
    err(post(server, parts(sc, image=None)), 422, "missing_field", "image")
    err(post(server, parts(sc, annotations=b"{not json")), 422, "invalid_annotations", "annotations")
    err(post(server, parts(sc, annotations=b"\xff\xfe")), 422, "invalid_annotations", "annotations")
    small = png_bytes(Image.fromarray(sc.rgb[:100, :100]))
    assert "instances are" in err(post(server, parts(sc, image=small)), 422, "size_mismatch", "instances")
    other = make_scene(21, n=3, size=160)
    err(post(server, parts(sc, annotations=other.annotations)), 422, "size_mismatch", "annotations")
    imap = sc.imap.copy()
    imap[0:5, 0:5] = 77
    m = err(post(server, parts(sc, instances=png_bytes(Image.fromarray(imap)))), 422, "unknown_instance", "instances")
    assert "77" in m
    r = post(server, {**parts(sc), "options": (None, json.dumps({"persons": [99]}), "application/json")})
    err(r, 422, "unknown_instance", "options")
    r = requests.post(server + "/v1/refine", data=b"{}", headers={"Content-Type": "application/json"})
    err(r, 422, "missing_field")


def test_not_acceptable(server: str) -> None:
    err(post(server, parts(make_scene(22, n=1)), {"Accept": "text/html"}), 406, "not_acceptable")


def test_strict_server_auth_body_limit_pixels_persons(strict_server: str) -> None:
    sc = make_scene(23, n=5)
    err(post(strict_server, parts(sc)), 401, "unauthorized")
    r = post(strict_server, parts(sc), {"Authorization": "Bearer wrong"})
    err(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"
    err(requests.get(strict_server + "/v1/models"), 401, "unauthorized")
    assert requests.get(strict_server + "/healthz").status_code == 200  # probes stay open
    assert "5 persons" in err(post(strict_server, parts(sc), TOKEN), 422, "too_many_persons")
    big = np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8)  # ~480 kB PNG > 300 kB
    err(post(strict_server, parts(sc, image=png_bytes(Image.fromarray(big))), TOKEN), 413, "payload_too_large")

    # chunked upload without Content-Length is cut off while streaming
    def gen():  # type: ignore[no-untyped-def]
        yield b'--zz\r\nContent-Disposition: form-data; name="image"; filename="i.png"\r\n\r\n'
        for _ in range(40):
            yield b"x" * 10_000

    r = requests.post(
        strict_server + "/v1/refine", data=gen(), headers={**TOKEN, "Content-Type": "multipart/form-data; boundary=zz"}
    )
    err(r, 413, "payload_too_large")
    bomb = png_bytes(Image.new("RGB", (1100, 1000)))  # 1.1 Mpx > max_pixels 1 Mpx
    err(post(strict_server, parts(sc, image=bomb), TOKEN), 400, "decompression_bomb", "image")
    ok = make_scene(24, n=3)
    assert post(strict_server, parts(ok), TOKEN).status_code == 200  # still alive and well


def test_queue_full_is_503_with_retry_after() -> None:
    gate = threading.Event()
    card = ModelCard(model_id="slow", architecture="identity", crop_size=32)
    s = Settings(model="identity", device="cpu", max_queue_requests=1, warmup=False, retry_after_s=2)
    sc = make_scene(25, n=2)
    with running_server(s, model=(GatedModel(gate), card)) as base, parked_request(base, parts(sc), 10) as first:
        r = post(base, parts(sc))
        err(r, 503, "queue_full")
        assert r.headers["retry-after"] == "2"
        gate.set()
        assert first.result().status_code == 200
        assert 'status="503"' in requests.get(base + "/metrics").text


def test_internal_errors_are_500_and_the_server_survives() -> None:
    class Boom(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.abs().sum() > 0:
                raise RuntimeError("kaboom")
            return x

    card = ModelCard(model_id="boom", architecture="identity", crop_size=32)
    with running_server(Settings(model="identity", device="cpu"), model=(Boom(), card)) as base:
        sc = make_scene(26, n=2)
        err(post(base, parts(sc)), 500, "internal")
        assert requests.get(base + "/readyz").status_code == 200
        assert post(base, parts(sc)).status_code == 500  # worker thread still serves


def test_not_ready_while_loading(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from refine_server.app import create_app

    app = create_app(Settings(model=str(tmp_path / "missing"), device="cpu"))
    with TestClient(app) as c:
        time.sleep(0.2)
        r = c.get("/readyz")
        assert r.status_code == 503 and "no model" in r.json()["detail"]
        err(c.post("/v1/refine", files=parts(make_scene(27, n=1))), 503, "not_ready")
        assert c.get("/healthz").status_code == 200


def test_unknown_route_and_wrong_method_use_the_error_body(server: str) -> None:
    assert "no route" in err(requests.get(server + "/v1/nope", timeout=10), 404, "not_found")
    err(requests.get(server + "/v1/refine", timeout=10), 405, "method_not_allowed")
