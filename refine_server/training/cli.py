"""``python -m refine_server train``: fit a camera look on unlabeled footage and/or train a generator on crops.

    python -m refine_server train --real-frames FOOTAGE_DIR --synthetic RENDERS_DIR --export out/my_model
    python -m refine_server train --config CONFIG.json [--resume] [--steps N] [--out-dir DIR] [--export DIR]

With ``--real-frames`` (or the config's ``real_frames``) the camera look (colour, tone, blur, noise, JPEG,
vignetting) is fitted on the footage (stills and/or videos, no labels) against the renders; the generator is then
trained on person crops when the config has labelled real people (``data.real``); otherwise on person candidates
found in the footage by a temporal-median background model (a video, or ≥ 3 stills of one camera: same folder and
frame size; FastCUT behind the frozen look, ``--candidate-steps``, default 600); with fewer than
``--min-candidates`` (16) the ``--init-model`` generator is kept (default: the bundled one). Without footage it
trains the generator as configured.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared_schema.validation import first_error

from .config import RealFramesConfig, TrainConfig, load_config

__all__ = ["add_parser", "main", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
    p = subparsers.add_parser(
        "train", help="train a refiner (CycleGAN family / SimGAN) on person crops", description=__doc__
    )
    _args(p)
    p.set_defaults(func=run)
    return p


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        default=None,
        help="training config JSON (refine_server.training.config); optional with --real-frames",
    )
    p.add_argument(
        "--real-frames",
        action="append",
        default=[],
        metavar="PATH",
        help="folder or file of unlabeled frames and/or videos of the target camera (repeatable)",
    )
    p.add_argument(
        "--synthetic",
        action="append",
        default=[],
        metavar="DIR",
        help="rendered dataset folder to fit the look against (repeatable; adds to data.synthetic)",
    )
    p.add_argument("--exclude", action="append", default=[], help="skip footage whose file name contains this")
    p.add_argument(
        "--overlay",
        action="append",
        default=[],
        metavar="X0,Y0,X1,Y1",
        help="burnt-in overlay (timestamp) rectangle in footage pixels, masked out (repeatable)",
    )
    p.add_argument("--resize-to", type=int, default=None, help="working size (longer side, px; default 512)")
    p.add_argument(
        "--photo-look",
        choices=["harmonize", "fitted", "both", "off"],
        default=None,
        help="the look over real-photo backgrounds (default harmonize)",
    )
    p.add_argument(
        "--look-fit",
        choices=["stats", "adversarial"],
        default=None,
        help="how the look is fitted: statistics matching (default) or that plus a patch discriminator",
    )
    p.add_argument(
        "--init-model",
        default=None,
        help="generator kept when there are no labelled real people (default: the bundled default model)",
    )
    p.add_argument(
        "--candidate-steps",
        type=int,
        default=None,
        help="generator steps on person candidates found in the footage (default 600; --steps overrides)",
    )
    p.add_argument("--min-candidates", type=int, default=None, help="fewer candidates: keep the generator (16)")
    p.add_argument("--no-candidates", action="store_true", help="do not look for person candidates in the footage")
    p.add_argument("--resume", action="store_true", help="continue from OUT_DIR/checkpoints/last.pt if present")
    p.add_argument("--steps", type=int, default=None, help="override the number of adversarial steps")
    p.add_argument("--pretrain-steps", type=int, default=None)
    p.add_argument("--out-dir", default=None, help="override out_dir (relative to the current directory)")
    p.add_argument("--device", default=None, help="auto | cpu | cuda")
    p.add_argument("--max-minutes", type=float, default=None, help="stop (and checkpoint) after this wall time")
    p.add_argument("--export", default=None, help="also write the generator model (safetensors + card) here")
    p.add_argument(
        "--metrics-from", default=None, help="an `evaluate` report.json whose FID/KID go into the exported model card"
    )
    p.add_argument("--no-progress", action="store_true")


def metrics_from_report(path: Path) -> dict:
    """Model-card metrics (``KID(a|b)``, ``FID(a|b)``) from an ``evaluate`` report."""
    report = json.loads(Path(path).read_text(encoding="utf-8"))
    realism = report["realism"]
    metrics: dict = {f"KID({pair})": {"mean": v["mean"], "std": v["std"]} for pair, v in realism["kid"].items()}
    metrics.update({f"FID({pair})": v for pair, v in realism["fid"].items()})
    metrics["eval"] = f"evaluate report {path}"
    return metrics


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    over: dict[str, Any] = {}
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
    return over


def _parse_overlay(text: str) -> list[float]:
    vals = [float(v) for v in text.split(",")]
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals) or vals[2] <= vals[0] or vals[3] <= vals[1]:
        raise ValueError(f"--overlay wants X0,Y0,X1,Y1 with X1 > X0 and Y1 > Y0, got {text!r}")
    return vals


def _candidate_overrides(args: argparse.Namespace) -> dict[str, Any]:
    over: dict[str, Any] = {}
    if getattr(args, "candidate_steps", None) is not None:
        over["steps"] = args.candidate_steps
    if getattr(args, "min_candidates", None) is not None:
        over["min_crops"] = args.min_candidates
    if getattr(args, "no_candidates", False):
        over["enabled"] = False
    return over


def build_config(args: argparse.Namespace) -> TrainConfig:
    """The config file (or defaults) with the command line's overrides, footage and renders folded in."""
    over = _overrides(args)
    if args.config:
        cfg = load_config(args.config, over)
    else:
        cfg = TrainConfig.model_validate({"out_dir": "out/train_look", **over})
    if args.synthetic:
        synthetic = [*cfg.data.synthetic, *(str(Path(p).resolve()) for p in args.synthetic)]
        cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"synthetic": synthetic})})
    rf = cfg.real_frames or RealFramesConfig()
    upd: dict[str, Any] = {}
    if args.real_frames:
        upd["paths"] = [*rf.paths, *(str(Path(p).resolve()) for p in args.real_frames)]
    if args.exclude:
        upd["exclude"] = [*rf.exclude, *args.exclude]
    if args.overlay:
        upd["overlays"] = [*rf.overlays, *(_parse_overlay(o) for o in args.overlay)]
    for key, val in (
        ("resize_to", args.resize_to),
        ("photo_mode", args.photo_look),
        ("init_model", args.init_model),
        ("fit", args.look_fit),
    ):
        if val is not None:
            upd[key] = val
    cand = _candidate_overrides(args)
    if cand:
        upd["candidates"] = {**rf.candidates.model_dump(), **cand}
    if upd or cfg.real_frames:
        rf = RealFramesConfig.model_validate({**rf.model_dump(), **upd})
        cfg = cfg.model_copy(update={"real_frames": rf})
    if not args.config and not (cfg.real_frames and cfg.real_frames.paths):
        raise ValueError("give --config CONFIG.json, or --real-frames DIR (with --synthetic RENDERS) to fit a look")
    return cfg if args.config else _init_model_geometry(cfg)


