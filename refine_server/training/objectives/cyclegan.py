"""CycleGAN with the thesis's discriminator-feature cyclic loss D^S (§2.4–2.6, Eq. 2.21; Table 3.2's best model).

G: X→Y (the shipped refiner) and F: Y→X, PatchGAN discriminators D_Y (real vs look(G(x))) and D_X (synthetic vs
F(y)), LSGAN, history pools, cycle pixel loss (λ_cycle), identity pixel loss (λ_identity) and, with
λ_disc_feature > 0, the L2 distance between discriminator activations of x and F(G(x)) (and of y and G(F(y))).
The camera look sits on every path into the real domain: look(G(·)) is what D_Y, F and the y-cycle see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from ..losses import disc_feature_cycle_loss
from .base import Batch, LossRecord, Objective

__all__ = ["CycleGANLosses", "CycleGANObjective"]


@dataclass(frozen=True)
class CycleGANLosses(LossRecord):
    cycle: float
    identity: float | None = None
    disc_feature_cycle: float | None = None


class CycleGANObjective(Objective):
    name: ClassVar[str] = "cyclegan_ds"
    pretrain_needs_real: ClassVar[bool] = True

    def build(self) -> None:
        self.F = self.new_generator()
        self.D_X = self.new_discriminator()  # synthetic vs F(real)
        self.build_optimizers([self.G, self.F], [self.D_Y, self.D_X])

    @property
    def nets(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D_Y": self.D_Y, "F": self.F, "D_X": self.D_X}

    def discriminators(self) -> list[nn.Module]:
        return [self.D_Y, self.D_X]

    def pretrain_generators(self) -> list[nn.Module]:
        return [self.G, self.F]

    def step(self, batch: Batch) -> CycleGANLosses:
        cfg, x, mx, y, my = self.cfg, batch.x, batch.mx, batch.y, batch.my
        self.freeze_discriminators(True)
        fake_y = self.camera(self.G(x))
        rec_x = self.F(fake_y)
        fake_x = self.F(y)
        rec_y = self.camera(self.G(fake_x))
        adv = self.adversarial(self.D_Y, fake_y, mx, True) + self.adversarial(self.D_X, fake_x, my, True)
        cyc = (rec_x - x).abs().mean() + (rec_y - y).abs().mean()
        loss = cfg.lambda_adv * adv + cfg.lambda_cycle * cyc
        idt_v = dfe_v = None
        if cfg.lambda_identity > 0:
            idt = (self.G(y) - y).abs().mean() + (self.F(x) - x).abs().mean()
            loss = loss + cfg.lambda_identity * idt
            idt_v = idt.item()
        lam_df = cfg.lambda_disc_feature or 0.0
        if lam_df > 0:
            layers = cfg.disc_feature_layers
            dfe = disc_feature_cycle_loss(
                self.D_X.features(x), self.D_X.features(rec_x), layers
            ) + disc_feature_cycle_loss(self.D_Y.features(y), self.D_Y.features(rec_y), layers)
            loss = loss + lam_df * dfe
            dfe_v = dfe.item()
        self.update(self.opt_G, loss)

        self.freeze_discriminators(False)
        d_loss = self.disc_loss(self.D_Y, self.pool_Y, y, my, fake_y, mx) + self.disc_loss(
            self.D_X, self.pool_X, x, mx, fake_x, my
        )
        self.update(self.opt_D, d_loss)
        return CycleGANLosses(
            g_adv=adv.item(),
            g_total=loss.item(),
            d_total=d_loss.item(),
            cycle=cyc.item(),
            identity=idt_v,
            disc_feature_cycle=dfe_v,
        )
