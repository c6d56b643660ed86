"""Downstream test (the thesis's protocol, §3.5.2 / Tables 4.2–4.4): train a small head detector from scratch on one
training set (synthetic, refined, or a few real frames), evaluate it on held-out real frames, report P / R / F1.

The detector is a tiny CenterNet-style network (no pretrained weights): full frames resized to ``res`` x ``res``,
a stride-4 heat map of head centres trained with the focal loss on Gaussian targets, 3x3 max-pool peak picking.

Ground truth on real frames: CEPDOF rotated boxes carry no head point, so the head is approximated by an end of the
box's long axis (:func:`refine_server.training.dataset.head_from_rotated_box`). The same rule is applied to the
renders' rotated boxes for training, so training and test labels are defined identically (the renders' true
``head_2d`` is used only to check the rule). A detection is a true positive when it lies within
``match_frac x`` (the box width) of an unmatched ground-truth head (greedy, highest score first).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from refine_server.training.dataset import RealSource, head_from_rotated_box, read_rgb, real_records
from shared_schema.dataset import DatasetPaths, complete_ids

__all__ = ["DetFrame", "HeadNet", "evaluate_detector", "frames_from_real", "frames_from_rendered", "train_detector"]


@dataclass
class DetFrame:
    image: torch.Tensor  # (3, R, R) float in [-1, 1]
    heads: np.ndarray  # (K, 2) in resized pixels
    radii: np.ndarray  # (K,) match radius in resized pixels
    name: str = ""


def _resize(rgb: np.ndarray, res: int) -> tuple[torch.Tensor, float, float]:
    h, w = rgb.shape[:2]
    im = Image.fromarray(rgb).resize((res, res), Image.Resampling.BILINEAR, reducing_gap=None)
    t = torch.from_numpy(np.asarray(im, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 127.5 - 1.0
    return t, res / w, res / h


def frames_from_rendered(
    root: str | Path,
    res: int = 256,
    *,
    image_dir: str | Path = "images",
    rule: str = "outer",
    match_frac: float = 0.5,
    max_images: int | None = None,
) -> tuple[list[DetFrame], dict]:
    """Frames of a rendered dataset (``image_dir`` may point at refined images of the same ids)."""
    root = Path(root)
    frames, n_ok, n_chk = [], 0, 0
    for iid in complete_ids(root)[: max_images if max_images else None]:
        p = Path(image_dir) / f"{iid}.png" if Path(image_dir).is_absolute() else root / image_dir / f"{iid}.png"
        if not p.is_file():
            continue
        ann = json.loads(DatasetPaths(root, iid).annotation.read_text())
        rgb = read_rgb(p)
        t, sx, sy = _resize(rgb, res)
        pp = ann.get("camera", {}).get("principal_point") or (rgb.shape[1] / 2.0, rgb.shape[0] / 2.0)
        heads, radii = [], []
        for person in ann.get("persons", []):
            rb = person.get("rotated_box")
            if not rb or person.get("area", 1) <= 0:
                continue
            hx, hy = head_from_rotated_box(rb, tuple(pp), rule)
            if person.get("head_2d") is not None:  # check the rule against the true head point
                other = head_from_rotated_box(rb, tuple(pp), "inner" if rule == "outer" else "outer")
                d_rule = math.dist((hx, hy), person["head_2d"])
                d_other = math.dist(other, person["head_2d"])
                n_chk += 1
                n_ok += int(d_rule <= d_other)
            heads.append((hx * sx, hy * sy))
            radii.append(max(match_frac * float(rb[2]) * sx, 2.0))
        frames.append(DetFrame(t, np.array(heads, dtype=np.float64).reshape(-1, 2), np.array(radii), iid))
    return frames, {"head_rule": rule, "rule_checked_on": n_chk, "rule_agrees_with_head_2d": n_ok}


def frames_from_real(
    src: RealSource, res: int = 256, *, rule: str = "outer", match_frac: float = 0.5, mask_overlays: bool = True
) -> list[DetFrame]:
    """Frames of a real source with CEPDOF rotated boxes; heads from the box rule; overlays filled if configured."""
    from refine_server.training.dataset import _fill_overlays, load_real_frame

    frames = []
    for rec, boxes in real_records(src):
        loaded = load_real_frame(src, rec, boxes)
        if loaded is None:
            continue
        rgb, boxes, overlays = loaded
        if mask_overlays and overlays:
            rgb, _ = _fill_overlays(rgb, overlays)
        t, sx, sy = _resize(rgb, res)
        c = (rgb.shape[1] / 2.0, rgb.shape[0] / 2.0)
        heads = [head_from_rotated_box(b, c, rule) for b in boxes]
        heads_r = np.array([(x * sx, y * sy) for x, y in heads], dtype=np.float64).reshape(-1, 2)
        radii = np.array([max(match_frac * float(b[2]) * sx, 2.0) for b in boxes])
        frames.append(DetFrame(t, heads_r, radii, str(rec["id"])))
    return frames


def _cbr(i: int, o: int, s: int = 1, d: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(i, o, 3, s, d, dilation=d, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


class HeadNet(nn.Module):
    """Tiny from-scratch CenterNet: stride-4 head heat-map logits."""

    def __init__(self, w: int = 24) -> None:
        super().__init__()
        self.s2 = nn.Sequential(_cbr(3, w, 2), _cbr(w, w))
        self.s4 = nn.Sequential(_cbr(w, 2 * w, 2), _cbr(2 * w, 2 * w))
        self.s8 = nn.Sequential(
            _cbr(2 * w, 4 * w, 2), _cbr(4 * w, 4 * w), _cbr(4 * w, 4 * w, d=2), _cbr(4 * w, 4 * w, d=4)
        )
        self.fuse = nn.Sequential(_cbr(6 * w, 2 * w), nn.Conv2d(2 * w, 1, 1))
        head = cast(nn.Conv2d, self.fuse[-1])
        assert head.bias is not None
        nn.init.constant_(head.bias, -2.19)  # prior 0.1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.s4(self.s2(x))
        b = F.interpolate(self.s8(a), size=a.shape[-2:], mode="nearest")
        return self.fuse(torch.cat([a, b], 1))


def _target(frames: list[DetFrame], out: int, stride: int, sigma: float) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(out).float() + 0.5, torch.arange(out).float() + 0.5, indexing="ij")
    t = torch.zeros(len(frames), 1, out, out)
    for i, f in enumerate(frames):
        for hx, hy in f.heads:
            g = torch.exp(-((xs - hx / stride) ** 2 + (ys - hy / stride) ** 2) / (2 * sigma**2))
            t[i, 0] = torch.maximum(t[i, 0], g)
    return t


def _focal(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = (target > 0.99).float()
    neg = 1 - pos
    lp = -torch.log(p) * (1 - p) ** 2 * pos
    ln = -torch.log(1 - p) * p**2 * (1 - target) ** 4 * neg
    return (lp.sum() + ln.sum()) / pos.sum().clamp_min(1.0)


def _augment(x: torch.Tensor, t: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    k = int(torch.randint(0, 4, (1,), generator=g))  # fisheye: rotation-symmetric, any 90° turn is valid
    x, t = torch.rot90(x, k, (2, 3)), torch.rot90(t, k, (2, 3))
    if float(torch.rand(1, generator=g)) < 0.5:
        x, t = x.flip(3), t.flip(3)
    n = x.shape[0]
    b = (torch.rand(n, 1, 1, 1, generator=g) - 0.5) * 0.4
    c = torch.rand(n, 1, 1, 1, generator=g) * 0.5 + 0.75
    return ((x - x.mean((1, 2, 3), keepdim=True)) * c + x.mean((1, 2, 3), keepdim=True) + b).clamp(-1, 1), t


def train_detector(
    frames: list[DetFrame],
    steps: int = 600,
    batch: int = 8,
    lr: float = 2e-3,
    seed: int = 0,
    width: int = 24,
    sigma: float = 1.5,
    device: str = "cpu",
    log: list | None = None,
) -> HeadNet:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    net = HeadNet(width).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1), pct_start=0.15)
    res = frames[0].image.shape[-1]
    X = torch.stack([f.image for f in frames])
    T = _target(frames, res // 4, 4, sigma)
    net.train()
    for s in range(steps):
        idx = torch.randint(0, len(frames), (batch,), generator=g)
        x, t = _augment(X[idx], T[idx], g)
        loss = _focal(net(x.to(device)), t.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if log is not None and (s % 20 == 0 or s == steps - 1):
            log.append({"step": s, "loss": loss.item()})
    return net.eval()


@torch.no_grad()
def detect(net: HeadNet, frames: list[DetFrame], device: str = "cpu") -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for f in frames:
        hm = torch.sigmoid(net(f.image[None].to(device)))[0, 0].cpu()
        peaks = (hm == F.max_pool2d(hm[None, None], 3, 1, 1)[0, 0]) & (hm > 0.02)
        ys, xs = torch.nonzero(peaks, as_tuple=True)
        scores = hm[ys, xs].numpy()
        pts = np.stack([(xs.numpy() + 0.5) * 4, (ys.numpy() + 0.5) * 4], 1).astype(np.float64)
        order = np.argsort(-scores)[:200]
        out.append((pts[order], scores[order]))
    return out


def _match(pts: np.ndarray, scores: np.ndarray, gt: np.ndarray, radii: np.ndarray, thr: float) -> tuple[int, int, int]:
    keep = scores >= thr
    pts = pts[keep]
    used = np.zeros(len(gt), bool)
    tp = 0
    for p in pts:  # already sorted by score
        if len(gt) == 0:
            break
        d = np.hypot(gt[:, 0] - p[0], gt[:, 1] - p[1])
        d[used | (d > radii)] = np.inf
        j = int(np.argmin(d))
        if np.isfinite(d[j]):
            used[j] = True
            tp += 1
    return tp, len(pts) - tp, len(gt) - tp


def prf(dets: list[tuple[np.ndarray, np.ndarray]], frames: list[DetFrame], thr: float) -> dict[str, float]:
    tp = fp = fn = 0
    for (p, s), f in zip(dets, frames, strict=True):
        a, b, c = _match(p, s, f.heads, f.radii, thr)
        tp, fp, fn = tp + a, fp + b, fn + c
    P = tp / (tp + fp) if tp + fp else 0.0
    R = tp / (tp + fn) if tp + fn else 0.0
    F1 = 2 * P * R / (P + R) if P + R else 0.0
    return {"precision": P, "recall": R, "f1": F1, "tp": tp, "fp": fp, "fn": fn, "threshold": thr}


def evaluate_detector(
    train_sets: dict[str, list[DetFrame]],
    test: list[DetFrame],
    *,
    steps: int = 600,
    seeds: tuple[int, ...] = (0,),
    threshold: float = 0.3,
    device: str = "cpu",
    batch: int = 8,
) -> dict[str, Any]:
    """Train one detector per (training set, seed), test on ``test``; P/R/F1 at ``threshold`` (primary, fixed
    in advance) and the best F1 over thresholds (an optimistic, test-tuned figure, reported for reference)."""
    results: dict[str, Any] = {}
    for name, frames in train_sets.items():
        runs: list[dict[str, Any]] = []
        for seed in seeds:
            t0 = time.time()
            log: list = []
            net = train_detector(frames, steps=steps, seed=seed, device=device, batch=batch, log=log)
            dets = detect(net, test, device)
            fixed = prf(dets, test, threshold)
            sweep = [prf(dets, test, t) for t in np.linspace(0.05, 0.95, 19)]
            best = max(sweep, key=lambda r: r["f1"])
            runs.append(
                {
                    "seed": seed,
                    "fixed": fixed,
                    "best_f1_over_thresholds": best,
                    "sweep": sweep,
                    "train_seconds": round(time.time() - t0, 1),
                    "loss_log": log,
                }
            )
        agg = {k: float(np.mean([r["fixed"][k] for r in runs])) for k in ("precision", "recall", "f1")}
        agg.update({f"{k}_std": float(np.std([r["fixed"][k] for r in runs])) for k in ("precision", "recall", "f1")})
        agg["best_f1_over_thresholds"] = float(np.mean([r["best_f1_over_thresholds"]["f1"] for r in runs]))
        results[name] = {
            "n_train_frames": len(frames),
            "n_train_heads": int(sum(len(f.heads) for f in frames)),
            **agg,
            "runs": runs,
        }
    return {
        "threshold": threshold,
        "steps": steps,
        "seeds": list(seeds),
        "n_test_frames": len(test),
        "n_test_heads": int(sum(len(f.heads) for f in test)),
        "by_training_set": results,
    }
