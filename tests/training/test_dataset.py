"""Crop datasets use the server's geometry; rotated-box crops match mask crops; overlays; real data (if present)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from refine_server.crops import crop_from_rotated_box, plan_crops
from refine_server.training.dataset import (
    RealSource,
    crops_from_real,
    crops_from_rendered,
    head_from_rotated_box,
    load_real_source,
    read_instances,
    rotated_box_mask,
)

from .conftest import REAL_ROOT


def test_rendered_crops_are_the_servers(fake_synth):
    cs = crops_from_rendered(fake_synth, 32)
    assert cs.images.shape[1:] == (3, 32, 32) and len(cs) == 9
    assert cs.images.min() >= -1 and cs.images.max() <= 1
    m0 = cs.meta[0]
    imap = read_instances(fake_synth / "instances" / f"{m0['image_id']}.png")
    spec = plan_crops(imap, (64.0, 64.0))[0]
    assert spec.to_dict() == m0["spec"]
    # the whole person mask is inside the crop and covers a good part of it
    assert 0.05 < float(cs.masks[0].mean()) < 0.9


def test_rotated_box_crop_matches_server_crop(fake_synth, fake_real):
    """The same person cropped from its rotated box (real-frame path) and from its mask (server path)."""
    syn = crops_from_rendered(fake_real / "src", 32)
    real = crops_from_real(RealSource(fake_real / "ann.json", fake_real / "frames"), 32)
    assert len(syn) == len(real) > 0
    for ms, mr in zip(syn.meta, real.meta, strict=True):
        a, b = ms["spec"], mr["spec"]
        assert math.dist(a["center"], b["center"]) < 0.05 * a["size"] + 1.0
        assert abs(a["size"] - b["size"]) < 0.12 * a["size"] + 1.0
        assert abs((a["angle_deg"] - b["angle_deg"] + 180) % 360 - 180) < 3.0
    # pixels: same person, same upright orientation (JPEG noise and a slightly different square aside)
    diff = (syn.images - real.images).abs().mean(dim=(1, 2, 3))
    assert float(diff.mean()) < 0.15
    # and the direct call agrees with the helper
    ann = json.loads((fake_real / "ann.json").read_text())
    box = ann["annotations"][0]["bbox"]
    spec = crop_from_rotated_box(tuple(box), (80.0, 80.0), instance_id=1)
    assert spec.to_dict() == real.meta[0]["spec"]


def test_overlays_fill_and_drop(fake_real):
    base = {"annotations": str(fake_real / "ann.json"), "image_root": str(fake_real / "frames")}
    full = crops_from_real(load_real_source(base), 32)
    dropped = crops_from_real(load_real_source({**base, "overlays": [[0, 0, 160, 80]], "overlay_mode": "drop"}), 32)
    filled = crops_from_real(load_real_source({**base, "overlays": [[0, 0, 160, 80]]}), 32)
    assert len(dropped) < len(full) == len(filled)
    assert float(filled.masks.sum()) < float(full.masks.sum())
    jit = crops_from_real(load_real_source(base), 32, jitter=2)
    assert len(jit) == 3 * len(full)


def test_box_mask_and_head_rule(fake_synth):
    m = rotated_box_mask([50, 50, 10, 30, 0], (100, 100))
    assert m.sum() == 300 and m[50, 50] and not m[50, 60]
    hits = total = 0
    for p in sorted((fake_synth / "annotations").glob("*.json")):
        ann = json.loads(p.read_text())
        for q in ann["persons"]:
            h = head_from_rotated_box(q["rotated_box"], (64.0, 64.0), "outer")
            o = head_from_rotated_box(q["rotated_box"], (64.0, 64.0), "inner")
            hits += math.dist(h, q["head_2d"]) < math.dist(o, q["head_2d"])
            total += 1
    assert hits == total


@pytest.mark.skipif(not (REAL_ROOT / "cepdof_sample").is_dir(), reason="real_fisheye data absent")
def test_real_cepdof_crops():
    src = RealSource(
        REAL_ROOT / "cepdof_sample/annotations/video_0.json",
        REAL_ROOT / "cepdof_sample/video_0",
        name="cepdof",
        overlays=[[0, 0, 560, 110]],
        resize_to=512,
    )
    cs = crops_from_real(src, 32, max_images=1)
    assert len(cs) == 7 and cs.images.shape == (7, 3, 32, 32)
    assert torch.isfinite(cs.images).all() and float(cs.images.std()) > 0.05
    assert np.isclose(cs.meta[0]["box"][0], 1442.4975 / 4)