def _init_model_geometry(cfg: TrainConfig) -> TrainConfig:
    """Without a config, crops (candidates, renders) take the crop size and margin of the init model, so a generator
    trained on candidates serves with the geometry of the model it replaces."""
    from refine_server.checkpoint import load_card

    from .look_stage import init_model_dir

    assert cfg.real_frames is not None
    card, _ = load_card(init_model_dir(cfg.real_frames.init_model))
    data = cfg.data.model_copy(update={"crop_size": card.crop_size, "margin": card.margin})
    return cfg.model_copy(update={"data": data})


def train_generator(
    cfg: TrainConfig,
    args: argparse.Namespace,
    look: Any = None,
    real_crops: Any = None,
    max_minutes: float | None = None,
) -> tuple[Path, dict[str, Any]]:
    """The configured generator training; with a fitted ``look`` (LookSpec) the generator is trained behind that
    frozen camera look, so it learns only what the look leaves. ``real_crops`` (a CropSet, e.g. person candidates)
    replaces the config's labelled real crops; ``max_minutes`` caps the wall time (with ``--max-minutes``).
    Returns (model dir, fit result)."""
    import torch

    from refine_server.look.module import CameraLook

    from .trainer import Trainer, load_datasets, load_synthetic

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    syn, real = (load_synthetic(cfg), real_crops) if real_crops is not None else load_datasets(cfg)
    print(f"[train] {len(syn)} synthetic crops, {len(real)} real crops, crop {cfg.data.crop_size}px", file=sys.stderr)
    frozen = CameraLook(look.params) if look is not None and look.params is not None else None
    tr = Trainer(cfg, syn, real, look=frozen)
    if args.resume and tr.load_checkpoint():
        print(f"[train] resumed at step {tr.step} (pre-fit {tr.pre_step})", file=sys.stderr)
    caps = [m for m in (args.max_minutes, max_minutes) if m]
    res = tr.fit(max_seconds=min(caps) * 60 if caps else None)
    metrics = metrics_from_report(Path(args.metrics_from)) if args.metrics_from else None
    card = tr.export(metrics=metrics)
    if args.export:
        tr.export(Path(args.export), metrics=metrics)
    return card.parent, res


