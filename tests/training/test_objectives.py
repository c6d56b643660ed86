"""Objective classes: every method trains on tiny 32 px crops, PatchNCE behaves as a contrastive loss, the frozen
camera look sits between G and the discriminator, resume restores an objective's state, old `mode` configs map."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from refine_server.networks import PatchSampleMLP, ResnetGenerator, SimGANRefiner
from refine_server.training.config import METHOD_OF_MODE, TrainConfig
from refine_server.training.losses import patch_nce_loss
from refine_server.training.objectives import OBJECTIVES, Batch, CUTObjective
from refine_server.training.trainer import Trainer, load_datasets

from .test_trainer import _cfg, _params

METHODS = ["cyclegan_ds", "simgan", "cut", "fastcut"]
CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture(scope="module")
def data(fake_synth, fake_real, tmp_path_factory):
    return load_datasets(_cfg(tmp_path_factory.mktemp("d"), fake_synth, fake_real))


def _trainer(tmp, fake_synth, fake_real, data, look: nn.Module | None = None, **kw) -> Trainer:
    base = {"sample_every": 0, "num_patches": 64, "nce_mlp_channels": 32}
    return Trainer(_cfg(tmp, fake_synth, fake_real, **{**base, **kw}), *data, look=look)


@pytest.mark.parametrize("method", METHODS)
def test_each_method_trains(method, data, fake_synth, fake_real, tmp_path):
    tr = _trainer(
        tmp_path, fake_synth, fake_real, data, method=method, steps=2, pretrain_steps=1, masked_adversarial=True
    )
    assert type(tr.objective) is OBJECTIVES[method]
    before = {k: _params(n) for k, n in tr.nets.items()}
    tr.fit()
    for k, n in tr.nets.items():
        assert not torch.equal(before[k], _params(n)), f"{method}: {k} did not change"
    adv = [h for h in tr.history if h["phase"] == "adv"]
    assert len(adv) == 2 and all(math.isfinite(v) for h in adv for v in h.values() if isinstance(v, float))
    expected = {
        "cyclegan_ds": {"cycle", "identity", "disc_feature_cycle"},
        "simgan": {"self_reg"},
        "cut": {"nce", "nce_idt"},
        "fastcut": {"nce"},
    }[method]
    assert expected <= set(adv[0]) and {"g_adv", "g_total", "d_total"} <= set(adv[0])
    assert method != "fastcut" or "nce_idt" not in adv[0]
    assert tr.card().training_data["method"] == method


def test_patch_nce_is_log_p_for_random_features_and_falls_when_equal():
    g = torch.Generator().manual_seed(0)
    b, p, c = 2, 256, 256
    q = nn.functional.normalize(torch.randn(b * p, c, generator=g), dim=1)
    k = nn.functional.normalize(torch.randn(b * p, c, generator=g), dim=1)
    rand = float(patch_nce_loss(q, k, b))
    assert abs(rand - math.log(p)) < 0.15 * math.log(p)
    assert float(patch_nce_loss(q, q, b)) < 0.01


def test_objective_nce_lower_for_identity_output(data, fake_synth, fake_real, tmp_path):
    obj = _trainer(tmp_path, fake_synth, fake_real, data, method="cut").objective
    assert isinstance(obj, CUTObjective)
    x = data[0].images[:2]
    noise = torch.rand_like(x) * 2 - 1
    with torch.no_grad():
        assert float(obj.nce(x, x)) < 0.5 * float(obj.nce(x, noise))


class _Scale(nn.Module):
    """A camera 'look' with one parameter: out = s * x (s = 0 zeroes the image)."""

    def __init__(self, s: float) -> None:
        super().__init__()
        self.s = nn.Parameter(torch.tensor(s))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.s * x


def _disc_inputs(tr: Trainer) -> list[torch.Tensor]:
    seen: list[torch.Tensor] = []
    tr.D_Y.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach().clone()))
    x, mx = tr._batch(tr.syn)
    y, my = tr._batch(tr.real)
    tr.objective.step(Batch(x, mx, y, my))
    return seen


@pytest.mark.parametrize("method", METHODS)
def test_look_is_applied_before_the_discriminator(method, data, fake_synth, fake_real, tmp_path):
    kw = {"method": method, "diffaugment": "", "pool_size": 0, "lambda_disc_feature": 0.0}
    plain = _disc_inputs(_trainer(tmp_path / "a", fake_synth, fake_real, data, **kw))
    look = _Scale(0.0)
    tr = _trainer(tmp_path / "b", fake_synth, fake_real, data, look=look, **kw)
    g0 = _params(tr.G)
    looked = _disc_inputs(tr)
    assert not any(float(t.abs().max()) == 0.0 for t in plain)
    zero = [float(t.abs().max()) == 0.0 for t in looked]
    assert any(zero) and not all(zero)  # refined inputs are zeroed by the look, real ones are not
    assert float(look.s) == 0.0 and not look.s.requires_grad  # frozen
    assert not torch.equal(g0, _params(tr.G))
    assert torch.count_nonzero(tr.refine(data[0].images[:2], with_look=True)) == 0


def test_gradient_flows_through_the_look(data, fake_synth, fake_real, tmp_path):
    tr = _trainer(tmp_path, fake_synth, fake_real, data, look=_Scale(0.5), method="simgan", lambda_self_reg=0.0)
    x = data[0].images[:2]
    tr.objective.adversarial(tr.D_Y, tr.objective.camera(tr.G(x)), torch.ones_like(x[:, :1]), True).backward()
    assert all(p.grad is not None for p in tr.G.parameters())


def test_camera_look_module_as_the_hook(data, fake_synth, fake_real, tmp_path):
    """The project's fitted-look module plugs in as is: a warm, noisy look trains FastCUT and stays fixed."""
    from refine_server.look.module import CameraLook
    from refine_server.look.params import LookParams

    look = CameraLook(LookParams(color_matrix=[[1.1, 0, 0], [0, 1.0, 0], [0, 0, 0.8]], noise_b=1e-3))
    frozen = {k: v.clone() for k, v in look.state_dict().items()}
    tr = _trainer(tmp_path, fake_synth, fake_real, data, look=look, method="fastcut", steps=2)
    g0 = _params(tr.G)
    tr.fit()
    assert all(torch.equal(frozen[k], v) for k, v in look.state_dict().items())
    assert not torch.equal(g0, _params(tr.G))
    x = data[0].images[:2]
    looked = tr.refine(x, with_look=True)
    assert (looked - tr.refine(x)).abs().mean() > 0.01  # samples show the look on top of G


