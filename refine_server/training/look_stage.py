"""The footage stages of training: fit a camera look on unlabeled footage against renders and put it on a model;
find person candidates in the footage (no labels) for the generator stage."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from refine_server.checkpoint import load_model, save_model
from refine_server.look import LookSpec
from refine_server.look.fit import Frame, fit_look
from refine_server.model_card import ModelCard

from .candidates import CandidateParams, CandidateReport, find_candidates
from .config import RealFramesConfig, TrainConfig
from .dataset import CropSet, FootageFrame, crops_from_candidates, load_footage, rendered_frames

__all__ = [
    "CandidateCrops",
    "attach_look",
    "candidate_crops",
    "candidate_train_config",
    "fit_look_stage",
    "init_model_dir",
    "read_stage_footage",
]


@dataclass
class CandidateCrops:
    """Person candidates of the footage as crops at the model's geometry, the detector's report, and one line
    saying what the generator stage does with them."""

    crops: CropSet
    report: CandidateReport
    enough: bool
    line: str

    def notes(self) -> dict[str, Any]:
        """What the model card says about the generator's real data."""
        files = sorted({m["image_id"] for m in self.crops.meta})
        return {
            "generator_trained_on": (
                f"{len(self.crops)} unlabeled person candidates (temporal-median background, no labels) "
                f"from {len(files)} frames of the footage: {', '.join(files[:20])}{' …' if len(files) > 20 else ''}"
            ),
            "candidates": [
                {
                    "camera": Path(g.camera).name,
                    "frames": len(g.sources),
                    "used": g.n_used,
                    "candidates": g.n_candidates,
                }
                | ({"threshold": round(g.threshold, 2)} if g.n_used else {})
                | ({"note": g.note} if g.note else {})
                for g in self.report.groups
            ],
        }


def candidate_crops(
    cfg: TrainConfig, rf: RealFramesConfig, frames: list[FootageFrame], progress: bool = True
) -> CandidateCrops:
    """Person candidates of ``frames`` (per camera) cropped like the server crops a person (``cfg.data`` geometry)."""
    cc = rf.candidates
    report = find_candidates(frames, CandidateParams(min_frames=cc.min_frames, k_mad=cc.k_mad), progress=progress)
    dc = cfg.data
    crops = crops_from_candidates(report, dc.crop_size, margin=dc.margin, min_size=dc.min_size)
    enough = len(crops) >= cc.min_crops
    if enough:
        line = f"{len(crops)} person candidates from the footage: training the generator ({cc.method}) on them"
    else:
        line = (
            f"{len(crops)} person candidates from the footage (< {cc.min_crops}): keeping the generator "
            f"{rf.init_model!r} ({'; '.join(report.summary().splitlines()) or 'no frames'})"
        )
    return CandidateCrops(crops, report, enough, line)


def candidate_train_config(cfg: TrainConfig, rf: RealFramesConfig, steps: int | None, notes: dict) -> TrainConfig:
    """The generator's training config on candidates: the candidates' method and steps (``steps`` overrides)."""
    cc = rf.candidates
    raw = cfg.model_dump(exclude={"mode", "lambda_disc_feature"})
    raw.update(method=cc.method, steps=cc.steps if steps is None else steps)
    raw["training_data_notes"] = {**cfg.training_data_notes, **notes}
    return TrainConfig.model_validate(raw)


def read_stage_footage(cfg: TrainConfig, rf: RealFramesConfig, progress: bool = True) -> list[FootageFrame]:
    """The footage at the working size, usable pixels masked (what the look and the candidates are found on)."""
    paths: list[str | Path] = [str(cfg.resolve(p)) for p in rf.paths]
    real = load_footage(paths, rf.resize_to, rf.overlays, rf.exclude, rf.video_every_s, rf.max_frames, progress)
    if not real:
        raise ValueError(f"no frames found in {paths} (images: jpg/png/bmp/webp; videos: mp4/avi/mkv/mov/webm/ts)")
    return real


def fit_look_stage(
    cfg: TrainConfig, rf: RealFramesConfig, progress: bool = True, real: list[FootageFrame] | None = None
) -> LookSpec:
    """Fit the look (statistics matching) on the footage (read here unless given) against the configured renders."""
    real = real if real is not None else read_stage_footage(cfg, rf, progress)
    roots: list[str | Path] = [str(cfg.resolve(p)) for p in cfg.data.synthetic]
    syn = [f for f in rendered_frames(roots, rf.resize_to) if f.mask.any()]
    if not syn:
        raise ValueError("no rendered frames to fit the look against: set data.synthetic or pass --synthetic")
    print(
        f"[train] fitting the camera look: {len(real)} real frames, {len(syn)} rendered frames at {rf.resize_to} px",
        file=sys.stderr,
    )
    params = fit_look(
        cast(list[Frame], real), cast(list[Frame], syn), colour=rf.colour, vignetting=rf.vignetting, noise=rf.noise
    )
    if rf.fit == "adversarial":
        from refine_server.look.adversarial import fit_look_adversarial

        params = fit_look_adversarial(real, syn, params, steps=rf.adversarial_steps)
    qualities = sorted({f.jpeg_quality for f in real if f.jpeg_quality})
    notes = dict(params.notes)
    if qualities:
        notes["source_jpeg"] = (
            f"footage files are JPEG q ≈ {', '.join(map(str, qualities))} at their native size "
            "(from their quantisation tables); the look's JPEG is what remains at the working size"
        )
    params = params.model_copy(update={"notes": notes})
    fitted_on = {
        "real_frames": [f.source for f in real],
        "rendered_frames": len(syn),
        "resize_to": rf.resize_to,
        "excluded": rf.exclude,
    }
    return LookSpec(params=params, photo_mode=rf.photo_mode, description=params.describe(), fitted_on=fitted_on)


def init_model_dir(name: str) -> Path:
    from refine_server.app import resolve_model_path

    return resolve_model_path(name)


def attach_look(model_dir: Path, out_dir: Path, look: LookSpec, updates: dict[str, Any] | None = None) -> Path:
    """Write the model of ``model_dir`` with ``look`` (and card ``updates``; ``training_data`` is merged) into
    ``out_dir``; returns the card path."""
    gen, card = load_model(model_dir)
    data = dict(card.model_dump(mode="json"))
    updates = dict(updates or {})
    data["training_data"] = {**data.get("training_data", {}), **updates.pop("training_data", {})}
    data.update(updates)
    data["look"] = look.model_dump(mode="json")
    return save_model(out_dir, gen, ModelCard.model_validate(data))
