"""Fit the camera look with a small patch discriminator (the alternative to statistics matching).

Starting from a look (usually the statistics fit), ``CameraLook``'s parameters are trained so that rendered
patches passed through it are indistinguishable, to a small PatchGAN (LSGAN loss), from patches of the real
footage; patches are drawn inside the usable masks, with their normalised radius so vignetting trains too. An L2
pull toward the starting parameters keeps the fit from drifting where the discriminator says nothing. JPEG is not
differentiable and stays as the starting look has it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from refine_server.networks import PatchDiscriminator

from .fit import Frame
from .module import CameraLook, radius_map
from .params import LookParams

__all__ = ["fit_look_adversarial"]


def _patch_sampler(frames: Sequence[Frame], size: int, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    """A function n → (patches (n, 3, s, s) in [-1, 1], radius (n, s, s)) of random fully-usable patches."""
    data = []
    for f in frames:
        h, w = f.mask.shape
        ok = np.argwhere(
            f.mask[: h - size, : w - size]
            & f.mask[size:, size:]
            & f.mask[: h - size, size:]
            & f.mask[size:, : w - size]
        )  # corners inside: the patch is (nearly) inside
        if len(ok):
            data.append((torch.from_numpy(f.rgb).permute(2, 0, 1).float() / 127.5 - 1, radius_map(h, w), ok))
    if not data:
        raise ValueError("no usable patches")

    def sample(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        xs, rs = [], []
        for _ in range(n):
            img, rad, ok = data[int(rng.integers(len(data)))]
            y, x = ok[int(rng.integers(len(ok)))]
            xs.append(img[:, y : y + size, x : x + size])
            rs.append(rad[y : y + size, x : x + size])
        return torch.stack(xs), torch.stack(rs)

    return sample


def fit_look_adversarial(
    real: Sequence[Frame],
    syn: Sequence[Frame],
    init: LookParams,
    *,
    steps: int = 300,
    patch: int = 48,
    batch: int = 16,
    lr: float = 1e-3,
    pull: float = 10.0,
    seed: int = 0,
) -> LookParams:
    """Adversarially refine ``init`` on patches; returns the new parameters (notes say how it was fitted)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    real_s, syn_s = _patch_sampler(real, patch, rng), _patch_sampler(syn, patch, rng)
    look = CameraLook(init)
    start = [p.detach().clone() for p in look.parameters()]
    disc = PatchDiscriminator(ndf=16, n_layers=2)
    opt_l = torch.optim.Adam(look.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
    for _ in range(steps):
        xr, _ = real_s(batch)
        xs, rs = syn_s(batch)
        fake = torch.stack([look(xs[i : i + 1], radius=rs[i])[0] for i in range(batch)])
        d_real, d_fake = disc(xr), disc(fake.detach())
        loss_d = 0.5 * (F.mse_loss(d_real, torch.ones_like(d_real)) + F.mse_loss(d_fake, torch.zeros_like(d_fake)))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        d_gen = disc(fake)
        reg = sum(((p - q) ** 2).sum() for p, q in zip(look.parameters(), start, strict=True))
        loss_l = F.mse_loss(d_gen, torch.ones_like(d_gen)) + pull * reg
        opt_l.zero_grad()
        loss_l.backward()
        opt_l.step()
    out = look.to_params()
    notes = {
        **init.notes,
        "method": f"statistics matching, then a patch discriminator ({steps} steps, "
        f"{patch} px patches, L2 pull {pull} toward the statistics fit)",
    }
    return out.model_copy(update={"notes": notes})
