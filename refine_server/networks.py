"""Generators and discriminator (thesis §2.x / §5.9: ResNet generator with an input→output skip connection).

All generators map float images in [-1, 1] (N, 3, S, S) to the same range and shape. With ``skip=True`` the
generator learns an additive, bounded correction: ``out = clamp(x + residual_scale * tanh(h(x)), -1, 1)``.
Normalization is per-sample (instance norm by default), so a crop's output does not depend on which other crops
share its batch: micro-batching across requests changes no pixel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "GENERATORS",
    "IdentityGenerator",
    "PatchDiscriminator",
    "PatchSampleMLP",
    "ResnetGenerator",
    "SimGANRefiner",
    "build_generator",
]


def _norm(kind: str, ch: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(ch, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind in ("none", "", None):
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r} (instance | batch | none)")


class ResnetBlock(nn.Module):
    def __init__(
        self, ch: int, norm: str = "instance", padding: Literal["zeros", "reflect", "replicate", "circular"] = "reflect"
    ) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(ch, ch, 3, padding=1, padding_mode=padding, bias=norm != "batch"),
            _norm(norm, ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(ch, ch, 3, padding=1, padding_mode=padding, bias=norm != "batch"),
            _norm(norm, ch),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """Johnson et al. / CycleGAN encoder - residual transformer - decoder.

    ``n_down`` stride-2 convolutions (channels ``ngf * 2**i``), ``n_blocks`` residual blocks, ``n_down`` upsampling
    stages (nearest-neighbour upsample + conv, which avoids transposed-conv checkerboards), 7x7 output conv.
    Input side must be divisible by ``2**n_down``.
    """

    def __init__(
        self,
        in_ch: int = 3,
        out_ch: int = 3,
        ngf: int = 32,
        n_blocks: int = 6,
        n_down: int = 2,
        skip: bool = True,
        residual_scale: float = 1.0,
        norm: str = "instance",
    ) -> None:
        super().__init__()
        if skip and in_ch != out_ch:
            raise ValueError("skip=True needs in_ch == out_ch")
        self.skip = bool(skip)
        self.residual_scale = float(residual_scale)
        self.n_down = int(n_down)
        bias = norm != "batch"
        layers: list[nn.Module] = [
            nn.Conv2d(in_ch, ngf, 7, padding=3, padding_mode="reflect", bias=bias),
            _norm(norm, ngf),
            nn.ReLU(inplace=True),
        ]
        self.stage_ends = [len(layers)]  # body index after which each encoder stage (stem, downs, blocks) ends
        ch = ngf
        for _ in range(n_down):
            layers += [
                nn.Conv2d(ch, ch * 2, 3, stride=2, padding=1, bias=bias),
                _norm(norm, ch * 2),
                nn.ReLU(inplace=True),
            ]
            self.stage_ends.append(len(layers))
            ch *= 2
        for _ in range(n_blocks):
            layers.append(ResnetBlock(ch, norm))
            self.stage_ends.append(len(layers))
        for _ in range(n_down):
            layers += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(ch, ch // 2, 3, padding=1, padding_mode="reflect", bias=bias),
                _norm(norm, ch // 2),
                nn.ReLU(inplace=True),
            ]
            ch //= 2
        layers += [nn.Conv2d(ch, out_ch, 7, padding=3, padding_mode="reflect")]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.body(x))
        if self.skip:
            return torch.clamp(x + self.residual_scale * h, -1.0, 1.0)
        return h

    def default_feature_layers(self) -> list[int]:
        """CUT's choice for its 9-block ResNet scaled to this one, in stage numbers: the input, the first and the
        last downsampling, the first residual block and the one 5/9 of the way down (for 9 blocks: the 5th)."""
        n_down, n_blocks = self.n_down, len(self.stage_ends) - 1 - self.n_down
        picks = [0, min(2, 1 + n_down), 1 + n_down, 2 + n_down, 1 + n_down + max(1, round(n_blocks * 5 / 9))]
        return sorted({min(p, len(self.stage_ends)) for p in picks})

    def features(self, x: torch.Tensor, layers: Sequence[int]) -> list[torch.Tensor]:
        """Encoder activations at the given stages (0 = input, 1 = stem, then each downsampling, then each residual
        block), in the order asked; runs the body only as far as the deepest stage."""
        return _stage_features(self.body, self.stage_ends, x, layers)


class SimGANRefiner(nn.Module):
    """SimGAN (Shrivastava et al. 2017) refiner: full-resolution convs + residual blocks, out = x + bounded residual."""

    def __init__(self, in_ch: int = 3, ch: int = 64, n_blocks: int = 4, residual_scale: float = 1.0) -> None:
        super().__init__()
        self.residual_scale = float(residual_scale)
        self.head = nn.Sequential(nn.Conv2d(in_ch, ch, 3, padding=1, padding_mode="reflect"), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(*[ResnetBlock(ch, norm="none") for _ in range(n_blocks)])
        self.tail = nn.Conv2d(ch, in_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = torch.tanh(self.tail(torch.relu(self.blocks(self.head(x)))))
        return torch.clamp(x + self.residual_scale * r, -1.0, 1.0)

    def default_feature_layers(self) -> list[int]:
        """Input, head, the first residual block and the one 5/9 of the way down (stage numbers, see ``features``)."""
        n = len(self.blocks)
        return sorted({min(p, 1 + n) for p in (0, 1, 2, 1 + max(1, round(n * 5 / 9)))})

    def features(self, x: torch.Tensor, layers: Sequence[int]) -> list[torch.Tensor]:
        """Activations at the given stages (0 = input, 1 = head, 1 + j = after residual block j)."""
        body = nn.Sequential(self.head, *self.blocks)
        return _stage_features(body, list(range(1, len(body) + 1)), x, layers)


def _stage_features(
    body: nn.Sequential, stage_ends: list[int], x: torch.Tensor, layers: Sequence[int]
) -> list[torch.Tensor]:
    """Outputs of ``body[:stage_ends[k - 1]]`` for each stage k in ``layers`` (stage 0 is ``x`` itself)."""
    bad = [k for k in layers if not 0 <= k <= len(stage_ends)]
    if bad:
        raise ValueError(f"feature stages {bad} out of range 0..{len(stage_ends)}")
    want = {0 if k == 0 else stage_ends[k - 1]: k for k in layers}
    got: dict[int, torch.Tensor] = {0: x} if 0 in want.values() else {}
    last = max(want)
    h = x
    for i, layer in enumerate(list(body)[:last]):
        h = layer(h)
        if i + 1 in want:
            got[want[i + 1]] = h
    return [got[k] for k in layers]


class PatchSampleMLP(nn.Module):
    """CUT's patch sampler + projection head: per feature layer, pick locations, map the feature vectors through a
    two-layer MLP and L2-normalise them. The same locations are reused for the paired (query) features."""

    def __init__(self, in_channels: Sequence[int], channels: int = 256) -> None:
        super().__init__()
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(c, channels), nn.ReLU(inplace=True), nn.Linear(channels, channels))
            for c in in_channels
        )
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(
        self,
        feats: Sequence[torch.Tensor],
        num_patches: int,
        patch_ids: Sequence[torch.Tensor] | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """``(projected, ids)``: projected[i] is (B * P, C) unit vectors, patches of one image contiguous."""
        if len(feats) != len(self.mlps):
            raise ValueError(f"{len(feats)} feature maps for {len(self.mlps)} heads")
        out, ids_out = [], []
        for i, f in enumerate(feats):
            b, c, h, w = f.shape
            flat = f.permute(0, 2, 3, 1).reshape(b, h * w, c)
            if patch_ids is None:
                ids = torch.randperm(h * w, generator=generator)[: min(num_patches, h * w)].to(f.device)
            else:
                ids = patch_ids[i]
            sample = flat[:, ids, :].reshape(-1, c)
            out.append(F.normalize(self.mlps[i](sample), dim=1))
            ids_out.append(ids)
        return out, ids_out


class IdentityGenerator(nn.Module):
    """Returns its input: only for testing the crop / batch / reinsert plumbing (explicit ``--model identity``)."""

    def __init__(self, **_: object) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class PatchDiscriminator(nn.Module):
    """PatchGAN (pix2pix / CycleGAN) discriminator returning a map of patch logits."""

    def __init__(self, in_ch: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "instance") -> None:
        super().__init__()
        blocks: list[nn.Module] = [nn.Sequential(nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True))]
        mult = 1
        for i in range(1, n_layers + 1):
            prev, mult = mult, min(2**i, 8)
            stride = 2 if i < n_layers else 1
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=norm != "batch"),
                    _norm(norm, ndf * mult),
                    nn.LeakyReLU(0.2, inplace=True),
                )
            )
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Conv2d(ndf * mult, 1, 4, 1, 1)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Intermediate activations, one per block (for a discriminator-feature cycle loss)."""
        feats = []
        for b in self.blocks:
            x = b(x)
            feats.append(x)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for b in self.blocks:
            x = b(x)
        return self.out(x)


GENERATORS: dict[str, type[nn.Module]] = {
    "resnet": ResnetGenerator,
    "simgan": SimGANRefiner,
    "identity": IdentityGenerator,
}


def build_generator(architecture: str, **hparams: object) -> nn.Module:
    """Build a generator by name ("resnet" | "simgan" | "identity") from its hyper-parameters."""
    try:
        cls = GENERATORS[architecture]
    except KeyError:
        raise ValueError(f"unknown architecture {architecture!r}; known: {sorted(GENERATORS)}") from None
    return cls(**hparams)
