"""Fixtures: a tiny real checkpoint, synthetic fisheye-like scenes with overlapping people, real uvicorn servers."""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import uvicorn
from PIL import Image

from refine_server.app import create_app
from refine_server.checkpoint import load_model, save_model
from refine_server.client import RefineClient, ServerUnavailable
from refine_server.imaging import encode_instances_png, encode_png
from refine_server.local_server import free_port
from refine_server.model_card import ModelCard
from refine_server.networks import ResnetGenerator
from refine_server.serve_cli import uvicorn_config
from refine_server.settings import Settings
from shared_schema.annotation import GeneratorInfo, annotation_from_instances
from shared_schema.camera import CameraModel

torch.set_num_threads(2)

CROP = 64


@dataclass
class Scene:
    rgb: np.ndarray  # (H, W, 3) uint8
    imap: np.ndarray  # (H, W) uint16
    annotations: bytes  # deliberately non-canonical JSON (indent 3, non-ASCII) to pin byte identity
    center: tuple[float, float]

    @property
    def image_png(self) -> bytes:
        return encode_png(self.rgb)

    @property
    def instances_png(self) -> bytes:
        return encode_instances_png(self.imap)


def make_scene(seed: int, size: int = 192, n: int = 5, ids: list[int] | None = None) -> Scene:
    """Noisy background + n overlapping elongated radial 'people' (ellipses), painted far-to-near."""
    rng = np.random.default_rng(seed)
    h = w = size
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    imap = np.zeros((h, w), np.uint16)
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    c = (w / 2.0, h / 2.0)
    ids = ids or list(range(1, n + 1))
    # cluster the people in one sector so that crops overlap
    base = rng.uniform(0, 2 * np.pi)
    for k in ids:
        a = base + rng.uniform(-0.6, 0.6)
        r = rng.uniform(0.12, 0.38) * size
        px, py = c[0] + r * np.sin(a), c[1] - r * np.cos(a)
        length, width = rng.uniform(0.12, 0.25) * size, rng.uniform(0.05, 0.09) * size
        ux, uy = np.sin(a), -np.cos(a)
        du = (xx - px) * ux + (yy - py) * uy
        dv = (xx - px) * uy * -1 + (yy - py) * ux
        m = (du / (length / 2)) ** 2 + (dv / (width / 2)) ** 2 <= 1.0
        imap[m] = k
        col = rng.integers(40, 220, 3)
        shade = (du[m] / length)[:, None] * 60
        rgb[m] = np.clip(col[None, :] + shade, 0, 255).astype(np.uint8)
    cam = CameraModel(width=w, height=h)
    gen = GeneratorInfo(version="test", config_name="tést ☃")
    ann = annotation_from_instances(imap, image_id=f"scene_{seed}", seed=seed, camera=cam, generator=gen)
    text = json.dumps(json.loads(ann.to_json()), indent=3, ensure_ascii=False) + "\n\n"
    return Scene(rgb, imap, text.encode("utf-8"), cam.center)


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    gen = ResnetGenerator(ngf=8, n_blocks=2, n_down=2)
    # make the random generator visibly change pixels
    card = ModelCard(
        model_id="tiny-test",
        architecture="resnet",
        hyperparameters={"ngf": 8, "n_blocks": 2},
        crop_size=CROP,
        training_data={"note": "random init for tests"},
    )
    d = tmp_path_factory.mktemp("ckpt")
    save_model(d, gen, card)
    return d


@contextlib.contextmanager
def running_server(settings: Settings, model=None) -> Iterator[str]:  # type: ignore[no-untyped-def]
    port = free_port()
    settings = settings.model_copy(update={"host": "127.0.0.1", "port": port})
    app = create_app(settings, model=model)
    server = uvicorn.Server(uvicorn_config(app, settings, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    base = f"http://127.0.0.1:{port}"
    try:
        RefineClient(base, timeout=1).wait_ready(timeout=30, interval=0.05, alive=t.is_alive)
    except ServerUnavailable:
        server.should_exit = True
        raise
    try:
        yield base
    finally:
        server.should_exit = True
        t.join(timeout=10)


@pytest.fixture(scope="session")
def server(checkpoint_dir: Path) -> Iterator[str]:
    s = Settings(model=str(checkpoint_dir), device="cpu", max_batch_crops=8, max_batch_wait_ms=5)
    with running_server(s) as base:
        yield base


@pytest.fixture(scope="session")
def strict_server(checkpoint_dir: Path) -> Iterator[str]:
    """Token + small limits."""
    s = Settings(
        model=str(checkpoint_dir),
        device="cpu",
        token="s3cret-token",
        max_body_bytes=300_000,
        max_pixels=1_000_000,
        max_persons=3,
    )
    with running_server(s) as base:
        yield base


@pytest.fixture(scope="session")
def tiny_model(checkpoint_dir: Path):  # type: ignore[no-untyped-def]
    return load_model(checkpoint_dir)


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