def _generator_from_footage(
    cfg: TrainConfig, rf: RealFramesConfig, footage: list[Any], args: argparse.Namespace, look: Any
) -> tuple[Path, dict[str, Any]]:
    """Train the generator on person candidates of the footage when there are enough, else keep the init model."""
    from .look_stage import candidate_crops, candidate_train_config, init_model_dir
    from .plots import crop_sheet

    if rf.candidates.enabled:
        cand = candidate_crops(cfg, rf, footage, progress=cfg.progress)
        print(f"[train] {cand.line}", file=sys.stderr)
        if len(cand.crops):
            sheet = crop_sheet(cand.crops.images[:64], cfg.resolve(cfg.out_dir) / "candidates.png")
            print(f"[train] the person candidates (first {min(64, len(cand.crops))}): {sheet}", file=sys.stderr)
        if cand.enough:
            notes = cand.notes()
            ccfg = candidate_train_config(cfg, rf, args.steps, notes)
            model_dir, fit_res = train_generator(ccfg, args, look, cand.crops, rf.candidates.max_minutes)
            return model_dir, {**fit_res, "generator": notes["generator_trained_on"]}
        reason = cand.line
    else:
        reason = "person candidates off (--no-candidates) and no labelled real people in the config"
    model_dir = init_model_dir(rf.init_model)
    return model_dir, {"generator": f"kept {model_dir}: {reason}"}


def run(args: argparse.Namespace) -> int:
    from .look_stage import attach_look, fit_look_stage, read_stage_footage

    try:
        cfg = build_config(args)
    except ValidationError as e:
        print(f"error: invalid training config: {first_error(e)}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as e:
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip() and "errors.pydantic.dev" not in ln]
        print(f"error: {'; '.join(lines[:4])}", file=sys.stderr)  # one line, with the offending field
        return 2
    rf = cfg.real_frames if cfg.real_frames and cfg.real_frames.paths else None
    res: dict[str, Any] = {}
    footage = read_stage_footage(cfg, rf, cfg.progress) if rf else None
    look = fit_look_stage(cfg, rf, progress=cfg.progress, real=footage) if rf else None
    if look is not None:
        print(f"[train] look: {look.description}", file=sys.stderr)
        res["look"] = look.description
    if cfg.data.real and (cfg.steps > 0 or cfg.pretrain_steps > 0):
        model_dir, fit_res = train_generator(cfg, args, look)
        res.update(fit_res)
    else:
        assert rf is not None and footage is not None  # build_config guarantees footage or a config
        model_dir, gen_res = _generator_from_footage(cfg, rf, footage, args, look)
        res.update(gen_res)
    out = cfg.resolve(cfg.out_dir) / "model"
    if look is not None:
        note = {"look_fitted_on": look.fitted_on, "generator_from": str(model_dir), **cfg.training_data_notes}
        updates: dict[str, Any] = {"model_id": cfg.model_id or f"{cfg.name}-look", "training_data": note}
        if cfg.license_notes:
            updates["license_notes"] = cfg.license_notes
        card = attach_look(model_dir, out, look, updates)
        if args.export:
            attach_look(model_dir, Path(args.export), look, updates)
    else:
        card = model_dir / "model_card.json"
    res["model"] = str(Path(args.export) if args.export else card.parent)
    print(json.dumps(res, default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="refine_server.training")
    _args(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
