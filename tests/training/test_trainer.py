"""Trainer: a few steps on tiny 32 px crops change the weights and lower the losses; resume continues exactly."""

from __future__ import annotations

import json

import pytest
import torch

from refine_server.checkpoint import load_model
from refine_server.training.config import TrainConfig, load_config
from refine_server.training.diffaugment import diff_augment
from refine_server.training.image_pool import ImagePool
from refine_server.training.losses import disc_feature_cycle_loss, lsgan_loss, self_regularization
from refine_server.training.trainer import Trainer, load_datasets


def _cfg(tmp, synth, real, **kw) -> TrainConfig:
    d = {
        "out_dir": str(tmp),
        "steps": 3,
        "batch_size": 2,
        "progress": False,
        "log_every": 1,
        "sample_every": 2,
        "checkpoint_every": 0,
        "lambda_disc_feature": 1.0,
        "generator": {"architecture": "resnet", "hyperparameters": {"ngf": 8, "n_blocks": 1, "n_down": 2}},
        "discriminator": {"ndf": 8, "n_layers": 2},
        "data": {
            "synthetic": [str(synth)],
            "real": [{"annotations": str(real / "ann.json"), "image_root": str(real / "frames")}],
            "crop_size": 32,
            "real_jitter": 1,
        },
    }
    d.update(kw)
    return TrainConfig.model_validate(d)


@pytest.fixture(scope="module")
def data(fake_synth, fake_real, tmp_path_factory):
    cfg = _cfg(tmp_path_factory.mktemp("d"), fake_synth, fake_real)
    return load_datasets(cfg)


def _params(m: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in m.parameters()])


@pytest.mark.parametrize("mode", ["cyclegan", "simgan"])
def test_steps_change_weights_and_write_outputs(mode, data, fake_synth, fake_real, tmp_path):
    gen = {"architecture": "simgan", "hyperparameters": {"ch": 8, "n_blocks": 1}} if mode == "simgan" else None
    kw = {"mode": mode, "masked_adversarial": True, "pretrain_steps": 1}
    if gen:
        kw["generator"] = gen
    tr = Trainer(_cfg(tmp_path, fake_synth, fake_real, **kw), *data)
    g0, d0 = _params(tr.G), _params(tr.D_Y)
    res = tr.fit()
    assert res["step"] == 3 and res["pretrain_step"] == 1
    assert not torch.equal(g0, _params(tr.G)) and not torch.equal(d0, _params(tr.D_Y))
    assert (tmp_path / "loss_curves.png").is_file() and (tmp_path / "samples.png").is_file()
    assert len((tmp_path / "losses.jsonl").read_text().splitlines()) == 4
    gen_model, card = load_model(tr.export())
    assert card.crop_size == 32 and card.training_data["n_real_crops"] == len(data[1])
    x = data[0].images[:2]
    assert torch.allclose(gen_model(x), tr.refine(x), atol=1e-6)


def test_losses_decrease_in_expectation(data, fake_synth, fake_real, tmp_path):
    """Pre-fit L1 and the discriminator loss fall over a few steps (averaged over windows)."""
    cfg = _cfg(
        tmp_path,
        fake_synth,
        fake_real,
        steps=24,
        pretrain_steps=12,
        lr=2e-3,
        diffaugment="",
        lambda_disc_feature=0.0,
        sample_every=0,
        batch_size=4,
    )
    tr = Trainer(cfg, *data)
    tr.fit()
    pre = [h["pretrain_l1"] for h in tr.history if h["phase"] == "pretrain"]
    d = [h["d_total"] for h in tr.history if h["phase"] == "adv"]
    cyc = [h["cycle"] for h in tr.history if h["phase"] == "adv"]
    assert sum(pre[-4:]) < sum(pre[:4])
    assert sum(d[-6:]) < sum(d[:6])
    assert sum(cyc[-6:]) < sum(cyc[:6]) * 1.5  # cycle stays bounded while D learns


def test_resume_continues_from_same_step(data, fake_synth, fake_real, tmp_path):
    full = Trainer(_cfg(tmp_path / "full", fake_synth, fake_real, steps=4, sample_every=0), *data)
    full.fit()
    part = Trainer(_cfg(tmp_path / "part", fake_synth, fake_real, steps=4, sample_every=0), *data)
    part.fit(stop_at=2)  # interrupted after step 2 (checkpoint written)
    resumed = Trainer(_cfg(tmp_path / "part", fake_synth, fake_real, steps=4, sample_every=0), *data)
    assert resumed.load_checkpoint() and resumed.step == 2
    resumed.fit()
    assert resumed.step == 4
    assert [h["step"] for h in resumed.history] == [1, 2, 3, 4]
    # same data order, same random augmentations, same updates as the uninterrupted run
    assert torch.allclose(_params(resumed.G), _params(full.G), atol=1e-5)


def test_config_file_relative_paths(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"out_dir": "o", "data": {"synthetic": ["s"]}}))
    cfg = load_config(tmp_path / "c.json", {"steps": 5})
    assert cfg.steps == 5 and cfg.resolve("o") == tmp_path / "o"


def test_losses_and_helpers():
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    m = torch.zeros(2, 1, 16, 16)
    m[..., 4:12, 4:12] = 1
    logits = torch.zeros(2, 1, 4, 4)
    assert lsgan_loss(logits, True) == 1.0 and lsgan_loss(logits, False) == 0.0
    assert abs(float(lsgan_loss(logits, True, m)) - 1.0) < 1e-6
    assert float(self_regularization(x, x)) == 0.0
    shift = x + torch.tensor([0.1, -0.1, 0.0]).view(1, 3, 1, 1)
    assert float(self_regularization(shift, x, per_channel=False)) < 1e-6 < float(self_regularization(shift, x))
    f = [torch.ones(1, 2, 2, 2), torch.zeros(1, 2, 2, 2)]
    assert float(disc_feature_cycle_loss(f, f)) == 0.0
    g = torch.Generator().manual_seed(0)
    xa, ma = diff_augment(x, "color,translation,cutout", m, generator=g)
    assert xa.shape == x.shape and ma.shape == m.shape and not torch.equal(xa, x)
    x.requires_grad_(True)
    diff_augment(x, "color,translation,cutout").sum().backward()
    assert x.grad is not None
    pool = ImagePool(3, torch.Generator().manual_seed(0))
    for _ in range(5):
        out = pool.query(torch.rand(2, 3, 4, 4))
        assert out.shape == (2, 3, 4, 4)
    assert len(pool.items) == 3
