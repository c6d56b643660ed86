"""The camera look: estimators recover known degradations, the fit tells two cameras apart, the module is
differentiable, the look moves no pixel, and a card with a look round-trips through safetensors + JSON."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from refine_server.checkpoint import load_model, save_model
from refine_server.look import LookSpec
from refine_server.look import estimate as est
from refine_server.look.fit import Frame, fit_colour, fit_look
from refine_server.look.module import CameraLook, apply_look
from refine_server.look.params import LookParams
from refine_server.model_card import ModelCard
from refine_server.networks import ResnetGenerator


def scene(seed: int, size: int = 256) -> np.ndarray:
    """A smooth, colourful test frame in [0, 1] with flat patches (no noise, no blocks)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.zeros((size, size, 3))
    for c in range(3):
        f = rng.uniform(0.5, 2, 2)
        img[..., c] = 0.2 + 0.6 * (0.5 + 0.5 * np.sin(2 * np.pi * (xx * f[0] + yy * f[1]) + rng.uniform(0, 6)))
    for _ in range(size // 20):
        x0, y0 = rng.integers(0, size - 40, 2)
        img[y0 : y0 + 40, x0 : x0 + 40] = rng.uniform(0.1, 0.9, 3)
    return img


def u8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255).round().astype(np.uint8)


def add_noise(x: np.ndarray, a: float, b: float, seed: int = 1) -> np.ndarray:
    return x + np.sqrt(a * x + b) * np.random.default_rng(seed).standard_normal(x.shape)


def frames(imgs: list[np.ndarray]) -> list[Frame]:
    return [Frame(i, np.ones(i.shape[:2], bool)) for i in imgs]


def test_noise_sigma_recovered_within_15_percent() -> None:
    a, b = 0.002, 0.0001
    curve = est.noise_curve(u8(add_noise(scene(0, 512), a, b)))
    for i in (0.25, 0.5, 0.75):
        assert curve.sigma(i) == pytest.approx(np.sqrt(a * i + b), rel=0.15)
    assert est.noise_curve(u8(scene(0, 512))).sigma(0.5) < 0.15 * np.sqrt(a * 0.5 + b)  # clean: ~no noise


@pytest.mark.parametrize("quality", [35, 63, 90])
def test_jpeg_quality_from_tables_is_exact(quality: int) -> None:
    buf = io.BytesIO()
    Image.fromarray(u8(scene(1))).save(buf, format="JPEG", quality=quality)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        assert est.jpeg_quality_from_tables(im.quantization[0]) == quality
        assert est.blockiness(np.asarray(im)) > est.blockiness(u8(scene(1))) + 0.05


def test_colour_gains_recovered_within_3_percent() -> None:
    gains = np.array([0.9, 1.0, 1.12])
    syn = [u8(scene(s)) for s in range(3)]
    real = [u8(scene(s) * gains) for s in range(3)]
    matrix, curves, _ = fit_colour(frames(real), frames(syn))
    g = np.array(LookParams(color_matrix=matrix, tone_curves=curves).gains_at_mid_grey())
    assert g[0] / g[1] == pytest.approx(0.9, rel=0.03) and g[2] / g[1] == pytest.approx(1.12, rel=0.03)


def test_fit_recovers_noise_and_jpeg_and_two_cameras_differ() -> None:
    syn = [u8(scene(s)) for s in range(3)]

    def camera(gains: tuple[float, float, float], a: float, q: int | None) -> list[np.ndarray]:
        out = []
        for s in range(3):
            img = u8(add_noise(scene(s) * np.array(gains), a, 1e-5, s))
            if q:
                buf = io.BytesIO()
                Image.fromarray(img).save(buf, "JPEG", quality=q)
                img = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
            out.append(img)
        return out

    cam1 = fit_look(frames(camera((0.92, 1.0, 1.1), 0.003, None)), frames(syn))
    cam2 = fit_look(frames(camera((1.08, 1.0, 0.9), 0.0003, 60)), frames(syn), colour="full")
    assert cam1.noise_sigma(0.5) == pytest.approx(np.sqrt(0.003 * 0.5 + 1e-5), rel=0.25)
    assert cam1.jpeg_quality is None
    assert cam2.jpeg_quality is not None and 40 <= cam2.jpeg_quality <= 80
    assert cam1.noise_sigma(0.5) > 1.5 * cam2.noise_sigma(0.5)
    g1, g2 = cam1.gains_at_mid_grey(), cam2.gains_at_mid_grey()
    assert g1[0] < g1[2] and g2[0] > g2[2]
    assert "noise σ ≈" in cam1.describe() and "JPEG q ≈" in cam2.describe()
    quiet = fit_look(frames(camera((0.92, 1.0, 1.1), 0.003, None)), frames(syn), noise=False)
    assert quiet.noise_a == quiet.noise_b == 0.0 and "no sensor noise" in quiet.describe()
    assert quiet.gains_at_mid_grey() == pytest.approx(g1, abs=1e-6)


