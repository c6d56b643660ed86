"""The training loop around one objective (``TrainConfig.method``; refine_server/training/objectives/).

Domains: X = synthetic person crops, Y = real person crops (same crop geometry as the server). The objective
(CycleGAN with D^S, SimGAN, CUT, FastCUT) owns the networks, optimizers and losses; the Trainer owns the data
(random batches with horizontal flips), the optional L1 pre-fit warm-up, the learning-rate schedule (constant, then
linear decay to 0 over the last ``1 - decay_start`` of the steps), the optional frozen camera ``look`` handed to the
objective, and the outputs: progress bar, losses.jsonl, fixed-seed sample grids, a loss-curve PNG, checkpoints
(``checkpoints/last.pt``, tensors only: loaded with ``weights_only=True``), resume, and the generator exported as a
servable model (``model/model.safetensors`` + ``model_card.json``).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from refine_server.checkpoint import save_model
from refine_server.model_card import ModelCard

from .config import TrainConfig
from .dataset import CropSet, crops_from_real, crops_from_rendered, load_real_source
from .objectives import Batch, build_objective
from .plots import line_plot_png, sample_grid

__all__ = ["Trainer", "load_datasets", "load_synthetic", "pick_device"]


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def load_synthetic(cfg: TrainConfig) -> CropSet:
    """The person crops of the configured rendered datasets."""
    dc = cfg.data
    syn = [
        crops_from_rendered(
            cfg.resolve(p), dc.crop_size, margin=dc.margin, min_size=dc.min_size, max_images=dc.max_synthetic_images
        )
        for p in dc.synthetic
    ]
    return CropSet.concat(syn)


def load_datasets(cfg: TrainConfig) -> tuple[CropSet, CropSet]:
    """(synthetic crops, real crops) as configured."""
    dc = cfg.data
    real = []
    for i, r in enumerate(dc.real):
        src = load_real_source(r, base=Path(cfg.config_dir) if cfg.config_dir else None)
        real.append(
            crops_from_real(
                src, dc.crop_size, margin=dc.margin, min_size=dc.min_size, jitter=dc.real_jitter, seed=cfg.seed + i
            )
        )
    return load_synthetic(cfg), CropSet.concat(real)


class Trainer:
    def __init__(
        self,
        cfg: TrainConfig,
        synthetic: CropSet,
        real: CropSet,
        device: torch.device | None = None,
        look: nn.Module | None = None,
    ):
        """``look``: a frozen module applied to G's output (BCHW in [-1, 1]) before every real-vs-refined loss."""
        if len(synthetic) == 0 or len(real) == 0:
            raise ValueError(f"need synthetic and real crops (got {len(synthetic)} and {len(real)})")
        self.cfg = cfg
        self.device = device or pick_device(cfg.device)
        self.out = cfg.resolve(cfg.out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed)
        self.syn, self.real = synthetic, real
        self.rng = torch.Generator().manual_seed(cfg.seed)
        self.objective = build_objective(cfg, self.device, self.rng, look)
        self.arch, self.ghp = self.objective.arch, self.objective.ghp
        self.sched = [
            torch.optim.lr_scheduler.LambdaLR(o, self._lr_factor) for o in self.objective.scheduled_optimizers()
        ]
        self.step = 0
        self.pre_step = 0
        self.history: list[dict[str, Any]] = []
        g = torch.Generator().manual_seed(1234)
        n = min(cfg.n_samples, len(synthetic))
        self.sample_idx = torch.randperm(len(synthetic), generator=g)[:n]
        self.elapsed = 0.0

    @property
    def G(self) -> nn.Module:
        """The refiner being trained (what ``export`` writes)."""
        return self.objective.G

    @property
    def D_Y(self) -> nn.Module:
        """The real-vs-refined discriminator."""
        return self.objective.D_Y

    @property
    def nets(self) -> dict[str, nn.Module]:
        return self.objective.nets

    # -- schedule --------------------------------------------------------------------------------------------------
    def _lr_factor(self, step: int) -> float:
        total = max(self.cfg.steps, 1)
        start = int(total * self.cfg.decay_start)
        if step < start:
            return 1.0
        return max(0.0, 1.0 - (step - start) / max(total - start, 1))

    # -- data ------------------------------------------------------------------------------------------------------
    def _batch(self, cs: CropSet) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, len(cs), (self.cfg.batch_size,), generator=self.rng)
        x, m = cs.images[idx], cs.masks[idx]
        if self.cfg.data.hflip:
            flip = torch.rand(self.cfg.batch_size, generator=self.rng) < 0.5
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
            m = torch.where(flip.view(-1, 1, 1, 1), m.flip(-1), m)
        return x.to(self.device), m.to(self.device)

    # -- steps -----------------------------------------------------------------------------------------------------
    def pretrain_step(self) -> dict[str, float]:
        """One L1 pre-fit step of the objective's generators (G(x) ≈ x, and F(y) ≈ y for CycleGAN)."""
        x, _ = self._batch(self.syn)
        y = self._batch(self.real)[0] if self.objective.pretrain_needs_real else None
        rec = self.objective.pretrain_step(x, y)
        self.pre_step += 1
        return rec.as_dict()

    def train_step(self) -> dict[str, float]:
        """One adversarial step of the objective, then the schedule."""
        x, mx = self._batch(self.syn)
        y, my = self._batch(self.real)
        logs = self.objective.step(Batch(x, mx, y, my)).as_dict()
        for s in self.sched:
            s.step()
        self.step += 1
        logs["lr"] = self.objective.opt_G.param_groups[0]["lr"]
        return logs

    # -- outputs ---------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def refine(self, x: torch.Tensor, batch: int = 64, with_look: bool = False) -> torch.Tensor:
        """G's output (what ``export`` serves); ``with_look`` also applies the frozen camera look."""
        self.G.eval()
        post = self.objective.camera if with_look else (lambda t: t)
        outs = [post(self.G(x[i : i + batch].to(self.device))).cpu() for i in range(0, x.shape[0], batch)]
        self.G.train()
        return torch.cat(outs) if outs else x.clone()

    def write_samples(self) -> Path:
        xs = self.syn.images[self.sample_idx]
        p = sample_grid(xs, self.refine(xs, with_look=True), self.out / "samples" / f"step_{self.step:06d}.png")
        (self.out / "samples.png").write_bytes(p.read_bytes())
        return p

    def write_loss_plot(self) -> Path:
        keys = sorted({k for h in self.history for k in h if k not in ("step", "phase", "lr", "time")})
        series = {}
        for k in keys:
            pts = [(h["step"], h[k]) for h in self.history if k in h and math.isfinite(h[k])]
            series[k] = ([p[0] for p in pts], [max(p[1], 1e-6) for p in pts])
        return line_plot_png(
            series,
            self.out / "loss_curves.png",
            title=f"{self.cfg.name}: losses (EMA 0.8, log)",
            log_y=True,
            smooth=0.8,
        )

    def card(self, metrics: dict[str, Any] | None = None) -> ModelCard:
        cfg = self.cfg
        hp = dict(self.ghp)
        mid = cfg.model_id or f"{cfg.method}-{self.arch}-ngf{hp.get('ngf', hp.get('ch', ''))}-c{cfg.data.crop_size}"
        td = {
            "synthetic": cfg.data.synthetic,
            "real": [{k: v for k, v in r.items()} for r in cfg.data.real],
            "n_synthetic_crops": len(self.syn),
            "n_real_crops": len(self.real),
            "real_images": sorted({f"{m.get('source')}/{m.get('image_id')}" for m in self.real.meta}),
            "steps": self.step,
            "pretrain_steps": self.pre_step,
            "method": cfg.method,
            "train_config": cfg.model_dump(mode="json", exclude={"config_dir"}),
            **cfg.training_data_notes,
        }
        return ModelCard(
            model_id=mid,
            architecture=self.arch,
            hyperparameters=hp,
            crop_size=cfg.data.crop_size,
            margin=cfg.data.margin,
            training_data=td,
            metrics=metrics or {},
            license_notes=cfg.license_notes,
        )

    def export(self, directory: Path | None = None, metrics: dict[str, Any] | None = None) -> Path:
        d = Path(directory) if directory else self.out / "model"
        self.G.eval()
        p = save_model(d, self.G, self.card(metrics))
        self.G.train()
        return p

    # -- checkpoints -----------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Loop state plus the objective's (nets, optimizers, pools) at the top level, as older checkpoints had it."""
        return {
            "step": self.step,
            "pre_step": self.pre_step,
            "elapsed": self.elapsed,
            "method": self.cfg.method,
            **self.objective.state_dict(),
            "sched": [s.state_dict() for s in self.sched],
            "rng": self.rng.get_state(),
            "torch_rng": torch.get_rng_state(),
            "history": json.dumps(self.history),
        }

    def save_checkpoint(self) -> Path:
        d = self.out / "checkpoints"
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / "last.pt.tmp"
        torch.save(self.state_dict(), tmp)
        tmp.replace(d / "last.pt")
        return d / "last.pt"

    def load_checkpoint(self, path: Path | None = None) -> bool:
        path = Path(path) if path else self.out / "checkpoints" / "last.pt"
        if not path.is_file():
            return False
        st = torch.load(path, map_location="cpu", weights_only=True)
        method = st.get("method", self.cfg.method)  # checkpoints before objectives: the config's (old mode)
        if method != self.cfg.method:
            raise ValueError(f"checkpoint {path} was trained with method {method!r}, config says {self.cfg.method!r}")
        self.objective.load_state_dict(st)
        for s, sd in zip(self.sched, st["sched"], strict=True):
            s.load_state_dict(sd)
        self.rng.set_state(st["rng"])
        torch.set_rng_state(st["torch_rng"])
        self.step, self.pre_step = int(st["step"]), int(st["pre_step"])
        self.elapsed = float(st.get("elapsed", 0.0))
        self.history = json.loads(st["history"])
        return True

    # -- loop ------------------------------------------------------------------------------------------------------
    def fit(self, max_seconds: float | None = None, stop_at: int | None = None) -> dict[str, Any]:
        """Pre-fit then adversarial steps up to ``cfg.steps`` (continuing from a loaded checkpoint)."""
        cfg = self.cfg
        from tqdm import tqdm

        log = (self.out / "losses.jsonl").open("a")
        t0 = time.time() - self.elapsed
        total = cfg.pretrain_steps + cfg.steps
        bar = tqdm(
            total=total, initial=self.pre_step + self.step, disable=not cfg.progress, desc=cfg.name, dynamic_ncols=True
        )
        stopped_early = False
        try:
            while self.pre_step < cfg.pretrain_steps:
                logs = self.pretrain_step()
                self._record(logs, -cfg.pretrain_steps + self.pre_step, log, "pretrain")
                bar.update(1)
                bar.set_postfix({k: f"{v:.3g}" for k, v in logs.items()})
            while self.step < cfg.steps:
                logs = self.train_step()
                bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    self._record(logs, self.step, log, "adv")
                    bar.set_postfix({k: f"{v:.3g}" for k, v in logs.items() if k != "lr"})
                if cfg.sample_every and self.step % cfg.sample_every == 0:
                    self.write_samples()
                    self.write_loss_plot()
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                    self.elapsed = time.time() - t0
                    self.save_checkpoint()
                if (max_seconds is not None and time.time() - t0 > max_seconds) or (stop_at and self.step >= stop_at):
                    stopped_early = True
                    break
        finally:
            bar.close()
            log.close()
        self.elapsed = time.time() - t0
        self.save_checkpoint()
        self.write_samples()
        self.write_loss_plot()
        return {
            "step": self.step,
            "pretrain_step": self.pre_step,
            "seconds": self.elapsed,
            "stopped_early": stopped_early,
        }

    def _record(self, logs: dict[str, float], step: int, fh, phase: str) -> None:
        rec: dict[str, Any] = {"step": step, "phase": phase, "time": round(time.time(), 2), **logs}
        self.history.append(rec)
        fh.write(json.dumps(rec) + "\n")
        fh.flush()
