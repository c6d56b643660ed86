"""Losses of the thesis (§2.4–2.6) and of SimGAN.

* LSGAN adversarial loss (least squares, Mao et al.) on PatchGAN logit maps, optionally restricted to a person
  mask (the mask is resized to the logit map; patches outside it do not count).
* cycle / identity pixel losses (L1), weighted by the trainer (λ_cyc = 10).
* discriminator-feature cyclic loss (thesis Eq. 2.21–2.22, the best model D^S): L2 distance between the
  discriminator's activations of x and of F(G(x)), summed over the chosen layers.
* SimGAN self-regularization: L1 between refined and synthetic, on the mean of the channels (SimGAN) or per colour
  channel (mean over channels of the per-channel differences, seed 004).
* PatchNCE (CUT, Park et al. 2020): each projected output patch must pick the input patch at the same location
  out of all patches of that image (InfoNCE, temperature τ = 0.07).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["disc_feature_cycle_loss", "lsgan_loss", "patch_nce_loss", "resize_mask", "self_regularization"]


def resize_mask(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Fraction of masked pixels under each logit (area interpolation), shape of ``like``'s spatial dims."""
    return F.adaptive_avg_pool2d(mask.float(), (like.shape[-2], like.shape[-1]))


def lsgan_loss(logits: torch.Tensor, target_real: bool, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared distance of the patch logits to 1 (real) or 0 (fake); masked mean when ``mask`` is given."""
    target = 1.0 if target_real else 0.0
    err = (logits - target) ** 2
    if mask is None:
        return err.mean()
    w = resize_mask(mask, logits)
    w = (w > 0.05).float() * w + 1e-3  # every patch touching the person counts, others barely
    return (err * w).sum() / w.sum()


def disc_feature_cycle_loss(
    feats_x: list[torch.Tensor], feats_rec: list[torch.Tensor], layers: list[int] | None = None
) -> torch.Tensor:
    """Σ_j mean ||d_j(x) - d_j(F(G(x)))||² over the chosen layers (1-based, as in Table 3.2's "1, 2, 3, 4")."""
    idx = range(len(feats_x)) if not layers else [j - 1 for j in layers if 0 < j <= len(feats_x)]
    total = feats_x[0].new_zeros(())
    for j in idx:
        total = total + F.mse_loss(feats_rec[j], feats_x[j].detach())
    return total


def self_regularization(
    refined: torch.Tensor, synthetic: torch.Tensor, per_channel: bool = True, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """SimGAN's ||ψ(x̃) - ψ(x)||₁ with ψ = identity per channel (``per_channel``) or the channel mean."""
    if per_channel:
        d = (refined - synthetic).abs()
    else:
        d = (refined.mean(1, keepdim=True) - synthetic.mean(1, keepdim=True)).abs()
    if mask is None:
        return d.mean()
    w = mask.expand_as(d)
    return (d * w).sum() / w.sum().clamp_min(1.0)


def patch_nce_loss(feat_q: torch.Tensor, feat_k: torch.Tensor, batch_size: int, tau: float = 0.07) -> torch.Tensor:
    """Mean InfoNCE over (B * P, C) unit query/key vectors (patches of one image contiguous): positive = the key at
    the same location, negatives = the other P - 1 keys of the same image. Keys carry no gradient.
    About log(P) for unrelated features, near 0 when every query equals its key."""
    n, dim = feat_q.shape
    feat_k = feat_k.detach()
    l_pos = (feat_q * feat_k).sum(1, keepdim=True)
    q = feat_q.view(batch_size, -1, dim)
    k = feat_k.view(batch_size, -1, dim)
    p = q.shape[1]
    l_neg = torch.bmm(q, k.transpose(1, 2))
    eye = torch.eye(p, dtype=torch.bool, device=q.device)[None]
    l_neg = l_neg.masked_fill(eye, -10.0).view(n, p)  # a patch is not its own negative
    logits = torch.cat([l_pos, l_neg], 1) / tau
    return F.cross_entropy(logits, torch.zeros(n, dtype=torch.long, device=q.device))
