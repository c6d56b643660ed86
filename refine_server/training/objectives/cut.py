"""CUT and FastCUT (Park et al., ECCV 2020): one-sided translation by patch-wise contrastive learning, built for few
images. No inverse generator: content is kept by PatchNCE between G's encoder features of the input and of the
output, taken at several encoder stages, sampled at ``num_patches`` locations and projected by a small MLP.

* CUT: λ_NCE = 1 plus identity PatchNCE on real crops (G(y) keeps y's patches).
* FastCUT: λ_NCE = 10, no identity term, flip-equivariance (half the steps G sees the mirrored input and its
  output features are mirrored back before the NCE).

D_Y sees look(G(x)) against real crops (LSGAN, pool, DiffAugment, optional person mask as for the other methods);
PatchNCE compares G's own output (before the look), so the frozen look needs no content constraint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from refine_server.networks import PatchSampleMLP, ResnetGenerator, SimGANRefiner

from ..losses import patch_nce_loss
from .base import Batch, LossRecord, Objective

__all__ = ["CUTLosses", "CUTObjective", "FastCUTObjective"]


@dataclass(frozen=True)
class CUTLosses(LossRecord):
    nce: float
    nce_idt: float | None = None


class CUTObjective(Objective):
    name: ClassVar[str] = "cut"
    default_lambda_nce: ClassVar[float] = 1.0
    default_nce_idt: ClassVar[bool] = True
    default_flip_equivariance: ClassVar[bool] = False

    def build(self) -> None:
        cfg = self.cfg
        if not isinstance(self.G, ResnetGenerator | SimGANRefiner):
            raise ValueError(
                f"method {self.name} needs a generator with encoder features (resnet or simgan), not {self.arch!r}"
            )
        self.encoder: ResnetGenerator | SimGANRefiner = self.G
        self.lambda_nce = self.default_lambda_nce if cfg.lambda_nce is None else cfg.lambda_nce
        self.nce_idt = self.default_nce_idt if cfg.nce_idt is None else cfg.nce_idt
        self.flip = self.default_flip_equivariance if cfg.flip_equivariance is None else cfg.flip_equivariance
        self.layers = list(cfg.nce_layers) if cfg.nce_layers is not None else self.encoder.default_feature_layers()
        probe = torch.zeros(1, 3, cfg.data.crop_size, cfg.data.crop_size, device=self.device)
        with torch.no_grad():
            channels = [f.shape[1] for f in self.encoder.features(probe, self.layers)]
        self.mlp = PatchSampleMLP(channels, cfg.nce_mlp_channels).to(self.device)
        self.build_optimizers([self.G], [self.D_Y])
        self.opt_mlp = self.adam(list(self.mlp.parameters()))

    @property
    def nets(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D_Y": self.D_Y, "mlp": self.mlp}

    @property
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {**super().optimizers, "opt_mlp": self.opt_mlp}

    def discriminators(self) -> list[nn.Module]:
        return [self.D_Y]

    def pretrain_generators(self) -> list[nn.Module]:
        return [self.G]

    def nce(self, src: torch.Tensor, out: torch.Tensor, flipped: bool = False) -> torch.Tensor:
        """Mean over layers of PatchNCE(G's features of ``out`` → those of ``src``), times λ_NCE.
        ``flipped``: ``out`` came from the mirrored ``src``, so its features are mirrored back first."""
        feat_q = self.encoder.features(out, self.layers)
        if flipped:
            feat_q = [f.flip(-1) for f in feat_q]
        with torch.no_grad():  # keys carry no gradient (PatchNCE detaches them): skip their graph
            keys, ids = self.mlp(self.encoder.features(src, self.layers), self.cfg.num_patches, generator=self.rng)
        queries, _ = self.mlp(feat_q, self.cfg.num_patches, ids)
        total = sum(patch_nce_loss(q, k, src.shape[0], self.cfg.nce_T) for q, k in zip(queries, keys, strict=True))
        return self.lambda_nce * total / len(self.layers)  # type: ignore[return-value]

    def step(self, batch: Batch) -> CUTLosses:
        cfg, x, mx, y, my = self.cfg, batch.x, batch.mx, batch.y, batch.my
        n = x.shape[0]
        flipped = self.flip and float(torch.rand(1, generator=self.rng)) < 0.5
        inp = torch.cat([x, y]) if self.nce_idt else x
        m_fake = mx.flip(-1) if flipped else mx
        out = self.G(inp.flip(-1) if flipped else inp)
        refined = out[:n]
        fake_y = self.camera(refined)

        self.freeze_discriminators(False)
        d_loss = self.disc_loss(self.D_Y, self.pool_Y, y, my, fake_y, m_fake)
        self.update(self.opt_D, d_loss)

        self.freeze_discriminators(True)
        adv = self.adversarial(self.D_Y, fake_y, m_fake, True)
        loss_nce = self.nce(x, refined, flipped)
        nce_idt_v = None
        nce_both = loss_nce
        if self.nce_idt:
            loss_idt = self.nce(y, out[n:], flipped)
            nce_both = 0.5 * (loss_nce + loss_idt)
            nce_idt_v = loss_idt.item()
        loss = cfg.lambda_adv * adv + nce_both
        self.update(self.opt_G, loss, self.opt_mlp)
        return CUTLosses(
            g_adv=adv.item(), g_total=loss.item(), d_total=d_loss.item(), nce=loss_nce.item(), nce_idt=nce_idt_v
        )


class FastCUTObjective(CUTObjective):
    name: ClassVar[str] = "fastcut"
    default_lambda_nce: ClassVar[float] = 10.0
    default_nce_idt: ClassVar[bool] = False
    default_flip_equivariance: ClassVar[bool] = True
