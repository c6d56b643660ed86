"""Fit the garment palettes of rendered people to the people of a real site.

    python -m blender_addon.palette_fit --annotations boxes.json --images FRAMES_DIR --out palette.json

``boxes.json`` is COCO-like with CEPDOF rotated boxes (``images[].file_name``, ``annotations[].bbox = [cx, cy,
w, h, angle_deg]``). Pixels of each box's upper-body and legwear bands are clustered (k-means) into colour
families; the output is a complete ``AppearanceConfig`` (JSON) whose ``palettes.tops`` and ``palettes.bottoms``
are the fitted families (the rest stays at the defaults): put it at ``phenotype.appearance`` of a SceneConfig.
Nothing of the images is written, only colour statistics.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

MAX_BOXES = 100_000
MAX_IMAGE_PIXELS = 64_000_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m blender_addon.palette_fit",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--annotations", required=True, type=Path, help="COCO-like JSON with rotated person boxes")
    p.add_argument("--images", required=True, type=Path, help="folder of the annotated frames")
    p.add_argument("--out", required=True, type=Path, help="AppearanceConfig JSON to write")
    p.add_argument("--families", type=int, default=8, help="colour families per palette (1-32, default 8)")
    p.add_argument("--pixels-per-box", type=int, default=200, help="pixels sampled per band and box (default 200)")
    p.add_argument("--seed", type=int, default=0, help="drives pixel sampling and k-means seeding")
    a = p.parse_args(argv)
    if not 1 <= a.families <= 32 or not 1 <= a.pixels_per_box <= 10_000:
        p.error("--families must be in 1..32 and --pixels-per-box in 1..10000")
    return a


def load_boxes(path: Path) -> dict[str, list[list[float]]]:
    """file name -> finite rotated boxes, from a COCO-like annotation file."""
    data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    names = {img["id"]: img["file_name"] for img in data["images"]}
    out: dict[str, list[list[float]]] = {}
    for ann in data["annotations"][:MAX_BOXES]:
        box = [float(v) for v in ann["bbox"]]
        if len(box) != 5 or not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
            raise ValueError(f"annotation {ann.get('id', '?')}: bbox must be 5 finite numbers [cx, cy, w, h, angle]")
        out.setdefault(names[ann["image_id"]], []).append(box)
    return out


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in the annotations")


def collect_pixels(boxes: dict[str, list[list[float]]], images: Path, per_box: int, seed: int) -> dict[str, np.ndarray]:
    """{"tops": (m, 3), "bottoms": (m, 3)} sRGB pixels of every box's bands."""
    from PIL import Image
    from tqdm import tqdm

    from shared_schema.distributions import rng_for

    from .core.palette_model import BOTTOM_BAND, TOP_BAND, band_points, sample_pixels

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    bands = {"tops": TOP_BAND, "bottoms": BOTTOM_BAND}
    got: dict[str, list[np.ndarray]] = {k: [] for k in bands}
    for i, (name, frame_boxes) in enumerate(tqdm(sorted(boxes.items()), desc="frames", unit="frame")):
        path = images / name
        if not path.is_file():
            raise FileNotFoundError(f"image {path} (named in the annotations) does not exist")
        with Image.open(path) as im:
            img = np.asarray(im.convert("RGB"))
        centre = np.array([img.shape[1] / 2, img.shape[0] / 2])
        rng = rng_for(seed, "palette_fit", i)
        for box in frame_boxes:
            for slot, band in bands.items():
                got[slot].append(sample_pixels(img, band_points(box, band, centre, per_box, rng)))
    return {k: np.concatenate(v) if v else np.zeros((0, 3)) for k, v in got.items()}


def fit(pixels: dict[str, np.ndarray], families: int, seed: int):
    """The AppearanceConfig with ``palettes.tops``/``bottoms`` fitted to ``pixels``."""
    from shared_schema.config import AppearanceConfig
    from shared_schema.distributions import rng_for

    from .core.palette_model import fit_families

    cfg = AppearanceConfig()
    fitted = {slot: fit_families(px, families, rng_for(seed, "kmeans", slot)) for slot, px in pixels.items()}
    palettes = cfg.palettes.model_validate({**cfg.palettes.model_dump(), **fitted})
    return cfg.model_copy(update={"palettes": palettes})


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    from shared_schema.dataset import atomic_path

    try:
        boxes = load_boxes(a.annotations)
        if not boxes:
            raise ValueError(f"{a.annotations} has no person boxes")
        cfg = fit(collect_pixels(boxes, a.images, a.pixels_per_box, a.seed), a.families, a.seed)
    except (OSError, ValueError, KeyError, TypeError) as e:
        msg = f"missing field {e}" if isinstance(e, KeyError) else str(e)
        print(f"palette_fit: error: {msg}", file=sys.stderr)
        return 2
    with atomic_path(a.out) as tmp:
        tmp.write_text(json.dumps(cfg.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    n = sum(len(v) for v in boxes.values())
    print(
        json.dumps(
            {
                "boxes": n,
                "frames": len(boxes),
                "out": str(a.out),
                "tops": [(f.name, f.weight) for f in cfg.palettes.tops],
                "bottoms": [(f.name, f.weight) for f in cfg.palettes.bottoms],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
