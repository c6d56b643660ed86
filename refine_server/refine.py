"""The refine algorithm, in one place: crop → generator → reinsert → camera look.

Used by the server (which runs the generator step in its batcher between :func:`plan_and_crop` and
:func:`finish`), by ``evaluate`` and by ``bench/`` (through :func:`refine_image`, which runs all four steps).

Scope of the look: ``person`` when the render's background is a real photo (annotation ``background.mode ==
"photo"``): only person pixels change, every background pixel stays bit-identical; ``frame`` when the background
is rendered: the whole frame is synthetic, so the look applies to every pixel. No stage moves a pixel (the look is
per-pixel colour/noise/JPEG and a symmetric blur); annotations are never touched.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from .crops import CropSpec, crop_corners, extract_crops, plan_crops, reinsert, to_model
from .look import PHOTO_MODES, LookSpec
from .look.harmonize import person_look
from .look.module import apply_look

__all__ = [
    "LOOK_OVERRIDES",
    "Finished",
    "finish",
    "look_mode",
    "plan_and_crop",
    "refine_dataset",
    "refine_image",
    "scope_of",
]

LOOK_OVERRIDES = ("auto", *PHOTO_MODES)


def scope_of(background: Any) -> str:
    """'person' over a real photo background, else 'frame'. ``background``: annotation Background, dict or None."""
    mode = background.get("mode") if isinstance(background, dict) else getattr(background, "mode", None)
    return "person" if mode == "photo" else "frame"


def look_mode(scope: str, look: LookSpec | None, override: str = "auto") -> str:
    """The look applied in ``scope``: person scope → harmonize | fitted | both | off; frame scope → fitted | off.

    ``override`` (server setting): 'auto' = the model card's choice; 'off' = no look anywhere; a person-scope mode
    replaces the card's person-scope choice (frame scope then uses the fitted look when the model has one).
    """
    if override not in LOOK_OVERRIDES:
        raise ValueError(f"look must be one of {LOOK_OVERRIDES}, got {override!r}")
    if override == "off":
        return "off"
    fitted = look is not None and look.params is not None
    if scope == "frame":
        if not fitted:
            return "off"
        assert look is not None
        return look.frame_mode if override == "auto" else "fitted"
    mode = (look.photo_mode if look is not None else "off") if override == "auto" else override
    return "harmonize" if mode in ("fitted", "both") and not fitted else mode


def plan_and_crop(
    rgb: np.ndarray,
    imap: np.ndarray,
    center: tuple[float, float],
    crop_size: int,
    margin: float,
    ids: list[int] | None = None,
) -> tuple[list[CropSpec], torch.Tensor | None]:
    """Crop specs of the persons (all present, or ``ids``) and their crops (None when there is nobody)."""
    specs = plan_crops(imap, center, ids=ids, margin=margin)
    return specs, (extract_crops(to_model(rgb), specs, crop_size) if specs else None)


def spec_box(spec: CropSpec) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) pixel box around a person's crop square (which holds the whole visible mask)."""
    c = crop_corners(spec)
    lo, hi = np.floor(c.min(axis=0)), np.ceil(c.max(axis=0))
    return int(max(lo[1], 0)), int(hi[1]), int(max(lo[0], 0)), int(hi[0])


@dataclass
class Finished:
    image: np.ndarray
    scope: str
    look: str
    reinsert_ms: float
    look_ms: float


def finish(
    rgb: np.ndarray,
    imap: np.ndarray,
    specs: list[CropSpec],
    refined: torch.Tensor | None,
    *,
    scope: str,
    look: LookSpec | None,
    seed: int,
    override: str = "auto",
) -> Finished:
    """Reinsert the refined crops, then apply the look of ``scope`` (seeded: the same request gives the same image)."""
    t0 = time.perf_counter()
    out = rgb.copy() if refined is None else reinsert(rgb, imap, specs, refined)
    t1 = time.perf_counter()
    mode = look_mode(scope, look, override)
    fitted = look.params if look is not None else None
    if scope == "frame" and mode == "fitted" and fitted is not None:
        out = apply_look(out, fitted, seed=seed)
    elif scope == "person" and mode != "off" and specs:
        person = np.isin(imap, [s.instance_id for s in specs])
        out = person_look(out, person, mode, fitted, seed, boxes=[spec_box(s) for s in specs])
    return Finished(out, scope, mode, (t1 - t0) * 1e3, (time.perf_counter() - t1) * 1e3)


@torch.no_grad()
def refine_image(
    gen: nn.Module,
    rgb: np.ndarray,
    imap: np.ndarray,
    center: tuple[float, float],
    crop_size: int,
    margin: float,
    *,
    look: LookSpec | None = None,
    scope: str = "frame",
    seed: int = 0,
    override: str = "auto",
    batch: int = 32,
) -> np.ndarray:
    """All four steps in this process (what the server does for one request)."""
    specs, crops = plan_and_crop(rgb, imap, center, crop_size, margin)
    refined = None
    if crops is not None:
        dev = next(iter(gen.parameters()), torch.zeros(())).device
        refined = torch.cat([gen(crops[i : i + batch].to(dev)).cpu() for i in range(0, len(specs), batch)])
    return finish(rgb, imap, specs, refined, scope=scope, look=look, seed=seed, override=override).image


def refine_dataset(
    gen: nn.Module,
    root: str | Path,
    out_dir: str | Path,
    crop_size: int,
    margin: float,
    max_images: int | None = None,
    look: LookSpec | None = None,
    override: str = "auto",
) -> list[str]:
    """Write ``out_dir/<id>.png`` for every complete image of a rendered dataset, as the server would (scope and
    seed from each annotation); returns the ids (existing files reused)."""
    from refine_server.training.dataset import read_instances, read_rgb
    from shared_schema.dataset import DatasetPaths, atomic_path, complete_ids

    root, out_dir = Path(root), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = []
    for iid in complete_ids(root)[: max_images if max_images else None]:
        dst = out_dir / f"{iid}.png"
        if not dst.is_file():
            p = DatasetPaths(root, iid)
            ann = json.loads(p.annotation.read_text())
            imap = read_instances(p.instances)
            pp = ann.get("camera", {}).get("principal_point") or (imap.shape[1] / 2.0, imap.shape[0] / 2.0)
            img = refine_image(
                gen,
                read_rgb(p.image),
                imap,
                tuple(pp),
                crop_size,
                margin,
                look=look,
                scope=scope_of(ann.get("background")),
                seed=int(ann.get("seed", 0)),
                override=override,
            )
            with atomic_path(dst) as tmp:
                Image.fromarray(img).save(tmp, format="PNG")
        done.append(iid)
    return done
