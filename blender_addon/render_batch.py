"""Headless batch renderer: one code path for Blender and for the ``bpy`` wheel.

    blender -b --python-exit-code 1 -P blender_addon/render_batch.py -- --config office --count 100 --seed 1 --out DIR
    python blender_addon/render_batch.py -- --config my_room.json --count 100 --seed 1 --out DIR --shard 0/4

``--config`` is a SceneConfig JSON file or the name of a shipped example (``office``, ``shop``).

sys.path: this script puts the repository root first on ``sys.path`` (so ``blender_addon`` and ``shared_schema``
import from the checkout) and, when it runs inside a Blender whose Python minor version equals the one of the
repository's virtual environment (``.venv/lib/python3.X/site-packages``, or ``$R2_SITE_PACKAGES``), appends that
site-packages folder so pydantic imports; Blender's own modules keep precedence. Blender's Python must have
numpy (Debian: ``apt-get install blender python3-numpy``). Under ``blender -b -P`` always pass
``--python-exit-code 1``: without it Blender exits 0 when the script raises; this script also exits non-zero
itself (``sys.exit``) when any image failed.

Image ``index`` of a run with ``--seed S`` has id ``S_index`` (``image_id_for``) and its own seed
``rng_for(S, "image", index)``; ``--shard i/N`` renders the indices with ``index % N == i``, so N machines
writing to N folders (or one shared folder) produce disjoint outputs that merge by file name. ``--resume`` (on by
default) skips complete ids; every file is written atomically, so a killed run restarts cleanly. To merge
shard folders, copy them into one folder and run this script once more on it without ``--shard`` (same
``--count``/``--seed``): every id is complete, so it only rewrites coco.json, rotated_boxes.json and report.html.

Output: ``images/<id>.png`` (8-bit sRGB), ``instances/<id>.png`` (16-bit ids), ``annotations/<id>.json``
(SceneAnnotation), ``refined/<id>.png`` (with ``--refine-url``), ``coco.json``, ``rotated_boxes.json``,
``report.html``. One progress line per image, ``R2PROGRESS {json}`` (``blender_addon.jobs``).

With ``--refine-url``, each call is retried a bounded number of times (backoff, ``Retry-After``); after
``MAX_UNREACHABLE`` consecutive calls that cannot reach the server (or a refused token) the server is not called
again in this run, the renders go on, and the unrefined ids are listed at the end. Rerun the same command with the
server up to refine only those.

Exit status (``blender_addon.jobs.EXIT_*``): 0 every image of the shard rendered (and refined, when asked); 1 some
image failed to render; 2 bad input or numpy/pydantic missing; 3 every image rendered but some not refined.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The refinement token's one environment variable (the server reads the same one).
TOKEN_ENV = "REFINE_TOKEN"
#: The package this script belongs to: ``blender_addon`` in the repository, the add-on's name when installed.
PACKAGE = globals().get("__package__") or "blender_addon"


def setup_sys_path() -> list[str]:
    """Make ``blender_addon``/``shared_schema`` (and, inside Blender, the venv's pydantic) importable."""
    added = []
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
        added.append(str(REPO_ROOT))
    candidates = []
    if os.environ.get("R2_SITE_PACKAGES"):
        candidates.append(Path(os.environ["R2_SITE_PACKAGES"]))
    minor = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates.append(REPO_ROOT / ".venv" / "lib" / minor / "site-packages")
    try:
        import pydantic  # noqa: F401

        have_pydantic = True
    except ImportError:
        have_pydantic = False
    if not have_pydantic:
        for site in candidates:
            if site.is_dir() and str(site) not in sys.path:
                sys.path.append(str(site))
                added.append(str(site))
                break
    return added


def parse_args(argv: list[str]) -> argparse.Namespace:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    epilog = (
        "exit status: 0 every image rendered (and refined, with --refine-url); 1 some image failed to render; "
        "2 bad input; 3 every image rendered but some not refined (server unreachable or refusing): run the "
        "same command again to refine only those"
    )
    p = argparse.ArgumentParser(
        prog="render_batch.py", description="Render an annotated fisheye dataset.", epilog=epilog
    )
    p.add_argument("--config", required=True, help="SceneConfig JSON path, or an example name (office, shop)")
    p.add_argument("--count", type=int, required=True, help="number of images in the whole run (all shards)")
    p.add_argument("--seed", type=int, default=0, help="run seed; image i gets rng_for(seed, 'image', i)")
    p.add_argument("--out", required=True, help="output dataset folder")
    p.add_argument("--shard", default="0/1", help="i/N: render indices with index %% N == i")
    p.add_argument("--resolution", type=int, default=None, help="larger image side in pixels (default: config)")
    p.add_argument("--samples", type=int, default=None, help="Cycles samples (default: config)")
    p.add_argument("--device", choices=["auto", "cpu", "gpu"], default=None, help="override config.render.device")
    p.add_argument("--denoise", choices=["on", "off"], default=None, help="override config.render.denoise")
    refine_help = (
        f"refinement server base URL (POST each finished image); a bearer token, if the server needs "
        f"one, is read from ${TOKEN_ENV} (never from the command line, where ps shows it)"
    )
    p.add_argument("--refine-url", default=None, help=refine_help)
    p.add_argument("--resume", dest="resume", action="store_true", default=True, help="skip complete ids (default)")
    p.add_argument("--no-resume", dest="resume", action="store_false", help="re-render every id of the shard")
    p.add_argument("--no-report", dest="report", action="store_false", default=True, help="skip report.html")
    a = p.parse_args(argv)
    try:
        i, n = (int(x) for x in a.shard.split("/"))
    except ValueError:
        p.error(f"--shard must look like i/N, got {a.shard!r}")
    if n < 1 or not 0 <= i < n:
        p.error(f"--shard {a.shard}: need 0 <= i < N")
    a.shard = (i, n)
    if a.count < 0:
        p.error("--count must be >= 0")
    return a


class UsageError(Exception):
    """Bad input the user can fix; reported in one line, exit code 2."""


def load_config(spec: str):
    from pydantic import ValidationError

    from shared_schema.config import SceneConfig, example_config

    path = Path(spec)
    try:
        if path.suffix == ".json" or path.is_file():
            return SceneConfig.load(path)
        return example_config(spec)
    except (OSError, ValueError) as exc:  # missing file, unknown example, invalid JSON
        if isinstance(exc, ValidationError):
            errors = "; ".join(
                f"{'.'.join(str(x) for x in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:5]
            )
            raise UsageError(f"invalid scene config {spec}: {errors}") from None
        raise UsageError(f"cannot load scene config {spec!r}: {exc}") from None


def _check_dependencies() -> str | None:
    try:
        import numpy  # noqa: F401
        import pydantic  # noqa: F401
    except ImportError as exc:
        return (
            f"{exc}. This Python ({sys.version.split()[0]}, {sys.executable}) needs numpy and pydantic v2: "
            "install them for it, or point $R2_SITE_PACKAGES at a site-packages folder of the same Python "
            "minor version (the repository's .venv is used automatically when it matches)."
        )
    return None


def _with_overrides(config, args: argparse.Namespace):
    render = config.render
    if args.device:
        render = render.model_copy(update={"device": args.device})
    if args.denoise:
        render = render.model_copy(update={"denoise": args.denoise == "on"})
    return config.model_copy(update={"render": render})


def _report_end(res, jobs) -> int:
    """Print the summary (and the unrefined ids); return the exit code."""
    pipeline = importlib.import_module(f"{PACKAGE}.pipeline")
    print(f"[render_batch] summary {pipeline.dumps_summary(res)}", flush=True)
    if res.failed:
        print(
            f"[render_batch] ERROR: {len(res.failed)} image(s) failed to render: {' '.join(res.failed)}",
            file=sys.stderr,
            flush=True,
        )
        return jobs.EXIT_RENDER_FAILED
    if res.refine_failed:
        why = f" ({res.refine_gave_up})" if res.refine_gave_up else ""
        print(
            f"[render_batch] ERROR: {len(res.refine_failed)} image(s) rendered but not refined{why}; rerun the "
            f"same command with the server up to refine only these: {' '.join(sorted(res.refine_failed))}",
            file=sys.stderr,
            flush=True,
        )
        return jobs.EXIT_UNREFINED
    return jobs.EXIT_OK


def main(argv: list[str] | None = None) -> int:
    setup_sys_path()
    args = parse_args(list(sys.argv if argv is None else argv))
    jobs = importlib.import_module(f"{PACKAGE}.jobs")
    missing = _check_dependencies()
    if missing:
        print(f"[render_batch] ERROR: {missing}", file=sys.stderr, flush=True)
        return jobs.EXIT_USAGE
    import bpy  # noqa: F401  (Blender, or the bpy wheel)

    pipeline = importlib.import_module(f"{PACKAGE}.pipeline")
    try:
        config = _with_overrides(load_config(args.config), args)
    except UsageError as exc:
        print(f"[render_batch] ERROR: {exc}", file=sys.stderr, flush=True)
        return jobs.EXIT_USAGE
    t0 = time.perf_counter()

    def progress(info: dict) -> None:
        print(
            jobs.format_progress_line(
                info["done"],
                info["total"],
                image_id=info["image_id"],
                status=info["status"],
                seconds=info["seconds"],
                elapsed_s=round(time.perf_counter() - t0, 1),
                eta_s=info["eta_s"],
            ),
            flush=True,
        )

    res = pipeline.run_batch(
        config,
        args.count,
        args.seed,
        args.out,
        shard=args.shard,
        refine_url=args.refine_url,
        token=os.environ.get(TOKEN_ENV) or None,
        resume=args.resume,
        progress=progress,
        resolution=args.resolution,
        samples=args.samples,
        report=args.report,
    )
    return _report_end(res, jobs)


if __name__ == "__main__":
    try:
        code = main()
    except SystemExit:
        raise
    except BaseException as exc:  # unexpected: one clear line; the traceback only with R2_DEBUG=1
        print(
            f"[render_batch] ERROR: {type(exc).__name__}: {exc} (finished images are kept; set R2_DEBUG=1 "
            "for the traceback)",
            file=sys.stderr,
            flush=True,
        )
        if os.environ.get("R2_DEBUG") == "1":
            raise
        code = 1
    sys.exit(code)
