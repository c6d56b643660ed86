"""Training configuration (JSON file → pydantic model). Relative paths resolve against the config file's folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "METHOD_OF_MODE",
    "CandidatesConfig",
    "DataConfig",
    "Method",
    "RealFramesConfig",
    "TrainConfig",
    "load_config",
]

Method = Literal["cyclegan_ds", "simgan", "cut", "fastcut"]
METHOD_OF_MODE: dict[str, Method] = {"cyclegan": "cyclegan_ds", "simgan": "simgan"}  # the old `mode` key


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class DataConfig(_Strict):
    synthetic: list[str] = Field(default_factory=list, description="rendered dataset folders (images/instances/…)")
    real: list[dict[str, Any]] = Field(
        default_factory=list,
        description="real sources: {annotations, image_root, name, overlays, overlay_mode, cameras, exclude_cameras}",
    )
    crop_size: int = Field(64, ge=16, le=1024)
    margin: float = 0.15
    min_size: float = 32.0
    real_jitter: int = Field(8, ge=0, description="extra randomly perturbed crops per real person")
    max_synthetic_images: int | None = None
    hflip: bool = True


class CandidatesConfig(_Strict):
    """Person candidates from the footage (temporal-median background, no labels) for the generator stage."""

    enabled: bool = Field(True, description="look for person candidates in the footage and train the generator on them")
    min_crops: int = Field(16, ge=1, description="fewer candidates than this: keep the init generator")
    method: Method = Field("fastcut", description="objective of the generator trained on the candidates")
    steps: int = Field(600, ge=0, le=1_000_000, description="generator steps (FastCUT: 0.64 s/step at crop 128, quiet)")
    max_minutes: float = Field(18.0, gt=0.0, description="wall-time cap of the generator stage")
    min_frames: int = Field(3, ge=2, description="frames of one camera needed for a background model")
    k_mad: float = Field(6.0, gt=0.0, description="foreground threshold: median + k × MAD of colour distances")


class RealFramesConfig(_Strict):
    """Unlabeled footage of the target camera: the camera look is fitted on it (``train --real-frames``)."""

    paths: list[str] = Field(default_factory=list, description="folders / files of frames and/or videos")
    exclude: list[str] = Field(default_factory=list, description="leave out files whose name contains one of these")
    overlays: list[list[float]] = Field(default_factory=list, description="burnt-in overlays [x0, y0, x1, y1] (px)")
    resize_to: int = Field(512, ge=64, le=4096, description="working size: the longer side of renders and frames")
    video_every_s: float = Field(2.0, gt=0.0, le=3600.0)
    max_frames: int = Field(200, ge=1, le=100_000)
    photo_mode: Literal["harmonize", "fitted", "both", "off"] = "harmonize"
    fit: Literal["stats", "adversarial"] = Field(
        "stats", description="statistics matching, or that followed by a small patch discriminator"
    )
    adversarial_steps: int = Field(300, ge=1, le=100_000)
    colour: Literal["wb", "full"] = Field("wb", description="white balance only, or + saturation and tone curve")
    vignetting: bool = Field(False, description="fit radial vignetting (needs many frames: content-driven)")
    noise: bool = Field(
        True, description="fit sensor noise (off: the fitted noise is specific to the footage's camera and scale)"
    )
    init_model: str = Field("default", description="generator kept when there are no labelled real people")
    candidates: CandidatesConfig = Field(default_factory=CandidatesConfig)


class TrainConfig(_Strict):
    name: str = "refiner"
    out_dir: str = "out/train"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int | None = None
    generator: dict[str, Any] = Field(
        default_factory=lambda: {
            "architecture": "resnet",
            "hyperparameters": {"ngf": 16, "n_blocks": 4, "n_down": 2, "skip": True},
        }
    )
    discriminator: dict[str, Any] = Field(default_factory=lambda: {"ndf": 32, "n_layers": 3, "norm": "instance"})
    batch_size: int = Field(4, ge=1)
    steps: int = Field(2000, ge=0, description="adversarial iterations (one G and one D update each)")
    pretrain_steps: int = Field(0, ge=0, description="L1 pre-fitting of G(x) ≈ x before adversarial training")
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    decay_start: float = Field(0.5, ge=0.0, le=1.0, description="fraction of steps after which lr decays linearly")
    gan_loss: Literal["lsgan"] = "lsgan"
    lambda_adv: float = 1.0
    lambda_cycle: float = 10.0
    lambda_identity: float = 5.0
    lambda_disc_feature: float | None = Field(
        None, description="D^S discriminator-feature cycle loss; default 1 for method cyclegan_ds, 0 for old mode"
    )
    disc_feature_layers: list[int] = Field(default_factory=lambda: [1, 2, 3, 4])
    lambda_self_reg: float = 1.0
    self_reg_per_channel: bool = True
    pool_size: int = 50
    diffaugment: str = "color,translation,cutout"
    masked_adversarial: bool = False
    log_every: int = 10
    sample_every: int = 100
    checkpoint_every: int = 200
    n_samples: int = 8
    progress: bool = True
    data: DataConfig = Field(default_factory=DataConfig)
    real_frames: RealFramesConfig | None = Field(None, description="unlabeled footage: fit a camera look on it")
    model_id: str | None = None
    license_notes: str = ""
    training_data_notes: dict[str, Any] = Field(default_factory=dict)
    config_dir: str | None = Field(None, description="set by load_config: base of relative paths")

    # ---- training method / objective (issue 11 §3; refine_server/training/objectives/) --------------------------
    method: Method | None = Field(None, description="cyclegan_ds | simgan | cut | fastcut (default: from `mode`)")
    mode: Literal["cyclegan", "simgan"] | None = Field(None, description="old key: cyclegan → cyclegan_ds")
    lambda_nce: float | None = Field(None, ge=0.0, description="PatchNCE weight (CUT 1, FastCUT 10)")
    nce_idt: bool | None = Field(None, description="identity PatchNCE on real crops (CUT yes, FastCUT no)")
    flip_equivariance: bool | None = Field(None, description="flip the input half the time (FastCUT yes, CUT no)")
    nce_layers: list[int] | None = Field(None, description="generator stages for PatchNCE (0 = input)")
    nce_T: float = Field(0.07, gt=0.0, description="PatchNCE temperature")
    num_patches: int = Field(256, ge=1, le=4096, description="patches sampled per layer and image")
    nce_mlp_channels: int = Field(256, ge=8, le=2048, description="width of the PatchNCE projection head")

    @model_validator(mode="after")
    def _resolve_method(self) -> TrainConfig:
        if self.method is None:
            self.method = METHOD_OF_MODE[self.mode or "cyclegan"]
            explicit = False
        else:
            if self.mode is not None and METHOD_OF_MODE[self.mode] != self.method:
                raise ValueError(f"mode {self.mode!r} contradicts method {self.method!r}; give only method")
            explicit = self.mode is None
        if self.lambda_disc_feature is None:
            self.lambda_disc_feature = 1.0 if explicit and self.method == "cyclegan_ds" else 0.0
        return self

    # ---- end of training method block ----------------------------------------------------------------------------

    def resolve(self, p: str) -> Path:
        q = Path(p).expanduser()
        if q.is_absolute():
            return q
        return (Path(self.config_dir) if self.config_dir else Path.cwd()) / q


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    path = Path(path)
    d = json.loads(path.read_text())
    d.update(overrides or {})
    d.setdefault("config_dir", str(path.resolve().parent))
    return TrainConfig.model_validate(d)
