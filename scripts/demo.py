"""The main job end to end: render a few annotated scenes headless, refine them through a locally started
server with the bundled default model, and write images + COCO annotations + a visual report.

    .venv/bin/python scripts/demo.py --out out/demo [--count 4] [--resolution 256] [--samples 16]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from refine_server.client import ServerUnavailable
from refine_server.local_server import local_server

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "demo", help="dataset folder (default out/demo)")
    parser.add_argument("--config", default=str(ROOT / "shared_schema" / "examples" / "office.json"))
    parser.add_argument("--count", type=int, default=4, help="number of images (default 4)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--resolution", type=int, default=320)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--model", default=str(ROOT / "refine_server" / "models" / "default"))
    args = parser.parse_args(argv)

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    print(f"==> starting the refinement server on 127.0.0.1 (model {args.model})", flush=True)
    try:
        with local_server(["--model", args.model, "--device", "auto"], cwd=ROOT, env=env) as url:
            print(f"==> rendering {args.count} scenes into {args.out} and refining them through {url}", flush=True)
            cmd = [
                sys.executable,
                str(ROOT / "blender_addon" / "render_batch.py"),
                "--",
                "--config",
                args.config,
                "--count",
                str(args.count),
                "--seed",
                str(args.seed),
                "--out",
                str(args.out),
                "--resolution",
                str(args.resolution),
                "--samples",
                str(args.samples),
                "--refine-url",
                url,
            ]
            rc = subprocess.call(cmd, cwd=ROOT, env=env)
    except ServerUnavailable as exc:
        raise SystemExit(f"error: the refinement server did not start: {exc}") from None
    if rc == 3:  # render_batch: every image rendered, some not refined (their ids are on the line above)
        print(f"error: refinement failed for some images; renders are kept in {args.out}", file=sys.stderr)
        return rc
    if rc != 0:
        print(f"error: rendering failed (exit code {rc}); finished images are kept in {args.out}", file=sys.stderr)
        return rc
    print(f"==> done: {args.out}/images, refined/, coco.json, rotated_boxes.json, report.html")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
