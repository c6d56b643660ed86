"""Refine a rendered dataset exactly as the server does: plan crops from the instance map, extract at the model's
crop size with the model's margin, run the generator, reinsert per-pixel (background bit-identical)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from refine_server.crops import extract_crops, plan_crops, reinsert, to_model
from refine_server.training.dataset import read_instances, read_rgb
from shared_schema.dataset import DatasetPaths, complete_ids

__all__ = ["refine_dataset", "refine_image"]


@torch.no_grad()
def refine_image(gen: nn.Module, rgb: np.ndarray, imap: np.ndarray, center: tuple[float, float], crop_size: int,
                 margin: float, batch: int = 32) -> np.ndarray:
    specs = plan_crops(imap, center, margin=margin)
    if not specs:
        return rgb.copy()
    crops = extract_crops(to_model(rgb), specs, crop_size)
    dev = next(iter(gen.parameters()), torch.zeros(())).device
    out = torch.cat([gen(crops[i : i + batch].to(dev)).cpu() for i in range(0, len(specs), batch)])
    return reinsert(rgb, imap, specs, out)


def refine_dataset(gen: nn.Module, root: str | Path, out_dir: str | Path, crop_size: int, margin: float,
                   max_images: int | None = None) -> list[str]:
    """Write ``out_dir/<id>.png`` for every complete image of ``root``; returns the ids (existing files reused)."""
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
            img = refine_image(gen, read_rgb(p.image), imap, tuple(pp), crop_size, margin)
            Image.fromarray(img).save(dst)
        done.append(iid)
    return done
