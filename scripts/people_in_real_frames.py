"""Side-by-side of rendered people in real frames: for each photo-mode render, the real frame it was rendered
into (left) beside the render (right), cropped around the rendered people so both real and rendered people show.

    .venv/bin/python bench/realism.py --synthetic-only --modes photo --out out/realism
    .venv/bin/python scripts/people_in_real_frames.py --renders out/realism/photo --out out/people_in_real_frames.png

The renders' backgrounds are real (research-only) frames: write the output outside the repository (``out/`` is
ignored), never commit it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def crop_box(persons: list[dict], size: int, margin: float) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) around every person's bbox, grown by ``margin`` of its size, inside the image."""
    boxes = np.array([p["bbox"] for p in persons], dtype=float)
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    x1, y1 = (boxes[:, 0] + boxes[:, 2]).max(), (boxes[:, 1] + boxes[:, 3]).max()
    pad = margin * max(x1 - x0, y1 - y0)
    return (max(0, int(x0 - pad)), max(0, int(y0 - pad)), min(size, int(x1 + pad)), min(size, int(y1 + pad)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--renders", type=Path, required=True, help="a photo-mode dataset folder (images/, annotations/)")
    ap.add_argument("--out", type=Path, required=True, help="PNG to write (outside the repository)")
    ap.add_argument("--rows", type=int, default=4)
    ap.add_argument("--row-height", type=int, default=320)
    a = ap.parse_args(argv)
    from PIL import Image

    from shared_schema.dataset import atomic_path

    if ROOT in a.out.resolve().parents and "out" not in a.out.resolve().relative_to(ROOT).parts[:1]:
        print("people_in_real_frames: error: write the image under out/ or outside the repository", file=sys.stderr)
        return 2
    anns = sorted((a.renders / "annotations").glob("*.json"))[: a.rows]
    if not anns:
        print(f"people_in_real_frames: error: no annotations in {a.renders / 'annotations'}", file=sys.stderr)
        return 2
    rows = []
    for path in anns:
        ann = json.loads(path.read_text(encoding="utf-8"))
        render = Image.open(a.renders / "images" / f"{path.stem}.png").convert("RGB")
        real = Image.open(ann["background"]["photo"]).convert("RGB").resize(render.size)
        box = crop_box(ann["persons"], render.size[0], 0.35) if ann["persons"] else (0, 0, *render.size)
        pair = [im.crop(box) for im in (real, render)]
        scale = a.row_height / pair[0].size[1]
        pair = [im.resize((max(1, int(im.size[0] * scale)), a.row_height)) for im in pair]
        rows.append(
            np.concatenate(
                [np.asarray(pair[0]), np.full((a.row_height, 6, 3), 255, np.uint8), np.asarray(pair[1])], axis=1
            )
        )
    width = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 6), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows])
    with atomic_path(a.out) as tmp:
        Image.fromarray(sheet).save(tmp, format="PNG")
    print(f"wrote {a.out} ({len(rows)} frames: real frame | the same frame with rendered people)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
