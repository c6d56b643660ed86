"""Realism benchmark: how much closer to the held-out real camera does the refiner bring renders? ONE JSON line.

For each mode (``rooms``: procedural rendered rooms, whole frame synthetic; ``photo``: people rendered into real
frames of the held-out camera, resized to the render size) it renders scenes whose people are 40-100 px tall (the
office camera at 512 px, as CEPDOF frames resized to 512 px), refines every image through a locally started real
server (``python -m refine_server serve`` on 127.0.0.1, a free port) with the model under test, crops synthetic,
refined and held-out real people with the same geometry (``refine_server.training.dataset``; the model's crop size
and margin), and measures KID on FID-Inception features (``refine_server.evaluation``):

    KID(synthetic, real), KID(refined, real), their ratio (target <= 0.6), the real-vs-real floor (random halves
    of the real crops), n crops per set, and the server's median look / generator time per frame. ``--variant``
    adds more servers (other models or look settings) measured on the same renders in the same run.

Held-out real = ``configs/eval_heldout.json`` (CEPDOF Lunch3). Real frames are research-only: they are only read
from ``../shared/data`` and written (as photo backgrounds) under ``--out`` or a temporary folder, never into the
repository. Without them the benchmark prints ``{"skipped": reason}`` and exits 0.

    .venv/bin/python bench/realism.py [--model DIR] [--scenes 8] [--modes rooms,photo] [--synthetic-only]
        [--variant LABEL=ARGS] [--out out/realism]   # --out keeps renders, refined images and sample grids
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_MODEL = ROOT / "refine_server" / "models" / "default"
HELDOUT = ROOT / "configs" / "eval_heldout.json"
MODES = ("rooms", "photo")


def log(msg: str) -> None:
    print(f"[realism] {msg}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="model directory under test (default: bundled)")
    p.add_argument("--scenes", type=int, default=8, help="rendered scenes per mode")
    p.add_argument("--resolution", type=int, default=512, help="render size (people 40-100 px tall at 512)")
    p.add_argument("--samples", type=int, default=8, help="Cycles samples per pixel")
    p.add_argument("--seed", type=int, default=1, help="run seed (scenes, KID subsets, real halves)")
    p.add_argument("--out", default=None, help="keep renders / refined images / grids here (default: temporary)")
    p.add_argument("--modes", default="rooms,photo", help="comma list of: rooms, photo")
    p.add_argument("--synthetic-only", action="store_true", help="no server: only KID(synthetic, held-out real)")
    p.add_argument("--real-config", default=str(HELDOUT), help="held-out real sources (evaluate's format)")
    p.add_argument("--server-args", default="", help="extra `serve` arguments (e.g. --look harmonize)")
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL=ARGS",
        help="one more server (serve ARGS, e.g. '--look off' or '--model DIR') measured side by side in "
        "the same run on the same renders (repeatable)",
    )
    p.add_argument("--kid-subsets", type=int, default=100)
    p.add_argument(
        "--features",
        choices=["inception", "pixels"],
        default="inception",
        help="'pixels' is a fast stand-in for tests only, not a realism metric",
    )
    a = p.parse_args(argv)
    a.modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    a.variants = {}
    for v in a.variant:
        label, sep, extra = v.partition("=")
        if not sep or not label.isidentifier():
            p.error(f"--variant wants LABEL=ARGS with a plain LABEL, got {v!r}")
        a.variants[label] = extra.split()
    bad = [m for m in a.modes if m not in MODES]
    if bad or not a.modes:
        p.error(f"--modes: unknown {bad}; choose from {list(MODES)}")
    if not (1 <= a.scenes <= 500) or not (64 <= a.resolution <= 2048) or not (1 <= a.samples <= 4096):
        p.error("--scenes 1-500, --resolution 64-2048, --samples 1-4096")
    return a


@dataclass
class CropGeometry:
    size: int = 128
    margin: float = 0.15


def crop_geometry(model: str) -> CropGeometry:
    """The crop size and margin of the model under test (the server's geometry; 'identity': 128 px, 0.15)."""
    from refine_server.app import resolve_model_path
    from refine_server.checkpoint import load_card

    if model == "identity":
        return CropGeometry()
    card, _ = load_card(resolve_model_path(model))
    return CropGeometry(card.crop_size, card.margin)


# -- scenes -------------------------------------------------------------------------------------------------------
def write_photo_backgrounds(real_sources: list, resolution: int, out: Path) -> list[Path]:
    """The held-out camera's frames, overlays filled, resized to the render size (under ``out``: never the repo)."""
    from PIL import Image

    from refine_server.training.dataset import _fill_overlays, load_real_frame, real_records

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for src in real_sources:
        for rec, boxes in real_records(src):
            loaded = load_real_frame(src, rec, boxes)
            if loaded is None:
                continue
            rgb, _, overlays = loaded
            rgb, _ = _fill_overlays(rgb, overlays)
            im = Image.fromarray(rgb).resize((resolution, resolution), Image.Resampling.BILINEAR)
            dst = out / f"{rec['id']}.png"
            im.save(dst)
            paths.append(dst)
    return paths


def scene_config(mode: str, resolution: int, samples: int, photo: Path | None = None):  # type: ignore[no-untyped-def]
    """The office example at ``resolution`` px (people 40-100 px tall at 512); photo mode: no furniture, standing
    people over ``photo``."""
    from shared_schema.config import example_config
    from shared_schema.distributions import IntRange

    cfg = example_config("office")
    cam = cfg.camera.model_copy(update={"width": resolution, "height": resolution, "principal_point": None})
    render = cfg.render.model_copy(update={"samples": samples, "device": "cpu"})
    upd: dict[str, Any] = {"camera": cam, "render": render}
    if mode == "photo":
        assert photo is not None
        upd["background"] = cfg.background.model_copy(update={"mode": "photo", "photo": str(photo)})
        upd["obstacles"] = []
        upd["people"] = cfg.people.model_copy(
            update={"standing": IntRange(low=3, high=6), "sitting": IntRange(low=0, high=0)}
        )
    return cfg.model_copy(update=upd)


def render_mode(mode: str, a: argparse.Namespace, root: Path, photos: list[Path]) -> list[str]:
    """Render ``a.scenes`` images of one mode into ``root`` (resumes: complete ids are kept); returns failures."""
    from blender_addon.pipeline import run_batch

    failed: list[str] = []
    if mode == "rooms":
        res = run_batch(scene_config(mode, a.resolution, a.samples), a.scenes, a.seed, root, report=False)
        return list(res.failed)
    for k, photo in enumerate(photos):  # scenes spread over the real frames; one run seed per frame
        n = a.scenes // len(photos) + (1 if k < a.scenes % len(photos) else 0)
        if n:
            cfg = scene_config(mode, a.resolution, a.samples, photo)
            res = run_batch(cfg, n, a.seed * 1000 + k, root, report=False)
            failed += list(res.failed)
    return failed


# -- refinement through a real server -----------------------------------------------------------------------------
@contextmanager
def local_server(model: str, extra: list[str]) -> Iterator[str]:
    """A real ``python -m refine_server serve`` subprocess on 127.0.0.1 (CPU) with the model under test."""
    from refine_server.local_server import local_server as serve

    args = ["--model", model, "--device", "cpu", "--log-level", "warning", *extra]
    with serve(args, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=sys.stderr) as url:
        yield url


def refine_all(url: str, roots: list[Path], image_dir: str = "refined") -> list[dict[str, float]]:
    """POST every complete image of every root, write ``<root>/<image_dir>/<id>.png``; returns the server timings."""
    from tqdm import tqdm

    from refine_server.client import RefineClient
    from shared_schema.dataset import DatasetPaths, atomic_write_bytes, complete_ids

    client = RefineClient(url, timeout=300)
    jobs = [DatasetPaths(r, i) for r in roots for i in complete_ids(r)]
    timings = []
    for paths in tqdm(jobs, desc=f"refine ({image_dir})", file=sys.stderr):
        res = client.refine(paths.image.read_bytes(), paths.instances.read_bytes(), paths.annotation.read_bytes())
        atomic_write_bytes(paths.root / image_dir / f"{paths.image_id}.png", res.image_png)
        timings.append(res.timings)
    return timings


# -- measurement --------------------------------------------------------------------------------------------------
def kid_pair(fa: Any, fb: Any, subsets: int, seed: int) -> dict[str, float]:
    from refine_server.evaluation.fid_kid import kid

    return kid(fa, fb, subsets, min(len(fa), len(fb)), seed=seed)


def image_dir_of(label: str) -> str:
    return "refined" if label == "refined" else f"refined_{label}"


def measure_mode(
    root: Path, real_feats: Any, feats_of: Any, geo: CropGeometry, a: argparse.Namespace, labels: list[str]
) -> dict[str, Any]:
    """KID of this mode's synthetic and refined crops (main server and each variant) to the held-out real crops."""
    from refine_server.training.dataset import crops_from_rendered
    from refine_server.training.plots import sample_grid

    syn = crops_from_rendered(root, geo.size, margin=geo.margin)
    if len(syn) < 2:
        return {"error": f"only {len(syn)} rendered person crops"}
    out: dict[str, Any] = {"n_synthetic": len(syn), "n_real": len(real_feats)}
    k_syn = kid_pair(feats_of(syn.images), real_feats, a.kid_subsets, a.seed)
    out["kid_synthetic"] = round(k_syn["mean"], 5)
    out["kid_synthetic_std"] = round(k_syn["std"], 5)
    for label in labels:
        ref = crops_from_rendered(root, geo.size, margin=geo.margin, image_dir=image_dir_of(label))
        k_ref = kid_pair(feats_of(ref.images), real_feats, a.kid_subsets, a.seed)
        fig = {
            "n_refined": len(ref),
            "kid_refined": round(k_ref["mean"], 5),
            "kid_refined_std": round(k_ref["std"], 5),
            "ratio": round(k_ref["mean"] / k_syn["mean"], 4) if k_syn["mean"] > 0 else None,
        }
        if label == "refined":
            out.update(fig)
        else:
            out.setdefault("variants", {})[label] = fig
        n = min(8, len(syn), len(ref))
        sample_grid(syn.images[:n], ref.images[:n], root / f"samples_synthetic_{image_dir_of(label)}.png")
    return out


def real_floor(real_feats: Any, subsets: int, seed: int) -> float:
    import numpy as np

    perm = np.random.default_rng(seed).permutation(len(real_feats))
    h = len(perm) // 2
    return round(kid_pair(real_feats[perm[:h]], real_feats[perm[h : 2 * h]], subsets, seed)["mean"], 5)


def look_cost(timings: list[dict[str, float]]) -> dict[str, float]:
    if not timings:
        return {}
    gen = statistics.median(t.get("generator_ms", 0.0) for t in timings)
    look = statistics.median(t.get("look_ms", 0.0) for t in timings)
    return {
        "generator_ms_median": round(gen, 1),
        "look_ms_median": round(look, 1),
        "look_over_generator": round(look / gen, 4) if gen > 0 else None,
    }


def run(a: argparse.Namespace, work: Path) -> dict[str, Any]:
    from refine_server.evaluation.cli import load_real_config
    from refine_server.evaluation.inception import InceptionFeatures, PixelFeatures
    from refine_server.training.dataset import CropSet, crops_from_real

    t0 = time.perf_counter()
    test_src, _, why = load_real_config(a.real_config)
    if not test_src:
        return {"bench": "realism", "skipped": why}
    geo = crop_geometry(a.model)
    real = CropSet.concat([crops_from_real(s, geo.size, margin=geo.margin) for s in test_src])
    roots = {m: work / m for m in a.modes}
    photos = write_photo_backgrounds(test_src, a.resolution, work / "photo_backgrounds") if "photo" in a.modes else []
    failed = {}
    for m in a.modes:
        log(f"rendering {a.scenes} {m} scenes into {roots[m]}")
        failed[m] = render_mode(m, a, roots[m], photos)
    servers = {} if a.synthetic_only else {"refined": a.server_args.split(), **a.variants}
    timings: dict[str, list[dict[str, float]]] = {}
    for label, extra in servers.items():
        with local_server(a.model, extra) as url:
            timings[label] = refine_all(url, list(roots.values()), image_dir_of(label))
    log("features")
    feats_of = InceptionFeatures() if a.features == "inception" else PixelFeatures()
    real_feats = feats_of(real.images)
    result: dict[str, Any] = {
        "bench": "realism",
        "model": str(a.model),
        "synthetic_only": a.synthetic_only,
        "resolution": a.resolution,
        "samples": a.samples,
        "scenes_per_mode": a.scenes,
        "seed": a.seed,
        "crop_size": geo.size,
        "margin": geo.margin,
        "held_out": [s.name for s in test_src],
        "features": a.features,
        "kid_real_floor": real_floor(real_feats, a.kid_subsets, a.seed),
    }
    for m in a.modes:
        result[m] = measure_mode(roots[m], real_feats, feats_of, geo, a, list(servers))
        if failed[m]:
            result[m]["failed_renders"] = failed[m]
    if "refined" in timings:
        result.update(look_cost(timings["refined"]))
    for label in a.variants:
        result.setdefault("variant_cost", {})[label] = look_cost(timings[label])
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    if a.out:
        Path(a.out).mkdir(parents=True, exist_ok=True)
        result = run(a, Path(a.out).resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="realism_") as tmp:
            result = run(a, Path(tmp))
    print(json.dumps(result), flush=True)
    failed = any(isinstance(result.get(m), dict) and "error" in result[m] for m in MODES)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # one clear line, no traceback (R2_DEBUG=1 re-raises)
        if os.environ.get("R2_DEBUG") == "1":
            raise
        print(f"[realism] error: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
