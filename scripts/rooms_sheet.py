"""Render a sheet of whole procedural rooms (the office example) as the ceiling fisheye sees them.

    .venv/bin/python scripts/rooms_sheet.py [--out docs/rooms_sheet.png] [--n 6] [--seed 1] [--samples 16]

Renders ``--n`` seeded scenes of ``shared_schema/examples/office.json`` at 512 px into a temporary folder (floors,
walls and what hangs on them, furniture and clutter, people) and tiles them, ``--cols`` per row, ``--tile`` px
each. No real pixels: the docs image ``docs/rooms_sheet.png`` is made with the defaults.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def tile(paths: list[Path], cols: int, size: int):  # type: ignore[no-untyped-def]
    """One image of ``paths`` resized to ``size`` px squares, ``cols`` per row, black between."""
    from PIL import Image

    rows = (len(paths) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * size, rows * size))
    for k, p in enumerate(paths):
        im = Image.open(p).convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
        sheet.paste(im, ((k % cols) * size, (k // cols) * size))
    return sheet


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="docs/rooms_sheet.png")
    p.add_argument("--n", type=int, default=6, help="rooms (1-24)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--samples", type=int, default=16, help="Cycles samples per pixel")
    p.add_argument("--cols", type=int, default=3)
    p.add_argument("--tile", type=int, default=384, help="pixels per room on the sheet")
    a = p.parse_args(argv)
    if not (1 <= a.n <= 24 and 1 <= a.cols <= 8 and 64 <= a.tile <= 1024 and 1 <= a.samples <= 1024):
        p.error("--n 1-24, --cols 1-8, --tile 64-1024, --samples 1-1024")
    from blender_addon.pipeline import run_batch
    from shared_schema.config import example_config
    from shared_schema.dataset import atomic_write_bytes

    cfg = example_config("office")
    cam = cfg.camera.model_copy(update={"width": 512, "height": 512, "principal_point": None})
    cfg = cfg.model_copy(update={"camera": cam, "render": cfg.render.model_copy(update={"samples": a.samples})})
    with tempfile.TemporaryDirectory(prefix="rooms_sheet_") as tmp:
        res = run_batch(cfg, a.n, a.seed, Path(tmp), report=False)
        if res.failed:
            print(f"[rooms_sheet] error: renders failed: {res.failed}", file=sys.stderr)
            return 1
        sheet = tile(sorted((Path(tmp) / "images").glob("*.png")), a.cols, a.tile)
        buf = io.BytesIO()
        sheet.save(buf, format="PNG", optimize=True)
        atomic_write_bytes(Path(a.out), buf.getvalue())
    print(f"[rooms_sheet] wrote {a.out} ({a.n} rooms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
