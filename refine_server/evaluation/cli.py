"""``python -m refine_server evaluate``: realism (FID/KID on person crops) + downstream detector test.

Example (the default model on the held-out real camera)::

    python -m refine_server evaluate --model refine_server/models/default --synthetic out/eval_synth \\
        --real-config configs/eval_heldout.json --out out/eval_default

``--real-config`` JSON: ``{"test": [real source, ...], "train": [real source, ...]}`` where a real source is
``{"annotations": "...json", "image_root": "...", "name": ..., "overlays": [[x0,y0,x1,y1]], "resize_to": 512}``
(paths relative to the config file). ``test`` = held-out real frames (KID reference and detector test set);
``train`` (optional) = a few real frames to train a "real" detector for comparison. If the real data folder is
absent, the real-dependent figures are skipped and the JSON says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "evaluate", "load_real_config", "main", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
    p = subparsers.add_parser(
        "evaluate",
        help="FID/KID of synthetic vs refined vs real crops + detector test",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _args(p)
    p.set_defaults(func=run)
    return p


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="model directory (model.safetensors + model_card.json)")
    p.add_argument("--synthetic", action="append", required=True, help="rendered dataset folder (repeatable)")
    p.add_argument("--refined-dir", default=None, help="already refined images (<id>.png) instead of --model")
    p.add_argument("--real-config", default=None, help="JSON {test: [...], train: [...]} of real sources")
    p.add_argument("--out", required=True)
    p.add_argument("--crop-size", type=int, default=None, help="crop side for FID/KID (default: model's)")
    p.add_argument("--margin", type=float, default=None)
    p.add_argument("--max-images", type=int, default=None)
    p.add_argument("--kid-subsets", type=int, default=100)
    p.add_argument("--kid-subset-size", type=int, default=1000)
    p.add_argument("--no-detector", action="store_true")
    p.add_argument(
        "--detector-extra",
        action="append",
        default=[],
        help="more rendered datasets used only to train the detectors (refined with --model too)",
    )
    p.add_argument("--detector-steps", type=int, default=600)
    p.add_argument("--detector-res", type=int, default=256)
    p.add_argument("--detector-seeds", type=int, nargs="+", default=[0])
    p.add_argument("--detector-threshold", type=float, default=0.3)
    p.add_argument("--head-rule", choices=["outer", "inner"], default="outer")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 is fastest on a busy 2-core box)")
    p.add_argument(
        "--features",
        choices=["inception", "pixels"],
        default="inception",
        help="feature network for FID/KID; 'pixels' is a fast stand-in for tests only",
    )


def load_real_config(cfg_path: str | None) -> tuple[list, list, str | None]:
    """(test sources, train sources, None) of a real-config JSON, or ([], [], why) when it or its data is absent."""
    from refine_server.training.dataset import load_real_source

    if not cfg_path:
        return [], [], "no --real-config"
    p = Path(cfg_path)
    d = json.loads(p.read_text())
    test = [load_real_source(r, p.resolve().parent) for r in d.get("test", [])]
    train = [load_real_source(r, p.resolve().parent) for r in d.get("train", [])]
    missing = [str(s.annotations) for s in test + train if not Path(s.annotations).is_file()]
    if missing:
        return [], [], f"real data absent: {missing}"
    return test, train, None


def _refined_dirs(args: argparse.Namespace, gen: Any, card: Any, out: Path) -> list[Path | None]:
    """Per synthetic dataset: its refined images, generated here with the model (server geometry) or given."""
    from refine_server.refine import refine_dataset

    dirs: list[Path | None] = []
    for i, root in enumerate(args.synthetic):
        if args.refined_dir:
            dirs.append(Path(args.refined_dir).resolve())
        elif card is not None:
            d = (out / f"refined_{i}").resolve()
            refine_dataset(gen, root, d, card.crop_size, card.margin, args.max_images, look=card.look)
            dirs.append(d)
        else:
            dirs.append(None)
    return dirs


def _crop_sets(
    args: argparse.Namespace, gen: Any, card: Any, refined_dirs: list[Path | None], size: int, margin: float, out: Path
) -> dict[str, Any]:
    """synthetic / refined / refined_raw crop sets (no real ones), with a sample grid of the refined crops."""
    import torch

    from refine_server.training.dataset import CropSet, crops_from_rendered
    from refine_server.training.plots import sample_grid

    syn = CropSet.concat(
        [crops_from_rendered(r, size, margin=margin, max_images=args.max_images) for r in args.synthetic]
    )
    sets: dict[str, CropSet] = {"synthetic": syn}
    if not all(d is not None for d in refined_dirs):
        return sets
    sets["refined"] = CropSet.concat(
        [
            crops_from_rendered(r, size, margin=margin, max_images=args.max_images, image_dir=str(d))
            for r, d in zip(args.synthetic, refined_dirs, strict=True)
        ]
    )
    if card is not None:  # the generator's raw output on the synthetic crops (before reinsertion), for reference
        with torch.no_grad():
            raw = torch.cat([gen(syn.images[i : i + 64].to(args.device)).cpu() for i in range(0, len(syn), 64)])
        sets["refined_raw"] = CropSet(raw, syn.masks, syn.meta)
    n = min(8, len(syn))
    sample_grid(sets["synthetic"].images[:n], sets["refined"].images[:n], out / "samples_refined.png")
    return sets


def _features(args: argparse.Namespace, result: dict[str, Any]) -> Any:
    from .inception import InceptionFeatures, PixelFeatures, verify_inception

    if args.features == "inception":
        inc = InceptionFeatures(device=args.device)
        result["inception"] = verify_inception(inc)
        return inc
    result["inception"] = {"features": "pixels (test stand-in, not a realism metric)"}
    return PixelFeatures()


def _realism(args: argparse.Namespace, sets: dict[str, Any], inc: Any) -> dict[str, Any]:
    """KID and FID of every pair (and the real-vs-real floor), one subset size for all."""
    import numpy as np

    from .fid_kid import fid, kid

    feats = {k: inc(v.images) for k, v in sets.items()}
    realism: dict[str, Any] = {"kid": {}, "fid": {}}
    pairs = [("synthetic", "refined")]
    if "real" in sets:
        pairs = [("synthetic", "real"), ("refined", "real"), ("refined_raw", "real"), *pairs]
        rng = np.random.default_rng(args.seed)
        perm = rng.permutation(len(sets["real"]))
        half = len(perm) // 2
        feats["real_a"], feats["real_b"] = feats["real"][perm[:half]], feats["real"][perm[half : 2 * half]]
        pairs.append(("real_a", "real_b"))
        realism["floor_note"] = "real-vs-real floor: random halves of the held-out real crops"
    # one subset size for every pair (KID depends on it): the smallest set involved
    m = min([args.kid_subset_size] + [len(feats[a]) for p in pairs for a in p if a in feats])
    for a, b in pairs:
        if a not in feats or b not in feats:
            continue
        key = f"{a}|{b}"
        realism["kid"][key] = kid(feats[a], feats[b], args.kid_subsets, m, seed=args.seed)
        rng = np.random.default_rng(args.seed)
        ia, ib = rng.choice(len(feats[a]), m, replace=False), rng.choice(len(feats[b]), m, replace=False)
        realism["fid"][key] = fid(feats[a][ia], feats[b][ib])  # equal-size sets: FIDs comparable
    realism["subset_size"] = m
    return realism


def _detector(
    args: argparse.Namespace,
    gen: Any,
    card: Any,
    refined_dirs: list[Path | None],
    test_src: list,
    train_src: list,
    out: Path,
) -> dict[str, Any]:
    """Head detectors trained on synthetic / refined / a few real frames, tested on the held-out real frames."""
    from refine_server.refine import refine_dataset

    from .detector import evaluate_detector, frames_from_real, frames_from_rendered

    res, rule = args.detector_res, args.head_rule
    train_sets, rule_check = {}, {}
    syn_frames, syn_frames_ref = [], []
    for r, rd in zip(args.synthetic, refined_dirs, strict=True):
        f, chk = frames_from_rendered(r, res, rule=rule, max_images=args.max_images)
        syn_frames += f
        rule_check[str(r)] = chk
        if rd is not None:
            syn_frames_ref += frames_from_rendered(r, res, image_dir=rd, rule=rule, max_images=args.max_images)[0]
    for j, r in enumerate(args.detector_extra):
        syn_frames += frames_from_rendered(r, res, rule=rule)[0]
        if card is not None:
            d = (out / f"refined_detector_{j}").resolve()
            refine_dataset(gen, r, d, card.crop_size, card.margin, look=card.look)
            syn_frames_ref += frames_from_rendered(r, res, image_dir=d, rule=rule)[0]
    train_sets["synthetic"] = syn_frames
    if syn_frames_ref:
        train_sets["refined"] = syn_frames_ref
    real_train = [f for s in train_src for f in frames_from_real(s, res, rule=rule)]
    if real_train:
        train_sets["real_few"] = real_train
    test = [f for s in test_src for f in frames_from_real(s, res, rule=rule)]
    det = evaluate_detector(
        train_sets,
        test,
        steps=args.detector_steps,
        seeds=tuple(args.detector_seeds),
        threshold=args.detector_threshold,
        device=args.device,
    )
    det["head_rule_check_on_renders"] = rule_check
    return det


def _summary(result: dict[str, Any], seconds: float) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    k = result["realism"]["kid"]
    if "synthetic|real" in k and "refined|real" in k:
        a, b = k["synthetic|real"]["mean"], k["refined|real"]["mean"]
        summary.update(
            {
                "KID(synthetic,real)": a,
                "KID(refined,real)": b,
                "KID(real,real) floor": k.get("real_a|real_b", {}).get("mean"),
                "KID reduction %": 100.0 * (a - b) / a if a > 0 else None,
            }
        )
    if "detector" in result and "by_training_set" in result["detector"]:
        for name, r in result["detector"]["by_training_set"].items():
            summary[f"F1 trained on {name}"] = r["f1"]
    summary["seconds"] = round(seconds, 1)
    return summary


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Crop sets → FID/KID (+ floor) → detector test → report.json/html in ``args.out``; returns the result."""
    import torch

    from refine_server.checkpoint import load_model
    from refine_server.training.dataset import CropSet, crops_from_real

    from .report import write_report

    t0 = time.time()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"args": {k: v for k, v in vars(args).items() if k != "func"}}
    gen, card = None, None
    if args.model:
        gen, card = load_model(Path(args.model), args.device)
        result["model"] = {
            "model_id": card.model_id,
            "path": str(args.model),
            "crop_size": card.crop_size,
            "margin": card.margin,
            "sha256": card.sha256,
        }
    size = args.crop_size or (card.crop_size if card else 64)
    margin = args.margin if args.margin is not None else (card.margin if card else 0.15)
    refined_dirs = _refined_dirs(args, gen, card, out)
    sets = _crop_sets(args, gen, card, refined_dirs, size, margin, out)
    test_src, train_src, why = load_real_config(args.real_config)
    if test_src:
        sets["real"] = CropSet.concat([crops_from_real(s, size, margin=margin) for s in test_src])
    result["sets"] = {k: {"n_crops": len(v), "crop_size": size, "margin": margin} for k, v in sets.items()}
    result["real_data"] = "used" if test_src else f"skipped: {why}"
    result["realism"] = _realism(args, sets, _features(args, result))
    if not args.no_detector and test_src:
        result["detector"] = _detector(args, gen, card, refined_dirs, test_src, train_src, out)
    elif not test_src:
        result["detector"] = {"skipped": why}
    result["summary"] = _summary(result, time.time() - t0)
    write_report(result, out, [p for p in [out / "samples_refined.png"] if p.is_file()])
    return result


def run(args: argparse.Namespace) -> int:
    res = evaluate(args)
    print(json.dumps(res.get("summary", {}), indent=1, default=float))
    print(f"[evaluate] wrote {Path(args.out) / 'report.json'} and report.html", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="refine_server.evaluation")
    _args(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
