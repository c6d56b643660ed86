"""``python -m refine_server train --config CONFIG.json [--resume] [--steps N] [--out-dir DIR] [--export DIR]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_parser", "main", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
    p = subparsers.add_parser("train", help="train a refiner (CycleGAN family / SimGAN) on person crops",
                              description=__doc__)  # fmt: skip
    _args(p)
    p.set_defaults(func=run)
    return p


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="training config JSON (refine_server.training.config)")
    p.add_argument("--resume", action="store_true", help="continue from OUT_DIR/checkpoints/last.pt if present")
    p.add_argument("--steps", type=int, default=None, help="override the number of adversarial steps")
    p.add_argument("--pretrain-steps", type=int, default=None)
    p.add_argument("--out-dir", default=None, help="override out_dir (relative to the current directory)")
    p.add_argument("--device", default=None, help="auto | cpu | cuda")
    p.add_argument("--max-minutes", type=float, default=None, help="stop (and checkpoint) after this wall time")
    p.add_argument("--export", default=None, help="also write the generator model (safetensors + card) here")
    p.add_argument("--metrics-from", default=None,
                   help="an `evaluate` report.json whose FID/KID go into the exported model card")  # fmt: skip
    p.add_argument("--no-progress", action="store_true")


def metrics_from_report(path: Path) -> dict:
    """Model-card metrics (``KID(a|b)``, ``FID(a|b)``) from an ``evaluate`` report."""
    report = json.loads(Path(path).read_text(encoding="utf-8"))
    realism = report["realism"]
    metrics: dict = {f"KID({pair})": {"mean": v["mean"], "std": v["std"]} for pair, v in realism["kid"].items()}
    metrics.update({f"FID({pair})": v for pair, v in realism["fid"].items()})
    metrics["eval"] = f"evaluate report {path}"
    return metrics


def run(args: argparse.Namespace) -> int:
    import torch

    from .config import load_config
    from .trainer import Trainer, load_datasets

    over = {}
    if args.steps is not None:
        over["steps"] = args.steps
    if args.pretrain_steps is not None:
        over["pretrain_steps"] = args.pretrain_steps
    if args.out_dir is not None:
        over["out_dir"] = str(Path(args.out_dir).resolve())
    if args.device is not None:
        over["device"] = args.device
    if args.no_progress:
        over["progress"] = False
    cfg = load_config(args.config, over)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    syn, real = load_datasets(cfg)
    print(f"[train] {len(syn)} synthetic crops, {len(real)} real crops, crop {cfg.data.crop_size}px", file=sys.stderr)
    tr = Trainer(cfg, syn, real)
    if args.resume and tr.load_checkpoint():
        print(f"[train] resumed at step {tr.step} (pre-fit {tr.pre_step})", file=sys.stderr)
    res = tr.fit(max_seconds=args.max_minutes * 60 if args.max_minutes else None)
    metrics = metrics_from_report(Path(args.metrics_from)) if args.metrics_from else None
    card = tr.export(metrics=metrics)
    if args.export:
        tr.export(Path(args.export), metrics=metrics)
    res["model"] = str(card.parent)
    print(json.dumps(res))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="refine_server.training")
    _args(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
