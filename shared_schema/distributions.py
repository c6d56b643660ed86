"""Serializable random distributions and the seeding rule every sampler follows."""

from __future__ import annotations

import zlib
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


def rng_for(seed: int, *keys: str | int) -> np.random.Generator:
    """A generator derived from ``seed`` and a path of keys (e.g. ``rng_for(seed, "person", 3)``).

    The derivation is stable across runs, processes and platforms, so every sampled quantity depends only
    on the image seed and on where it is sampled, never on the order other things were sampled in.
    """
    words = [int(seed) & 0xFFFFFFFF, (int(seed) >> 32) & 0xFFFFFFFF]
    for key in keys:
        words.append(key & 0xFFFFFFFF if isinstance(key, int) else zlib.crc32(str(key).encode()))
    return np.random.default_rng(np.random.SeedSequence(words))


class Uniform(BaseModel):
    """U(low, high)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    kind: Literal["uniform"] = "uniform"
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("high must be >= low")
        return self

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))


class Normal(BaseModel):
    """N(mean, std), optionally clipped to [low, high]."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    kind: Literal["normal"] = "normal"
    mean: float
    std: float = Field(ge=0.0)
    low: float | None = None
    high: float | None = None

    def sample(self, rng: np.random.Generator) -> float:
        value = float(rng.normal(self.mean, self.std))
        if self.low is not None:
            value = max(self.low, value)
        if self.high is not None:
            value = min(self.high, value)
        return value


Distribution = Annotated[Union[Uniform, Normal], Field(discriminator="kind")]


class IntRange(BaseModel):
    """Integer drawn uniformly from ``[low, high]`` inclusive (the thesis's U(a, b) for counts)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    low: int = Field(ge=0)
    high: int = Field(ge=0)

    @model_validator(mode="after")
    def _order(self) -> IntRange:
        if self.high < self.low:
            raise ValueError("high must be >= low")
        return self

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.low, self.high + 1))