def test_module_is_differentiable_and_round_trips() -> None:
    p = LookParams(blur_sigma=0.8, noise_a=0.001, noise_b=1e-4, vignetting=(-0.2, 0.05))
    look = CameraLook(p)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    r = torch.rand(32, 32)
    look(x, radius=r, generator=torch.Generator().manual_seed(0)).square().mean().backward()
    for name, prm in look.named_parameters():
        assert prm.grad is not None and torch.isfinite(prm.grad).all(), name
        assert prm.grad.abs().sum() > 0, name
    back = look.to_params()
    assert back.blur_sigma == pytest.approx(0.8, rel=1e-5) and back.vignetting == pytest.approx((-0.2, 0.05))
    np.testing.assert_allclose(back.tone_curves, p.tone_curves, atol=2e-3)


def test_apply_look_moves_no_pixel_and_keeps_unmasked_pixels() -> None:
    rgb = u8(scene(3))
    mask = np.zeros(rgb.shape[:2], bool)
    mask[40:120, 60:100] = True
    p = LookParams(color_matrix=[[0.9, 0, 0], [0, 1, 0], [0, 0, 1.1]], blur_sigma=0.6, noise_b=4e-4, jpeg_quality=70)
    out = apply_look(rgb, p, seed=5, mask=mask)
    assert np.array_equal(out[~mask], rgb[~mask])
    assert np.array_equal(out, apply_look(rgb, p, seed=5, mask=mask))  # seeded
    assert not np.array_equal(out, apply_look(rgb, p, seed=6, mask=mask))
    # no geometric component: a step edge stays where it was (the colour-only look keeps its position exactly)
    step = np.zeros((64, 64, 3), np.uint8)
    step[:, 32:] = 200
    moved = apply_look(step, LookParams(color_matrix=[[0.8, 0, 0], [0, 0.8, 0], [0, 0, 0.8]], blur_sigma=1.0))
    grad = np.abs(np.diff(moved[..., 1].astype(int), axis=1)).sum(0)
    assert int(np.argmax(grad)) == 31


def test_card_with_look_round_trips_and_old_card_loads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    gen = ResnetGenerator(ngf=4, n_blocks=1)
    params = LookParams(noise_a=0.001, jpeg_quality=63, blur_sigma=0.5, notes={"method": "test"})
    spec = LookSpec(params=params, photo_mode="both", description=params.describe())
    card = ModelCard(
        model_id="t-look", architecture="resnet", hyperparameters={"ngf": 4, "n_blocks": 1}, crop_size=32, look=spec
    )
    save_model(tmp_path / "m", gen, card)
    _, loaded = load_model(tmp_path / "m")
    assert loaded.look == spec
    save_model(tmp_path / "old", gen, card.model_copy(update={"look": None}))
    _, old = load_model(tmp_path / "old")
    assert old.look is None


def test_look_params_reject_nan_and_bad_curves() -> None:
    with pytest.raises(ValueError):
        LookParams.model_validate_json('{"noise_a": NaN}')
    with pytest.raises(ValueError):
        LookParams(tone_curves=[[1.0 - i / 16 for i in range(17)]] * 3)


def test_adversarial_fit_runs_and_moves_toward_the_real_colour() -> None:
    from refine_server.look.adversarial import fit_look_adversarial

    syn = frames([u8(scene(s, 128)) for s in range(2)])
    real = frames([u8(scene(s, 128) * np.array([0.8, 1.0, 1.2])) for s in range(2)])
    out = fit_look_adversarial(real, syn, LookParams(), steps=25, patch=32, batch=8, pull=0.0, lr=8e-3)
    g = out.gains_at_mid_grey()
    assert g[2] > g[0]  # blue up, red down, as the "camera" does
    assert "patch discriminator" in out.notes["method"]
