"""Invariants 1-3 through a real uvicorn server with a real (tiny) checkpoint."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import requests
import torch
from PIL import Image

from refine_server.crops import extract_crops, plan_crops, reinsert, to_model
from tests.server.conftest import Scene, make_scene


def _post(base: str, sc: Scene, accept: str = "application/json", **extra) -> requests.Response:  # type: ignore[no-untyped-def]
    files = {
        "image": ("i.png", sc.image_png, "image/png"),
        "instances": ("m.png", sc.instances_png, "image/png"),
        "annotations": ("a.json", sc.annotations, "application/json"),
    }
    files.update(extra)
    return requests.post(base + "/v1/refine", files=files, headers={"Accept": accept}, timeout=60)


def _decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_invariants_on_several_images_with_overlapping_people(server: str, tiny_model) -> None:  # type: ignore[no-untyped-def]
    gen, card = tiny_model
    scenes = [make_scene(seed, n=6) for seed in range(4)]
    with ThreadPoolExecutor(4) as ex:  # concurrent: crops of several requests share generator batches
        resps = list(ex.map(lambda sc: _post(server, sc), scenes))
    for sc, r in zip(scenes, resps, strict=True):
        assert r.status_code == 200, r.text
        body = r.json()
        # 1. annotations byte-identical
        assert body["annotations"].encode("utf-8") == sc.annotations
        assert body["annotations_sha256"] == hashlib.sha256(sc.annotations).hexdigest()
        assert body["model_id"] == "tiny-test"
        out = _decode(base64.b64decode(body["image_png_base64"]))
        assert out.shape == sc.rgb.shape
        # 2. background bit-identical
        bg = sc.imap == 0
        assert np.array_equal(out[bg], sc.rgb[bg])
        present = sorted(int(k) for k in np.unique(sc.imap) if k)
        assert body["persons_refined"] == present
        assert not np.array_equal(out[~bg], sc.rgb[~bg])  # the model did change the people
        # 3 + ownership: the server's output is the reference pipeline's (each person only from its own crop,
        # crops covering the whole mask — both pinned geometrically in test_crops.py)
        specs = plan_crops(sc.imap, sc.center, margin=card.margin)
        with torch.inference_mode():
            ref = reinsert(sc.rgb, sc.imap, specs, gen(extract_crops(to_model(sc.rgb), specs, card.crop_size)))
        diff = np.abs(out.astype(int) - ref.astype(int))
        assert diff.max() <= 1 and diff.mean() < 0.01
        t = body["timings"]
        assert t["total_ms"] >= t["generator_ms"] > 0


def test_raw_png_accept(server: str) -> None:
    sc = make_scene(11, n=3)
    r = _post(server, sc, accept="image/png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    out = _decode(r.content)
    assert np.array_equal(out[sc.imap == 0], sc.rgb[sc.imap == 0])
    assert r.headers["x-model-id"] == "tiny-test"
    assert r.headers["x-annotations-sha256"] == hashlib.sha256(sc.annotations).hexdigest()
    assert "generator_ms" in json.loads(r.headers["x-timings"])


def test_options_persons_and_8bit_instances(server: str) -> None:
    sc = make_scene(12, n=4)
    buf = io.BytesIO()
    Image.fromarray(sc.imap.astype(np.uint8)).save(buf, format="PNG")
    r = _post(
        server,
        sc,
        instances=("m.png", buf.getvalue(), "image/png"),
        options=(None, json.dumps({"persons": [2]}), "application/json"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["persons_refined"] == [2]
    out = _decode(base64.b64decode(body["image_png_base64"]))
    keep = sc.imap != 2
    assert np.array_equal(out[keep], sc.rgb[keep])


def test_no_people_returns_the_input(server: str) -> None:
    sc = make_scene(13, n=2)
    ann = json.loads(sc.annotations)
    for person in ann["persons"]:  # fully occluded: annotated, but no visible pixel
        person["area"] = 0
    sc = Scene(sc.rgb, np.zeros_like(sc.imap), json.dumps(ann).encode(), sc.center)
    r = _post(server, sc)
    assert r.status_code == 200
    assert np.array_equal(_decode(base64.b64decode(r.json()["image_png_base64"])), sc.rgb)


def test_ops_endpoints(server: str) -> None:
    assert requests.get(server + "/healthz").json()["status"] == "ok"
    assert requests.get(server + "/readyz").json() == {"status": "ready", "model_id": "tiny-test", "detail": None}
    m = requests.get(server + "/v1/models").json()
    assert m["model_id"] == "tiny-test" and m["crop_size"] == 64 and m["card"]["architecture"] == "resnet"
    assert len(m["card"]["sha256"]) == 64
    _post(server, make_scene(14, n=2))
    text = requests.get(server + "/metrics").text
    for name in (
        'refine_requests_total{path="/v1/refine",status="200"}',
        "refine_request_latency_seconds_bucket",
        "refine_queue_depth",
        "refine_batch_crops_bucket",
        "refine_generator_batch_seconds_count",
    ):
        assert name in text
    assert requests.get(server + "/docs").status_code == 200
    spec = requests.get(server + "/openapi.json").json()
    assert "/v1/refine" in spec["paths"]
    assert "multipart/form-data" in spec["paths"]["/v1/refine"]["post"]["requestBody"]["content"]
