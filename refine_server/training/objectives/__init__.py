"""Training objectives, one class per method (``TrainConfig.method``): ``cyclegan_ds``, ``simgan``, ``cut``,
``fastcut``. Each owns its networks, optimizers and losses; the Trainer runs the loop around it."""

from __future__ import annotations

import torch
from torch import nn

from ..config import TrainConfig
from .base import Batch, LossRecord, Objective, PretrainRecord
from .cut import CUTLosses, CUTObjective, FastCUTObjective
from .cyclegan import CycleGANLosses, CycleGANObjective
from .simgan import SimGANLosses, SimGANObjective

__all__ = [
    "OBJECTIVES",
    "Batch",
    "CUTLosses",
    "CUTObjective",
    "CycleGANLosses",
    "CycleGANObjective",
    "FastCUTObjective",
    "LossRecord",
    "Objective",
    "PretrainRecord",
    "SimGANLosses",
    "SimGANObjective",
    "build_objective",
]

OBJECTIVES: dict[str, type[Objective]] = {
    c.name: c for c in (CycleGANObjective, SimGANObjective, CUTObjective, FastCUTObjective)
}


def build_objective(
    cfg: TrainConfig, device: torch.device, rng: torch.Generator, look: nn.Module | None = None
) -> Objective:
    """The objective class named by ``cfg.method`` (already resolved from the old ``mode`` key)."""
    try:
        cls = OBJECTIVES[str(cfg.method)]
    except KeyError:
        raise ValueError(f"unknown training method {cfg.method!r}; known: {sorted(OBJECTIVES)}") from None
    return cls(cfg, device, rng, look)
