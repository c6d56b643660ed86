"""palette_fit: k-means colour families from rotated person boxes (synthetic frames; CEPDOF when present)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from blender_addon import palette_fit
from blender_addon.core.palette_model import BOTTOM_BAND, TOP_BAND
from shared_schema.config import AppearanceConfig, PhenotypeRanges

CEPDOF = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real_fisheye" / "cepdof_sample"
RED, NAVY, DENIM, BLACK = (200, 30, 30), (20, 30, 80), (60, 85, 135), (15, 15, 15)


def _paint_person(img: np.ndarray, box, top, bottom) -> None:
    """Fill a rotated box: from the head end (farther from the centre) to the waist (between the fitted bands)
    ``top``, the rest ``bottom``."""
    cx, cy, w, h, a = box
    r = math.radians(a)
    up = np.array([math.sin(r), -math.cos(r)])
    centre = np.array(img.shape[1::-1]) / 2
    c = np.array([cx, cy])
    if np.linalg.norm(c + up * h / 2 - centre) < np.linalg.norm(c - up * h / 2 - centre):
        up = -up
    yy, xx = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    px, py = xx + 0.5 - cx, yy + 0.5 - cy
    u = px * math.cos(r) + py * math.sin(r)
    v = px * up[0] + py * up[1]  # toward the head
    inside = (np.abs(u) <= w / 2) & (np.abs(v) <= h / 2)
    waist = h * (0.5 - (TOP_BAND[1] + BOTTOM_BAND[0]) / 2)
    img[inside & (v > waist)] = top
    img[inside & (v <= waist)] = bottom


def _synthetic_site(tmp: Path, n_frames: int = 4, per_frame: int = 10) -> Path:
    rng = np.random.default_rng(0)
    images, anns = [], []
    for f in range(n_frames):
        img = np.full((320, 320, 3), 128, np.uint8)
        for k in range(per_frame):
            ang = 2 * math.pi * k / per_frame + rng.uniform(-0.1, 0.1)  # a ring of people that do not overlap
            rad = rng.uniform(100, 110)
            cx, cy = 160 + rad * math.sin(ang), 160 - rad * math.cos(ang)
            box = [cx, cy, 22.0, 50.0, math.degrees(ang)]
            i = f * per_frame + k
            _paint_person(img, box, RED if i % 10 < 7 else NAVY, DENIM if i % 2 else BLACK)
            anns.append({"id": i, "image_id": f"f{f}", "bbox": box, "category_id": 1})
        Image.fromarray(img).save(tmp / f"f{f}.png")
        images.append({"id": f"f{f}", "file_name": f"f{f}.png", "width": 320, "height": 320})
    path = tmp / "boxes.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": []}))
    return path


def test_fit_recovers_the_colour_shares_of_synthetic_people(tmp_path, capsys):
    ann = _synthetic_site(tmp_path)
    out = tmp_path / "palette.json"
    assert (
        palette_fit.main(["--annotations", str(ann), "--images", str(tmp_path), "--out", str(out), "--families", "2"])
        == 0
    )
    cfg = AppearanceConfig.model_validate_json(out.read_text())
    PhenotypeRanges(appearance=cfg)  # drops into a SceneConfig
    tops = {f.name: f for f in cfg.palettes.tops}
    assert set(tops) == {"red", "dark_blue"}
    assert tops["red"].weight == pytest.approx(0.7, abs=0.05)
    assert tops["red"].hue < 0.02 or tops["red"].hue > 0.98
    bottoms = {f.name: f.weight for f in cfg.palettes.bottoms}
    assert set(bottoms) == {"black", "blue"} and bottoms["black"] == pytest.approx(0.5, abs=0.05)
    assert cfg.palettes.shoes == AppearanceConfig().palettes.shoes  # not fitted: the defaults
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["boxes"] == 40


def test_bad_input_is_one_line_and_nonzero(tmp_path, capsys):
    ann = _synthetic_site(tmp_path, n_frames=1, per_frame=1)
    data = json.loads(ann.read_text())
    data["annotations"][0]["bbox"] = [1, 2, 3]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    assert (
        palette_fit.main(["--annotations", str(bad), "--images", str(tmp_path), "--out", str(tmp_path / "o.json")]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("palette_fit: error:") and "\n" not in err
    (tmp_path / "f0.png").unlink()
    assert (
        palette_fit.main(["--annotations", str(ann), "--images", str(tmp_path), "--out", str(tmp_path / "o.json")]) == 2
    )
    assert not (tmp_path / "o.json").exists()


@pytest.mark.skipif(not (CEPDOF / "annotations" / "video_0.json").is_file(), reason="no CEPDOF sample in ../shared")
def test_fit_on_the_cepdof_sample(tmp_path):
    out = tmp_path / "cepdof_palette.json"
    assert (
        palette_fit.main(
            [
                "--annotations",
                str(CEPDOF / "annotations" / "video_0.json"),
                "--images",
                str(CEPDOF / "video_0"),
                "--out",
                str(out),
                "--pixels-per-box",
                "60",
            ]
        )
        == 0
    )
    cfg = AppearanceConfig.model_validate_json(out.read_text())
    assert sum(f.weight for f in cfg.palettes.tops) == pytest.approx(1.0, abs=0.01)
    assert len(cfg.palettes.bottoms) == 8
