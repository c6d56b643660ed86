"""What every training objective shares: the refiner G and the real-vs-refined discriminator D_Y, the frozen camera
``look`` applied to G's output before anything compares it with real crops, DiffAugment and the optional person-mask
restriction on every discriminator input, history pools, the L1 pre-fit warm-up, and tensors-only state.

An objective owns its networks and optimizers; ``step(batch)`` does one generator and one discriminator update and
returns a typed loss record. The Trainer owns the loop (data, schedule, checkpoints, outputs).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from refine_server.networks import PatchDiscriminator, build_generator

from ..config import TrainConfig
from ..diffaugment import diff_augment
from ..image_pool import ImagePool
from ..losses import lsgan_loss

__all__ = ["Batch", "LossRecord", "Objective", "PretrainRecord"]


@dataclass(frozen=True)
class Batch:
    """Synthetic crops ``x`` with person masks ``mx`` and real crops ``y`` with ``my`` (images in [-1, 1], BCHW)."""

    x: torch.Tensor
    mx: torch.Tensor
    y: torch.Tensor
    my: torch.Tensor


@dataclass(frozen=True)
class LossRecord:
    """Losses of one adversarial step (floats); subclasses add their method's terms (None = term switched off)."""

    g_adv: float
    g_total: float
    d_total: float

    def as_dict(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class PretrainRecord:
    pretrain_l1: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class Objective(ABC):
    """Base of the training methods (one subclass per method, registered by ``name``)."""

    name: ClassVar[str]
    pretrain_needs_real: ClassVar[bool] = False  # does the L1 warm-up also fit a real→synthetic generator?

    def __init__(
        self, cfg: TrainConfig, device: torch.device, rng: torch.Generator, look: nn.Module | None = None
    ) -> None:
        self.cfg, self.device, self.rng = cfg, device, rng
        self.arch = cfg.generator.get("architecture", "resnet")
        self.ghp = dict(cfg.generator.get("hyperparameters", {}))
        self.G = self.new_generator()
        self.D_Y: PatchDiscriminator = self.new_discriminator()  # real vs refined
        self.look = _frozen(look, device)
        self.pool_Y = ImagePool(cfg.pool_size, rng)
        self.pool_X = ImagePool(cfg.pool_size, rng)  # used by two-sided methods; always checkpointed
        self.build()

    # -- construction ----------------------------------------------------------------------------------------------
    def new_generator(self) -> nn.Module:
        return build_generator(self.arch, **self.ghp).to(self.device)

    def new_discriminator(self) -> PatchDiscriminator:
        return PatchDiscriminator(**dict(self.cfg.discriminator)).to(self.device)

    def adam(self, params: list[nn.Parameter]) -> torch.optim.Adam:
        return torch.optim.Adam(params, lr=self.cfg.lr, betas=(self.cfg.beta1, self.cfg.beta2))

    def build_optimizers(self, g_nets: list[nn.Module], d_nets: list[nn.Module]) -> None:
        """opt_G / opt_D over the given networks, opt_pre (the warm-up) over the generators."""
        g_params = [p for n in g_nets for p in n.parameters()]
        self.opt_G = self.adam(g_params)
        self.opt_D = self.adam([p for n in d_nets for p in n.parameters()])
        self.opt_pre = self.adam(g_params)

    # -- what subclasses provide -----------------------------------------------------------------------------------
    @abstractmethod
    def build(self) -> None:
        """Create the method's other networks and its optimizers (``build_optimizers``), after G and D_Y."""

    @property
    @abstractmethod
    def nets(self) -> dict[str, nn.Module]:
        """Every trained network by checkpoint name."""

    @property
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Optimizers by checkpoint name; all but ``opt_pre`` follow the learning-rate schedule."""
        return {"opt_G": self.opt_G, "opt_D": self.opt_D, "opt_pre": self.opt_pre}

    @abstractmethod
    def discriminators(self) -> list[nn.Module]: ...

    @abstractmethod
    def pretrain_generators(self) -> list[nn.Module]:
        """Generators fitted to the identity by the warm-up (G first)."""

    @abstractmethod
    def step(self, batch: Batch) -> LossRecord:
        """One generator update and one discriminator update."""

    # -- shared pieces ---------------------------------------------------------------------------------------------
    def scheduled_optimizers(self) -> list[torch.optim.Optimizer]:
        return [o for k, o in self.optimizers.items() if k != "opt_pre"]

    def camera(self, refined: torch.Tensor) -> torch.Tensor:
        """The frozen look applied to G's output (identity without a look); gradients flow through it to G."""
        return refined if self.look is None else self.look(refined)

    def augment(self, x: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.cfg.diffaugment:
            return x, m
        return diff_augment(x, self.cfg.diffaugment, m, generator=self.rng)  # type: ignore[return-value]

    def adversarial(self, D: nn.Module, x: torch.Tensor, m: torch.Tensor, real: bool) -> torch.Tensor:
        """LSGAN loss of D on augmented ``x`` against the target ``real``, masked when configured."""
        xa, ma = self.augment(x, m)
        return lsgan_loss(D(xa), real, ma if self.cfg.masked_adversarial else None)

    def disc_loss(
        self,
        D: nn.Module,
        pool: ImagePool,
        real: torch.Tensor,
        m_real: torch.Tensor,
        fake: torch.Tensor,
        m_fake: torch.Tensor,
    ) -> torch.Tensor:
        """½ (real → 1 + pooled past fake → 0)."""
        past, m_past = pool.query(fake.detach(), m_fake)
        return 0.5 * (self.adversarial(D, real, m_real, True) + self.adversarial(D, past, m_past, False))

    def freeze_discriminators(self, frozen: bool) -> None:
        for D in self.discriminators():
            D.requires_grad_(not frozen)

    @staticmethod
    def update(opt: torch.optim.Optimizer, loss: torch.Tensor, *more: torch.optim.Optimizer) -> None:
        for o in (opt, *more):
            o.zero_grad(set_to_none=True)
        loss.backward()
        for o in (opt, *more):
            o.step()

    def pretrain_step(self, x: torch.Tensor, y: torch.Tensor | None = None) -> PretrainRecord:
        """L1 pre-fitting: G(x) ≈ x (and F(y) ≈ y for two-sided methods), seed 000 / SimGAN's warm-up."""
        gens = self.pretrain_generators()
        loss = (gens[0](x) - x).abs().mean()
        if len(gens) > 1 and y is not None:
            loss = loss + (gens[1](y) - y).abs().mean()
        self.update(self.opt_pre, loss)
        return PretrainRecord(pretrain_l1=loss.item())

    # -- state -----------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain containers only (checkpoints load with ``weights_only=True``)."""
        st: dict[str, Any] = {"nets": {k: v.state_dict() for k, v in self.nets.items()}}
        st.update({k: o.state_dict() for k, o in self.optimizers.items()})
        st.update(pool_Y=self.pool_Y.state(), pool_X=self.pool_X.state())
        return st

    def load_state_dict(self, st: dict[str, Any]) -> None:
        for k, v in st["nets"].items():
            self.nets[k].load_state_dict(v)
        for k, o in self.optimizers.items():
            o.load_state_dict(st[k])
        self.pool_Y.load(st["pool_Y"])
        self.pool_X.load(st["pool_X"])


def _frozen(look: nn.Module | None, device: torch.device) -> nn.Module | None:
    if look is None:
        return None
    look = look.to(device).eval()
    look.requires_grad_(False)
    return look