@pytest.mark.parametrize("method", ["cut", "fastcut"])
def test_resume_restores_objective_state(method, data, fake_synth, fake_real, tmp_path):
    kw = {"method": method, "steps": 4}
    full = _trainer(tmp_path / "full", fake_synth, fake_real, data, **kw)
    full.fit()
    _trainer(tmp_path / "part", fake_synth, fake_real, data, **kw).fit(stop_at=2)
    resumed = _trainer(tmp_path / "part", fake_synth, fake_real, data, **kw)
    assert resumed.load_checkpoint() and resumed.step == 2
    resumed.fit()
    for k in ("G", "D_Y", "mlp"):
        assert torch.allclose(_params(resumed.nets[k]), _params(full.nets[k]), atol=1e-5), k
    wrong = _trainer(tmp_path / "part", fake_synth, fake_real, data, method="simgan")
    with pytest.raises(ValueError, match="trained with method"):
        wrong.load_checkpoint()


def test_old_mode_configs_map():
    assert TrainConfig().method == "cyclegan_ds" and TrainConfig().lambda_disc_feature == 0.0
    assert TrainConfig(mode="simgan").method == "simgan"
    old = TrainConfig(mode="cyclegan")
    assert old.method == "cyclegan_ds" and old.lambda_disc_feature == 0.0  # plain CycleGAN, as before
    assert TrainConfig(method="cyclegan_ds").lambda_disc_feature == 1.0  # the D^S model by name
    assert TrainConfig(mode="cyclegan", method="cyclegan_ds", lambda_disc_feature=0.5).lambda_disc_feature == 0.5
    with pytest.raises(ValueError, match="contradicts"):
        TrainConfig(mode="simgan", method="cut")
    files = sorted(CONFIGS.glob("train_*.json"))
    assert files
    for f in files:
        raw = json.loads(f.read_text())
        cfg = TrainConfig.model_validate(raw)
        expected = raw.get("method") or METHOD_OF_MODE[raw.get("mode", "cyclegan")]  # no key: the default mode
        assert cfg.method == expected, f.name
        assert cfg.lambda_disc_feature == raw.get("lambda_disc_feature", 0.0), f.name


def test_generator_features_and_patch_sampler():
    torch.manual_seed(0)
    g = ResnetGenerator(ngf=4, n_blocks=2, n_down=2)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert g.default_feature_layers() == [0, 2, 3, 4]
    assert ResnetGenerator(n_blocks=9).default_feature_layers() == [0, 2, 3, 4, 8]  # CUT's 0,4,8,12,16
    f0, f2, f5 = g.features(x, [0, 2, 5])
    assert torch.equal(f0, x) and f2.shape == (2, 8, 8, 8)
    assert torch.allclose(f5, g.body[: g.stage_ends[-1]](x))
    with pytest.raises(ValueError, match="out of range"):
        g.features(x, [6])
    s = SimGANRefiner(ch=4, n_blocks=2)
    assert [t.shape[1] for t in s.features(x, s.default_feature_layers())] == [3, 4, 4]
    mlp = PatchSampleMLP([3, 8], channels=16)
    out, ids = mlp([f0, f2], num_patches=32)
    assert [o.shape for o in out] == [(64, 16), (64, 16)] and len(ids[1]) == 32
    assert torch.allclose(out[0].norm(dim=1), torch.ones(64), atol=1e-5)
    again, _ = mlp([f0, f2], 32, ids)
    assert torch.equal(again[1], out[1])  # same locations reused for the paired features
