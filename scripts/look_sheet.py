"""Contact sheet of person crops: synthetic | refined | held-out real, from a ``bench/realism.py --out DIR`` run.

    .venv/bin/python scripts/look_sheet.py out/realism --out out/look_sheet.png            # with real crops
    .venv/bin/python scripts/look_sheet.py out/realism --modes rooms --no-real --out docs/look_rooms.png

Rows are people; columns synthetic, refined (the bench's ``refined/`` images) and, unless ``--no-real``, one real
crop of the held-out camera per row. Real crops show real people (research-only data): never commit a sheet made
with them; ``--no-real`` on ``rooms`` gives a sheet without any real pixel.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def to_u8(t) -> np.ndarray:  # type: ignore[no-untyped-def]
    return ((t.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bench_out", help="a bench/realism.py --out folder")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--modes", default="rooms,photo")
    p.add_argument("--rows", type=int, default=6, help="people per mode")
    p.add_argument("--size", type=int, default=128, help="crop side in pixels")
    p.add_argument("--no-real", action="store_true", help="leave out the real column (a sheet safe to publish)")
    p.add_argument("--real-config", default=str(ROOT / "configs" / "eval_heldout.json"))
    a = p.parse_args(argv)
    from refine_server.evaluation.cli import load_real_config
    from refine_server.training.dataset import CropSet, crops_from_real, crops_from_rendered

    columns: list[list[np.ndarray]] = [[], [], []]
    for mode in a.modes.split(","):
        root = Path(a.bench_out) / mode
        if not (root / "refined").is_dir():
            print(f"error: {root}/refined not found (run bench/realism.py --out {a.bench_out} first)", file=sys.stderr)
            return 2
        syn = crops_from_rendered(root, a.size)
        ref = crops_from_rendered(root, a.size, image_dir="refined")
        pick = np.linspace(0, len(syn) - 1, min(a.rows, len(syn))).round().astype(int)
        columns[0] += list(to_u8(syn.images[pick]))
        columns[1] += list(to_u8(ref.images[pick]))
    if not a.no_real:
        test, _, why = load_real_config(a.real_config)
        if not test:
            print(f"error: {why}", file=sys.stderr)
            return 2
        real = CropSet.concat([crops_from_real(s, a.size) for s in test])
        pick = np.linspace(0, len(real) - 1, len(columns[0])).round().astype(int)
        columns[2] = list(to_u8(real.images[pick]))
    cols = [c for c in columns if c]
    n, s, head = len(cols[0]), a.size, 20
    sheet = Image.new("RGB", (len(cols) * (s + 4), head + n * (s + 4)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for j, (title, col) in enumerate(zip(["synthetic", "refined", "real (held-out)"], cols, strict=False)):
        draw.text((j * (s + 4) + 4, 4), title, fill=(0, 0, 0))
        for i, crop in enumerate(col):
            sheet.paste(Image.fromarray(crop), (j * (s + 4), head + i * (s + 4)))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(a.out)
    print(f"wrote {a.out} ({n} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
