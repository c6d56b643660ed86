"""DiffAugment (Zhao et al., NeurIPS 2020): differentiable augmentations applied to *both* real and fake images
before the discriminator, so a discriminator trained on a handful of real crops does not simply memorize them.

Policy string: comma-separated subset of ``color``, ``translation``, ``cutout``. The same random draw is applied to
an image and its mask when one is given (so a mask-restricted loss stays aligned).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["diff_augment"]


def _color(x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
    n = x.shape[0]
    dev, dt = x.device, x.dtype
    x = x + (torch.rand(n, 1, 1, 1, generator=g).to(dev, dt) - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, generator=g).to(dev, dt) * 2) + mean  # saturation
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, generator=g).to(dev, dt) + 0.5) + mean  # contrast
    return x


def _shift(x: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    n, _, h, w = x.shape
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    gx = (gx.unsqueeze(0) + tx.view(n, 1, 1)).clamp(-1, w)  # -1 / w index the zero padding
    gy = (gy.unsqueeze(0) + ty.view(n, 1, 1)).clamp(-1, h)
    xp = F.pad(x, [1, 1, 1, 1])
    idx = ((gy + 1) * (w + 2) + (gx + 1)).view(n, 1, -1).expand(-1, x.shape[1], -1)
    return xp.flatten(2).gather(2, idx).view_as(x)


def _cutout_mask(n: int, h: int, w: int, ratio: float, g: torch.Generator | None, device) -> torch.Tensor:
    ch, cw = max(int(h * ratio + 0.5), 1), max(int(w * ratio + 0.5), 1)
    oy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), generator=g)
    ox = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), generator=g)
    gy, gx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    gy, gx = gy.unsqueeze(0), gx.unsqueeze(0)
    inside = (gy >= oy - ch // 2) & (gy < oy - ch // 2 + ch) & (gx >= ox - cw // 2) & (gx < ox - cw // 2 + cw)
    return (~inside).float().unsqueeze(1).to(device)


def diff_augment(
    x: torch.Tensor,
    policy: str = "color,translation,cutout",
    mask: torch.Tensor | None = None,
    *,
    translation_ratio: float = 0.125,
    cutout_ratio: float = 0.5,
    generator: torch.Generator | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Augment ``x`` (N, C, H, W) differentiably; with ``mask`` returns ``(x_aug, mask_aug)``."""
    ops = [p.strip() for p in policy.split(",") if p.strip()] if policy else []
    n, _, h, w = x.shape
    for op in ops:
        if op == "color":
            x = _color(x, generator)
        elif op == "translation":
            sx, sy = int(w * translation_ratio + 0.5), int(h * translation_ratio + 0.5)
            tx = torch.randint(-sx, sx + 1, (n,), generator=generator).to(x.device)
            ty = torch.randint(-sy, sy + 1, (n,), generator=generator).to(x.device)
            x = _shift(x, tx, ty)
            if mask is not None:
                mask = _shift(mask, tx, ty)
        elif op == "cutout":
            m = _cutout_mask(n, h, w, cutout_ratio, generator, x.device).to(x.dtype)
            x = x * m
            if mask is not None:
                mask = mask * m
        else:
            raise ValueError(f"unknown DiffAugment op {op!r} (color, translation, cutout)")
    return (x, mask) if mask is not None else x
