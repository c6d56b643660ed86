"""Training-step benchmark: prints ONE JSON line on stdout (progress goes to stderr).

Seconds per adversarial step (one generator + one discriminator update) of every training method at the size of
a training config (default: configs/train_default.json, the shipped model: crop 128, ResNet ngf 16 / 4 blocks,
PatchGAN ndf 32, batch 4), plus one L1 warm-up step, on random crops (step time does not depend on the pixels).
Methods are measured round-robin (ABCD ABCD ...) so a noisy shared machine slows them alike; figures are medians
of the per-round means. ``minutes_at_config`` = warm-up + adversarial steps of that config at the measured wall
rates, to check the ≤ 30 min CPU bound; ``steps_in_30_min`` = adversarial steps that fit in 30 min after the
warm-up. ``cpu_*`` are this process's CPU seconds, which other load on a shared machine inflates much less than
wall time: with ``--threads 1`` they are about the wall time on one dedicated core (an upper bound for two).

    .venv/bin/python bench/train_step.py [--config configs/train_default.json] [--threads 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from refine_server.training.config import TrainConfig  # noqa: E402
from refine_server.training.dataset import CropSet  # noqa: E402
from refine_server.training.objectives import OBJECTIVES  # noqa: E402
from refine_server.training.trainer import Trainer  # noqa: E402


def random_crops(n: int, size: int, seed: int) -> CropSet:
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    masks = (((yy - size / 2) / (size * 0.4)) ** 2 + ((xx - size / 2) / (size * 0.2)) ** 2 <= 1).float()
    return CropSet(images, masks.expand(n, 1, size, size).clone(), [{} for _ in range(n)])


def trainer_for(config: Path, method: str, out: Path, device: str) -> Trainer:
    raw = json.loads(config.read_text())
    raw.pop("mode", None)
    raw.update(method=method, out_dir=str(out / method), progress=False, device=device, config_dir=str(config.parent))
    if method == "cyclegan_ds":
        raw["lambda_disc_feature"] = None  # the method's own default: the D^S loss on
    cfg = TrainConfig.model_validate(raw)
    size = cfg.data.crop_size
    return Trainer(cfg, random_crops(32, size, 0), random_crops(32, size, 1))


def timed(fn, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall seconds, CPU seconds of this process) per call."""
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n, (time.process_time() - c0) / n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "train_default.json")
    ap.add_argument("--methods", default=",".join(OBJECTIVES), help="comma-separated subset of the methods")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads (the CPU bound is for 2 cores)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3, help="adversarial steps per method and round")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in OBJECTIVES]
    if bad or not a.config.is_file() or a.rounds < 1 or a.steps < 1:
        print(f"error: bad methods {bad} / config {a.config} / rounds / steps", file=sys.stderr)
        return 2
    torch.set_num_threads(a.threads)
    from tqdm import tqdm

    with tempfile.TemporaryDirectory() as tmp:
        trainers = {m: trainer_for(a.config, m, Path(tmp), a.device) for m in methods}
        for tr in trainers.values():  # warm-up: first calls allocate
            tr.pretrain_step()
            tr.train_step()
        step_s: dict[str, list[tuple[float, float]]] = {m: [] for m in methods}
        pre_s: dict[str, list[tuple[float, float]]] = {m: [] for m in methods}
        for _ in tqdm(range(a.rounds), desc="rounds", file=sys.stderr):
            for m, tr in trainers.items():
                pre_s[m].append(timed(tr.pretrain_step, 1))
                step_s[m].append(timed(tr.train_step, a.steps))
        cfg = next(iter(trainers.values())).cfg
    result = {
        "bench": "train_step",
        "config": str(a.config.relative_to(ROOT) if a.config.is_relative_to(ROOT) else a.config),
        "crop": cfg.data.crop_size,
        "batch": cfg.batch_size,
        "generator": cfg.generator,
        "threads": a.threads,
        "device": a.device,
        "rounds": a.rounds,
        "steps_per_round": a.steps,
        "config_steps": cfg.steps,
        "config_pretrain_steps": cfg.pretrain_steps,
        "methods": {},
    }
    for m in methods:
        s, p = (statistics.median(t[0] for t in step_s[m]), statistics.median(t[0] for t in pre_s[m]))
        cs, cp = (statistics.median(t[1] for t in step_s[m]), statistics.median(t[1] for t in pre_s[m]))
        result["methods"][m] = {
            "s_per_step": round(s, 4),
            "s_per_pretrain_step": round(p, 4),
            "cpu_s_per_step": round(cs, 4),
            "cpu_s_per_pretrain_step": round(cp, 4),
            "minutes_at_config": round((cfg.pretrain_steps * p + cfg.steps * s) / 60, 2),
            "cpu_minutes_at_config": round((cfg.pretrain_steps * cp + cfg.steps * cs) / 60, 2),
            "steps_in_30_min": int(max(0.0, 1800 - cfg.pretrain_steps * p) / s),
        }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
