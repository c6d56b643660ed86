"""SimGAN (Shrivastava et al. 2017): refiner R = G, local (PatchGAN) adversarial loss on look(G(x)) with a history of
refined images, plus self-regularization L1 between G(x) and x (per colour channel or on the channel mean). The
camera look is not penalised by the self-regularization: G only learns what the look leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from ..losses import self_regularization
from .base import Batch, LossRecord, Objective

__all__ = ["SimGANLosses", "SimGANObjective"]


@dataclass(frozen=True)
class SimGANLosses(LossRecord):
    self_reg: float


class SimGANObjective(Objective):
    name: ClassVar[str] = "simgan"

    def build(self) -> None:
        self.build_optimizers([self.G], [self.D_Y])

    @property
    def nets(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D_Y": self.D_Y}

    def discriminators(self) -> list[nn.Module]:
        return [self.D_Y]

    def pretrain_generators(self) -> list[nn.Module]:
        return [self.G]

    def step(self, batch: Batch) -> SimGANLosses:
        cfg, x, mx = self.cfg, batch.x, batch.mx
        self.freeze_discriminators(True)
        refined = self.G(x)
        fake_y = self.camera(refined)
        adv = self.adversarial(self.D_Y, fake_y, mx, True)
        reg = self_regularization(refined, x, cfg.self_reg_per_channel)
        loss = cfg.lambda_adv * adv + cfg.lambda_self_reg * reg
        self.update(self.opt_G, loss)

        self.freeze_discriminators(False)
        d_loss = self.disc_loss(self.D_Y, self.pool_Y, batch.y, batch.my, fake_y, mx)
        self.update(self.opt_D, d_loss)
        return SimGANLosses(g_adv=adv.item(), g_total=loss.item(), d_total=d_loss.item(), self_reg=reg.item())
