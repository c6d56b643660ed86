"""Fixtures: a tiny fake rendered dataset (images / 16-bit instances / annotation JSON) and a tiny real source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shared_schema.geometry import rotated_box_from_mask

REAL_ROOT = (Path(__file__).resolve().parents[2] / "../shared/data/real_fisheye").resolve()


def make_fake_dataset(root: Path, n_images: int = 3, size: int = 128, seed: int = 0, tint: float = 0.0) -> Path:
    """Blobby 'people' (ellipse body + round head, head farther from the centre) on a textured floor."""
    rng = np.random.default_rng(seed)
    for d in ("images", "instances", "annotations"):
        (root / d).mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    c = size / 2.0
    for i in range(n_images):
        iid = f"{seed:06d}_{i:06d}"
        img = (rng.normal(120, 10, (size, size, 3)) + tint).clip(0, 255)
        imap = np.zeros((size, size), np.uint16)
        persons = []
        for k in range(1, 4):
            r, a = rng.uniform(0.18, 0.38) * size, rng.uniform(0, 2 * np.pi)
            px, py = c + r * np.sin(a), c - r * np.cos(a)
            ux, uy = np.sin(a), -np.cos(a)  # outward
            L, W = size * 0.10, size * 0.05
            du, dv = (xx - px) * ux + (yy - py) * uy, (xx - px) * -uy + (yy - py) * ux
            body = (du / L) ** 2 + (dv / W) ** 2 <= 1
            hx, hy = px + ux * L * 1.1, py + uy * L * 1.1
            head = (xx - hx) ** 2 + (yy - hy) ** 2 <= (W * 0.9) ** 2
            m = (body | head) & (imap == 0)
            imap[m] = k
            img[body & m] = rng.uniform(30, 220, 3)
            img[head & m] = (200, 160, 130)
            rb = rotated_box_from_mask(m, (c, c))
            persons.append(
                {"instance_id": k, "head_2d": [float(hx), float(hy)], "rotated_box": list(rb), "area": int(m.sum())}
            )
        Image.fromarray(img.astype(np.uint8)).save(root / "images" / f"{iid}.png")
        Image.fromarray(imap).save(root / "instances" / f"{iid}.png")
        ann = {
            "image_id": iid,
            "width": size,
            "height": size,
            "camera": {"principal_point": [c, c]},
            "persons": persons,
        }
        (root / "annotations" / f"{iid}.json").write_text(json.dumps(ann))
    return root


def make_fake_real(root: Path, n_images: int = 2, size: int = 160, seed: int = 1) -> Path:
    """A CEPDOF-style COCO JSON with rotated boxes over fake 'real' frames (JPEG, noisier, warmer)."""
    fake = make_fake_dataset(root / "src", n_images, size, seed, tint=25.0)
    images, anns = [], []
    (root / "frames").mkdir(parents=True, exist_ok=True)
    for p in sorted((fake / "annotations").glob("*.json")):
        a = json.loads(p.read_text())
        im = Image.open(fake / "images" / f"{a['image_id']}.png")
        im.save(root / "frames" / f"{a['image_id']}.jpg", quality=70)
        images.append({"file_name": f"{a['image_id']}.jpg", "id": a["image_id"], "width": size, "height": size})
        for q in a["persons"]:
            anns.append({"bbox": q["rotated_box"], "image_id": a["image_id"], "category_id": 1})
    (root / "ann.json").write_text(
        json.dumps({"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]})
    )
    return root


@pytest.fixture(scope="session")
def fake_synth(tmp_path_factory) -> Path:
    return make_fake_dataset(tmp_path_factory.mktemp("synth"))


@pytest.fixture(scope="session")
def fake_real(tmp_path_factory) -> Path:
    return make_fake_real(tmp_path_factory.mktemp("real"))


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Tiny tensors on a shared 2-core box: one intra-op thread is several times faster than two."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
