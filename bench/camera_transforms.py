"""How far can a camera-only stage move renders toward the held-out camera? ONE JSON line.

Applies simple per-frame transforms (blur, down/up-sampling, noise, JPEG, saturation, contrast, unsharp masking) to
the renders of a ``bench/realism.py --out DIR`` run (``DIR/rooms``: every pixel; ``DIR/photo``: person pixels only,
as the server's person scope), crops them with the server geometry and prints KID of each variant to the held-out
real crops, next to the untransformed renders:

    .venv/bin/python bench/camera_transforms.py --renders out/realism_base [--transforms blur0.7,noise3,...]

Transforms: ``blur<σ px>``, ``down<factor>``, ``noise<σ/255>``, ``jpeg<q>``, ``sat<factor>``, ``con<factor>``,
``sharp<percent>``, chained with ``+`` (e.g. ``blur0.7+noise3+jpeg60``). Variant frames are written under the
renders' folders (``probe_<name>/``, under ``out/``: the real frames are research-only and stay out of the repo).
Without the held-out data the benchmark prints ``{"skipped": reason}`` and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT = "none,blur0.7,blur1.2,down2,noise3,noise6,jpeg60,sat0.75,sat1.2,con0.8,con1.2,sharp100,blur0.7+noise3+jpeg60"


def _pil(op: Callable[[Image.Image, float], Image.Image]) -> Callable[[np.ndarray, float, int], np.ndarray]:
    return lambda a, v, _seed: np.asarray(op(Image.fromarray(a), v).convert("RGB"))


def _down(im: Image.Image, f: float) -> Image.Image:
    w, h = im.size
    return im.resize((round(w / f), round(h / f)), Image.Resampling.BILINEAR).resize((w, h), Image.Resampling.BILINEAR)


def _noise(a: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    n = np.random.default_rng(seed).normal(0.0, sigma, a.shape)
    return np.clip(a.astype(np.float32) + n, 0, 255).astype(np.uint8)


def _jpeg(a: np.ndarray, q: float, _seed: int) -> np.ndarray:
    from refine_server.look.module import jpeg_roundtrip

    return jpeg_roundtrip(a, int(q))


OPS: dict[str, Callable[[np.ndarray, float, int], np.ndarray]] = {
    "blur": _pil(lambda im, v: im.filter(ImageFilter.GaussianBlur(v))),
    "down": _pil(_down),
    "noise": _noise,
    "jpeg": _jpeg,
    "sat": _pil(lambda im, v: ImageEnhance.Color(im).enhance(v)),
    "con": _pil(lambda im, v: ImageEnhance.Contrast(im).enhance(v)),
    "sharp": _pil(lambda im, v: im.filter(ImageFilter.UnsharpMask(radius=1.0, percent=int(v), threshold=0))),
}


def transform(name: str, a: np.ndarray, seed: int) -> np.ndarray:
    """``a`` (H, W, 3) uint8 through the chained transform ``name`` ('none' = unchanged)."""
    for part in name.split("+"):
        if part == "none":
            continue
        op = next((k for k in OPS if part.startswith(k)), None)
        if op is None:
            raise ValueError(f"unknown transform {part!r}; known: none, {', '.join(OPS)}")
        a = OPS[op](a, float(part[len(op) :]), seed)
    return a


def write_variant(root: Path, name: str, person_only: bool) -> str:
    """``root/probe_<name>/<id>.png`` for every complete image; returns the folder name."""
    from shared_schema.dataset import complete_ids

    out = root / f"probe_{name}"
    out.mkdir(exist_ok=True)
    for k, iid in enumerate(complete_ids(root)):
        a = np.asarray(Image.open(root / "images" / f"{iid}.png").convert("RGB"))
        b = transform(name, a, k)
        if person_only:
            m = np.asarray(Image.open(root / "instances" / f"{iid}.png")) > 0
            b = np.where(m[..., None], b, a)
        Image.fromarray(b).save(out / f"{iid}.png")
    return out.name


def run(a: argparse.Namespace) -> dict:
    from refine_server.evaluation.cli import load_real_config
    from refine_server.evaluation.fid_kid import kid
    from refine_server.evaluation.inception import InceptionFeatures
    from refine_server.training.dataset import CropSet, crops_from_real, crops_from_rendered

    test_src, _, why = load_real_config(a.real_config)
    if not test_src:
        return {"bench": "camera_transforms", "skipped": why}
    inc = InceptionFeatures()
    real = inc(CropSet.concat([crops_from_real(s, 128, margin=0.15) for s in test_src]).images)
    result: dict = {"bench": "camera_transforms", "renders": str(a.renders), "n_real": len(real)}
    for mode in ("rooms", "photo"):
        root = Path(a.renders) / mode
        if not (root / "images").is_dir():
            continue
        kids = {}
        for name in a.transforms:
            crops = crops_from_rendered(root, 128, margin=0.15, image_dir=write_variant(root, name, mode == "photo"))
            f = inc(crops.images)
            kids[name] = round(kid(f, real, 100, min(len(f), len(real)), seed=1)["mean"], 4)
            print(f"[camera_transforms] {mode} {name}: {kids[name]}", file=sys.stderr, flush=True)
        base = kids.get("none")
        result[mode] = {"kid": kids, "ratio": {k: round(v / base, 3) for k, v in kids.items()} if base else None}
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--renders", required=True, help="the --out folder of a bench/realism.py run")
    p.add_argument("--transforms", default=DEFAULT, help="comma list (see above)")
    p.add_argument("--real-config", default=str(ROOT / "configs" / "eval_heldout.json"))
    a = p.parse_args(argv)
    a.transforms = [t.strip() for t in a.transforms.split(",") if t.strip()]
    if "none" not in a.transforms:
        a.transforms.insert(0, "none")
    for t in a.transforms:
        transform(t, np.zeros((8, 8, 3), np.uint8), 0)  # unknown names fail before any work
    print(json.dumps(run(a)), flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, OSError) as exc:
        print(f"[camera_transforms] error: {exc}", file=sys.stderr)
        sys.exit(2)
