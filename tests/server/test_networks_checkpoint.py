"""Generators and the safetensors + model-card checkpoint format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from refine_server.checkpoint import CheckpointError, identity_model, load_model, save_model
from refine_server.model_card import ModelCard
from refine_server.networks import PatchDiscriminator, ResnetGenerator, SimGANRefiner, build_generator


@pytest.mark.parametrize(
    ("arch", "hp"),
    [
        ("resnet", {"ngf": 8, "n_blocks": 1}),
        ("resnet", {"ngf": 8, "n_blocks": 1, "skip": False}),
        ("simgan", {"ch": 8, "n_blocks": 1}),
        ("identity", {}),
    ],
)
def test_generators_keep_shape_and_range(arch: str, hp: dict) -> None:
    g = build_generator(arch, **hp).eval()
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.inference_mode():
        y = g(x)
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1


def test_skip_connection_bounds_the_residual() -> None:
    g = ResnetGenerator(ngf=8, n_blocks=1, residual_scale=0.1).eval()
    x = torch.rand(2, 3, 32, 32) * 1.6 - 0.8
    with torch.inference_mode():
        assert (g(x) - x).abs().max() <= 0.1 + 1e-6
    s = SimGANRefiner(ch=8, n_blocks=1, residual_scale=0.2).eval()
    with torch.inference_mode():
        assert (s(x) - x).abs().max() <= 0.2 + 1e-6


def test_batch_composition_does_not_change_outputs() -> None:
    g = ResnetGenerator(ngf=8, n_blocks=1).eval()
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    with torch.inference_mode():
        assert torch.allclose(g(x)[1:2], g(x[1:2]), atol=1e-5)


def test_discriminator_logits_and_features() -> None:
    d = PatchDiscriminator(ndf=8, n_layers=3)
    x = torch.rand(2, 3, 64, 64)
    assert d(x).shape[:2] == (2, 1)
    assert len(d.features(x)) == 4


def test_unknown_architecture() -> None:
    with pytest.raises(ValueError, match="unknown architecture"):
        build_generator("unet")


def test_save_load_roundtrip_and_card(tmp_path: Path) -> None:
    g = ResnetGenerator(ngf=8, n_blocks=1).eval()
    card = ModelCard(
        model_id="m",
        architecture="resnet",
        hyperparameters={"ngf": 8, "n_blocks": 1},
        crop_size=32,
        metrics={"fid": 1.0},
    )
    card_path = save_model(tmp_path, g, card)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors", "model_card.json"]
    data = json.loads(card_path.read_text())
    assert len(data["sha256"]) == 64 and data["crop_size"] == 32
    g2, card2 = load_model(card_path)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.inference_mode():
        assert torch.equal(g(x), g2(x))
    assert card2.model_id == "m" and card2.metrics == {"fid": 1.0}
    assert not g2.training


def test_load_rejects_tampered_or_mismatched(tmp_path: Path) -> None:
    g = ResnetGenerator(ngf=8, n_blocks=1)
    card = ModelCard(model_id="m", architecture="resnet", hyperparameters={"ngf": 8, "n_blocks": 1}, crop_size=32)
    save_model(tmp_path, g, card)
    w = tmp_path / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256"):
        load_model(tmp_path)
    save_model(tmp_path, g, card)
    c = json.loads((tmp_path / "model_card.json").read_text())
    c["hyperparameters"]["ngf"] = 16
    (tmp_path / "model_card.json").write_text(json.dumps(c))
    with pytest.raises(CheckpointError, match="do not match"):
        load_model(tmp_path)
    with pytest.raises(CheckpointError, match="no model card"):
        load_model(tmp_path / "nothing")


def test_pickle_weights_are_never_loaded(tmp_path: Path) -> None:
    card = ModelCard(model_id="m", architecture="resnet", crop_size=32, weights_file="model.pt", sha256="0" * 64)
    (tmp_path / "model_card.json").write_text(card.model_dump_json())
    (tmp_path / "model.pt").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(CheckpointError, match="safetensors"):
        load_model(tmp_path)


def test_identity_model() -> None:
    g, card = identity_model(crop_size=64)
    x = torch.rand(1, 3, 64, 64)
    assert torch.equal(g(x), x) and card.architecture == "identity"
