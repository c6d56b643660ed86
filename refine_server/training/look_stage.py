"""The camera stage of training: fit a look on unlabeled footage against renders, and put it on a model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, cast

from refine_server.checkpoint import load_model, save_model
from refine_server.look import LookSpec
from refine_server.look.fit import Frame, fit_look
from refine_server.model_card import ModelCard

from .config import RealFramesConfig, TrainConfig
from .dataset import load_footage, rendered_frames

__all__ = ["attach_look", "fit_look_stage", "init_model_dir"]


def fit_look_stage(cfg: TrainConfig, rf: RealFramesConfig, progress: bool = True) -> LookSpec:
    """Read the footage and the configured renders at the working size and fit the look (statistics matching)."""
    paths: list[str | Path] = [str(cfg.resolve(p)) for p in rf.paths]
    real = load_footage(paths, rf.resize_to, rf.overlays, rf.exclude, rf.video_every_s, rf.max_frames, progress)
    if not real:
        raise ValueError(f"no frames found in {paths} (images: jpg/png/bmp/webp; videos: mp4/avi/mkv/mov/webm/ts)")
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
