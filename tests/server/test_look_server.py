"""The look through a real server, in both scopes: person scope (real photo background) keeps every background
pixel; frame scope (rendered background) changes every pixel; annotations byte-identical in both; no pixel moves;
the server's output equals ``refine.refine_image`` in-process (one algorithm); a model without a look serves."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from refine_server.checkpoint import load_model, save_model
from refine_server.client import RefineClient
from refine_server.look import LookSpec
from refine_server.look.params import LookParams
from refine_server.refine import refine_image, scope_of
from refine_server.settings import Settings

from .conftest import make_scene, running_server

LOOK = LookParams(
    color_matrix=[[0.85, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.15]],
    blur_sigma=0.5,
    noise_a=0.002,
    noise_b=2e-4,
    jpeg_quality=75,
)


def with_background(annotations: bytes, mode: str) -> bytes:
    d = json.loads(annotations)
    d["background"] = {"mode": mode, "photo": "empty_room.jpg" if mode == "photo" else None, "params": {}}
    return (json.dumps(d, indent=3, ensure_ascii=False) + "\n").encode("utf-8")


def decode(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB")).copy()


@pytest.fixture(scope="module")
def look_model_dir(tmp_path_factory: pytest.TempPathFactory, checkpoint_dir: Path) -> Path:
    gen, card = load_model(checkpoint_dir)
    d = tmp_path_factory.mktemp("look_model")
    save_model(d, gen, card.model_copy(update={"model_id": "tiny-look", "look": LookSpec(params=LOOK)}))
    return d


@pytest.fixture(scope="module")
def look_server(look_model_dir: Path):  # type: ignore[no-untyped-def]
    with running_server(Settings(model=str(look_model_dir), device="cpu", max_batch_wait_ms=5)) as base:
        yield base


@pytest.mark.parametrize("mode", ["photo", "procedural"])
def test_scopes_background_and_annotations(look_server: str, look_model_dir: Path, mode: str) -> None:
    sc = make_scene(21, size=160, n=4)
    ann = with_background(sc.annotations, mode)
    res = RefineClient(look_server).refine(sc.image_png, sc.instances_png, ann)
    assert res.annotations == ann  # byte-identical (the client checks too)
    out, bg = decode(res.image_png), sc.imap == 0
    if mode == "photo":
        assert (res.scope, res.look) == ("person", "harmonize")
        assert np.array_equal(out[bg], sc.rgb[bg])  # every background pixel bit-identical
    else:
        assert (res.scope, res.look) == ("frame", "fitted")
        assert np.mean(out[bg] != sc.rgb[bg]) > 0.5  # the whole frame is synthetic: the look applies everywhere
    assert not np.array_equal(out[~bg], sc.rgb[~bg])
    assert res.timings["look_ms"] > 0
    gen, card = load_model(look_model_dir)
    d = json.loads(ann)
    local = refine_image(
        gen,
        sc.rgb,
        sc.imap,
        sc.center,
        card.crop_size,
        card.margin,
        look=card.look,
        scope=scope_of(d["background"]),
        seed=d["seed"],
    )
    assert np.array_equal(local, out)  # server, evaluate and bench run one algorithm
    again = RefineClient(look_server).refine(sc.image_png, sc.instances_png, ann)
    assert again.image_png == res.image_png  # seeded by the annotation's seed


def test_look_moves_no_pixel(tmp_path: Path, checkpoint_dir: Path) -> None:
    """Flat-coloured people on black: with a colour + noise look (no blur), thresholding the refined frame gives
    back exactly the instance masks; head points stay inside their person."""
    from refine_server.checkpoint import identity_model

    gen, card = identity_model(crop_size=64)
    look = LookParams(color_matrix=[[0.8, 0, 0], [0, 0.9, 0], [0, 0, 1.2]], noise_b=1e-5)
    card = card.model_copy(update={"look": LookSpec(params=look)})
    sc = make_scene(5, size=160, n=3)
    rgb = np.zeros_like(sc.rgb)
    rgb[sc.imap > 0] = 200
    ann = with_background(sc.annotations, "procedural")
    from refine_server.imaging import encode_png

    with running_server(Settings(model="identity", device="cpu"), model=(gen, card)) as base:
        res = RefineClient(base).refine(encode_png(rgb), sc.instances_png, ann)
    out = decode(res.image_png)
    assert res.scope == "frame"
    assert np.array_equal(out[..., 1] > 100, sc.imap > 0)
    for p in json.loads(ann)["persons"]:
        x0, y0, w, h = p["bbox"]
        assert (out[int(y0) : int(y0 + h), int(x0) : int(x0 + w), 1] > 100).any()


def test_model_without_look_serves_unchanged(server: str, tiny_model) -> None:  # type: ignore[no-untyped-def]
    gen, card = tiny_model
    assert card.look is None
    sc = make_scene(8, size=160, n=3)
    res = RefineClient(server).refine(sc.image_png, sc.instances_png, with_background(sc.annotations, "photo"))
    assert (res.scope, res.look) == ("person", "off")
    out = decode(res.image_png)
    local = refine_image(gen, sc.rgb, sc.imap, sc.center, card.crop_size, card.margin, scope="person")
    assert np.array_equal(out, local)
