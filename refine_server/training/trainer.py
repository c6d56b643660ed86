"""CycleGAN-family and SimGAN refiner trainer (thesis §2.4–2.7, Table 3.2; SimGAN; L1 pre-fitting).

Domains: X = synthetic person crops, Y = real person crops (same crop geometry as the server).

``mode="cyclegan"``: G: X→Y (the shipped refiner) and F: Y→X, PatchGAN discriminators D_Y (real vs G(x)) and
D_X (synthetic vs F(y)), LSGAN, image history pools of 50, cycle pixel loss (λ=10), identity pixel loss, optional
discriminator-feature cyclic loss (the thesis's best model D^S, Eq. 2.21), generator input→output skip (a generator
hyper-parameter), DiffAugment on every discriminator input, optional adversarial loss restricted to the person mask.

``mode="simgan"``: refiner R = G, local (PatchGAN) adversarial loss + history + self-regularization L1 (optionally
per colour channel).

Both: optional L1 pre-fitting of G(x) ≈ x (seed 000), Adam(2e-4, β1=0.5), lr constant then linear decay to 0 over
the last ``1 - decay_start`` of the steps. Progress bar, losses.jsonl, fixed-seed sample grids, a loss-curve PNG,
checkpoints (``checkpoints/last.pt``, tensors only: loaded with ``weights_only=True``), resume, and the generator
exported as a servable model (``model/model.safetensors`` + ``model_card.json``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from refine_server.checkpoint import save_model
from refine_server.model_card import ModelCard
from refine_server.networks import PatchDiscriminator, build_generator

from .config import TrainConfig
from .dataset import CropSet, crops_from_real, crops_from_rendered, load_real_source
from .diffaugment import diff_augment
from .image_pool import ImagePool
from .losses import disc_feature_cycle_loss, lsgan_loss, self_regularization
from .plots import line_plot_png, sample_grid

__all__ = ["Trainer", "load_datasets", "pick_device"]


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def load_datasets(cfg: TrainConfig) -> tuple[CropSet, CropSet]:
    """(synthetic crops, real crops) as configured."""
    dc = cfg.data
    syn = [crops_from_rendered(cfg.resolve(p), dc.crop_size, margin=dc.margin, min_size=dc.min_size,
                               max_images=dc.max_synthetic_images) for p in dc.synthetic]  # fmt: skip
    real = []
    for i, r in enumerate(dc.real):
        src = load_real_source(r, base=Path(cfg.config_dir) if cfg.config_dir else None)
        real.append(crops_from_real(src, dc.crop_size, margin=dc.margin, min_size=dc.min_size,
                                    jitter=dc.real_jitter, seed=cfg.seed + i))  # fmt: skip
    return CropSet.concat(syn), CropSet.concat(real)


class Trainer:
    def __init__(self, cfg: TrainConfig, synthetic: CropSet, real: CropSet, device: torch.device | None = None):
        if len(synthetic) == 0 or len(real) == 0:
            raise ValueError(f"need synthetic and real crops (got {len(synthetic)} and {len(real)})")
        self.cfg = cfg
        self.device = device or pick_device(cfg.device)
        self.out = cfg.resolve(cfg.out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed)
        self.syn, self.real = synthetic, real
        gcfg = cfg.generator
        self.arch = gcfg.get("architecture", "resnet")
        self.ghp = dict(gcfg.get("hyperparameters", {}))
        self.G = build_generator(self.arch, **self.ghp).to(self.device)
        dcfg = dict(cfg.discriminator)
        self.D_Y = PatchDiscriminator(**dcfg).to(self.device)  # real vs refined
        self.nets: dict[str, nn.Module] = {"G": self.G, "D_Y": self.D_Y}
        if cfg.mode == "cyclegan":
            self.F = build_generator(self.arch, **self.ghp).to(self.device)
            self.D_X = PatchDiscriminator(**dcfg).to(self.device)  # synthetic vs F(real)
            self.nets.update({"F": self.F, "D_X": self.D_X})
        betas = (cfg.beta1, cfg.beta2)
        g_params = list(self.G.parameters()) + (list(self.F.parameters()) if cfg.mode == "cyclegan" else [])
        d_params = list(self.D_Y.parameters()) + (list(self.D_X.parameters()) if cfg.mode == "cyclegan" else [])
        self.opt_G = torch.optim.Adam(g_params, lr=cfg.lr, betas=betas)
        self.opt_D = torch.optim.Adam(d_params, lr=cfg.lr, betas=betas)
        self.opt_pre = torch.optim.Adam(g_params, lr=cfg.lr, betas=betas)
        self.sched = [torch.optim.lr_scheduler.LambdaLR(o, self._lr_factor) for o in (self.opt_G, self.opt_D)]
        self.rng = torch.Generator().manual_seed(cfg.seed)
        self.pool_Y = ImagePool(cfg.pool_size, self.rng)
        self.pool_X = ImagePool(cfg.pool_size, self.rng)
        self.step = 0
        self.pre_step = 0
        self.history: list[dict[str, Any]] = []
        g = torch.Generator().manual_seed(1234)
        n = min(cfg.n_samples, len(synthetic))
        self.sample_idx = torch.randperm(len(synthetic), generator=g)[:n]
        self.elapsed = 0.0

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

    def _aug(self, x: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.cfg.diffaugment:
            return x, m
        return diff_augment(x, self.cfg.diffaugment, m, generator=self.rng)  # type: ignore[return-value]

    def _adv(self, D: nn.Module, x: torch.Tensor, m: torch.Tensor, real: bool) -> torch.Tensor:
        xa, ma = self._aug(x, m)
        return lsgan_loss(D(xa), real, ma if self.cfg.masked_adversarial else None)

    # -- steps -----------------------------------------------------------------------------------------------------
    def pretrain_step(self) -> dict[str, float]:
        """L1 pre-fitting: G(x) ≈ x (and F(y) ≈ y), seed 000 / SimGAN's warm-up."""
        x, _ = self._batch(self.syn)
        loss = (self.G(x) - x).abs().mean()
        if self.cfg.mode == "cyclegan":
            y, _ = self._batch(self.real)
            loss = loss + (self.F(y) - y).abs().mean()
        self.opt_pre.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_pre.step()
        self.pre_step += 1
        return {"pretrain_l1": loss.item()}

    def train_step(self) -> dict[str, float]:
        cfg = self.cfg
        x, mx = self._batch(self.syn)
        y, my = self._batch(self.real)
        logs: dict[str, float] = {}
        for D in self._discs():
            D.requires_grad_(False)
        fake_y = self.G(x)
        if cfg.mode == "cyclegan":
            rec_x = self.F(fake_y)
            fake_x = self.F(y)
            rec_y = self.G(fake_x)
            adv = self._adv(self.D_Y, fake_y, mx, True) + self._adv(self.D_X, fake_x, my, True)
            cyc = (rec_x - x).abs().mean() + (rec_y - y).abs().mean()
            loss = cfg.lambda_adv * adv + cfg.lambda_cycle * cyc
            logs.update(g_adv=adv.item(), cycle=cyc.item())
            if cfg.lambda_identity > 0:
                idt = (self.G(y) - y).abs().mean() + (self.F(x) - x).abs().mean()
                loss = loss + cfg.lambda_identity * idt
                logs["identity"] = idt.item()
            if cfg.lambda_disc_feature > 0:
                L = cfg.disc_feature_layers
                dfe = disc_feature_cycle_loss(self.D_X.features(x), self.D_X.features(rec_x), L) + \
                    disc_feature_cycle_loss(self.D_Y.features(y), self.D_Y.features(rec_y), L)
                loss = loss + cfg.lambda_disc_feature * dfe
                logs["disc_feature_cycle"] = dfe.item()
        else:
            adv = self._adv(self.D_Y, fake_y, mx, True)
            reg = self_regularization(fake_y, x, cfg.self_reg_per_channel)
            loss = cfg.lambda_adv * adv + cfg.lambda_self_reg * reg
            logs.update(g_adv=adv.item(), self_reg=reg.item())
        self.opt_G.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_G.step()
        logs["g_total"] = loss.item()

        for D in self._discs():
            D.requires_grad_(True)
        py, pmy = self.pool_Y.query(fake_y.detach(), mx)
        d_loss = 0.5 * (self._adv(self.D_Y, y, my, True) + self._adv(self.D_Y, py, pmy, False))
        if cfg.mode == "cyclegan":
            px, pmx = self.pool_X.query(fake_x.detach(), my)
            d_loss = d_loss + 0.5 * (self._adv(self.D_X, x, mx, True) + self._adv(self.D_X, px, pmx, False))
        self.opt_D.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_D.step()
        logs["d_total"] = d_loss.item()
        for s in self.sched:
            s.step()
        self.step += 1
        logs["lr"] = self.opt_G.param_groups[0]["lr"]
        return logs

    def _discs(self) -> Sequence[nn.Module]:
        return [self.D_Y] + ([self.D_X] if self.cfg.mode == "cyclegan" else [])

    # -- outputs ---------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def refine(self, x: torch.Tensor, batch: int = 64) -> torch.Tensor:
        self.G.eval()
        outs = [self.G(x[i : i + batch].to(self.device)).cpu() for i in range(0, x.shape[0], batch)]
        self.G.train()
        return torch.cat(outs) if outs else x.clone()

    def write_samples(self) -> Path:
        xs = self.syn.images[self.sample_idx]
        p = sample_grid(xs, self.refine(xs), self.out / "samples" / f"step_{self.step:06d}.png")
        (self.out / "samples.png").write_bytes(p.read_bytes())
        return p

    def write_loss_plot(self) -> Path:
        keys = sorted({k for h in self.history for k in h if k not in ("step", "phase", "lr", "time")})
        series = {}
        for k in keys:
            pts = [(h["step"], h[k]) for h in self.history if k in h and math.isfinite(h[k])]
            series[k] = ([p[0] for p in pts], [max(p[1], 1e-6) for p in pts])
        return line_plot_png(series, self.out / "loss_curves.png", title=f"{self.cfg.name}: losses (EMA 0.8, log)",
                             log_y=True, smooth=0.8)  # fmt: skip

    def card(self, metrics: dict[str, Any] | None = None) -> ModelCard:
        cfg = self.cfg
        hp = dict(self.ghp)
        mid = cfg.model_id or f"{cfg.mode}-{self.arch}-ngf{hp.get('ngf', hp.get('ch', ''))}-c{cfg.data.crop_size}"
        td = {"synthetic": cfg.data.synthetic, "real": [{k: v for k, v in r.items()} for r in cfg.data.real],
              "n_synthetic_crops": len(self.syn), "n_real_crops": len(self.real),
              "real_images": sorted({f"{m.get('source')}/{m.get('image_id')}" for m in self.real.meta}),
              "steps": self.step, "pretrain_steps": self.pre_step, "mode": cfg.mode,
              "train_config": cfg.model_dump(mode="json", exclude={"config_dir"}), **cfg.training_data_notes}
        return ModelCard(model_id=mid, architecture=self.arch, hyperparameters=hp, crop_size=cfg.data.crop_size,
                         margin=cfg.data.margin, training_data=td, metrics=metrics or {},
                         license_notes=cfg.license_notes)  # fmt: skip

    def export(self, directory: Path | None = None, metrics: dict[str, Any] | None = None) -> Path:
        d = Path(directory) if directory else self.out / "model"
        self.G.eval()
        p = save_model(d, self.G, self.card(metrics))
        self.G.train()
        return p

    # -- checkpoints -----------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step, "pre_step": self.pre_step, "elapsed": self.elapsed,
            "nets": {k: v.state_dict() for k, v in self.nets.items()},
            "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict(), "opt_pre": self.opt_pre.state_dict(),
            "sched": [s.state_dict() for s in self.sched], "rng": self.rng.get_state(),
            "torch_rng": torch.get_rng_state(), "pool_Y": self.pool_Y.state(), "pool_X": self.pool_X.state(),
            "history": json.dumps(self.history),
        }  # fmt: skip

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
        for k, v in st["nets"].items():
            self.nets[k].load_state_dict(v)
        self.opt_G.load_state_dict(st["opt_G"])
        self.opt_D.load_state_dict(st["opt_D"])
        self.opt_pre.load_state_dict(st["opt_pre"])
        for s, sd in zip(self.sched, st["sched"], strict=True):
            s.load_state_dict(sd)
        self.rng.set_state(st["rng"])
        torch.set_rng_state(st["torch_rng"])
        self.pool_Y.load(st["pool_Y"])
        self.pool_X.load(st["pool_X"])
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
        bar = tqdm(total=total, initial=self.pre_step + self.step, disable=not cfg.progress, desc=cfg.name,
                   dynamic_ncols=True)  # fmt: skip
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
        return {"step": self.step, "pretrain_step": self.pre_step, "seconds": self.elapsed,
                "stopped_early": stopped_early}  # fmt: skip

    def _record(self, logs: dict[str, float], step: int, fh, phase: str) -> None:
        rec: dict[str, Any] = {"step": step, "phase": phase, "time": round(time.time(), 2), **logs}
        self.history.append(rec)
        fh.write(json.dumps(rec) + "\n")
        fh.flush()
