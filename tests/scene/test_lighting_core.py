"""Pure lighting maths: colour temperature both ways, photo light estimate, white balance, exposure, panels,
the environment made from a photo (no bpy)."""

from __future__ import annotations

import numpy as np
import pytest

from blender_addon.core import lighting as lt
from shared_schema import CameraModel


def _tinted_photo(rgb_gain, size: int = 64, seed: int = 0) -> np.ndarray:
    """A textured grey room in linear RGB, multiplied by a light colour."""
    rng = np.random.default_rng(seed)
    grey = rng.uniform(0.05, 0.6, (size, size, 1)) * np.ones((1, 1, 3))
    return grey * np.asarray(rgb_gain)


@pytest.mark.parametrize("kelvin", [3500.0, 4500.0, 5500.0, 6500.0, 8000.0])
def test_kelvin_round_trip(kelvin):
    assert abs(lt.rgb_to_kelvin(lt.kelvin_to_rgb(kelvin)) - kelvin) < 0.06 * kelvin


def test_blue_photo_gives_cooler_light_than_orange_photo():
    blue = lt.estimate_photo_light(_tinted_photo((0.75, 0.85, 1.0)))
    neutral = lt.estimate_photo_light(_tinted_photo((1.0, 1.0, 1.0)))
    orange = lt.estimate_photo_light(_tinted_photo((1.0, 0.7, 0.45)))
    assert orange.color_temperature_k < 4500 < 5500 < neutral.color_temperature_k < 7500 < blue.color_temperature_k
    assert blue.color[2] == 1.0 and orange.color[0] == 1.0


def test_photo_estimate_ignores_black_border_and_clipped_highlights():
    photo = _tinted_photo((1.0, 0.7, 0.45))
    ref = lt.estimate_photo_light(photo)
    photo[:8] = 0.0  # outside the image circle
    photo[-4:] = 1.0  # a blown-out window
    est = lt.estimate_photo_light(photo)
    assert abs(est.color_temperature_k - ref.color_temperature_k) < 150
    assert 0.5 * ref.luminance < est.luminance < 2 * ref.luminance


@pytest.mark.parametrize("bad", [np.zeros((32, 32, 3)), np.full((32, 32, 3), np.nan), np.zeros((32, 32))])
def test_photo_estimate_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        lt.estimate_photo_light(bad)


def test_white_balance_makes_the_light_neutral_and_keeps_luminance():
    for k in (3500.0, 5000.0, 6500.0):
        light = np.asarray(lt.kelvin_to_rgb(k))
        out = light * np.asarray(lt.white_balance_gains(k, 1.0))
        assert np.ptp(out) < 1e-9
        assert out @ lt.LUMA == pytest.approx(light @ lt.LUMA)
        half = light * np.asarray(lt.white_balance_gains(k, 0.5))
        assert np.ptp(half) <= np.ptp(light) + 1e-9  # partly corrected: between the cast and neutral
    assert lt.white_balance_gains(5000.0, 0.0) == pytest.approx((1.0, 1.0, 1.0))
    with pytest.raises(ValueError):
        lt.white_balance_gains(5000.0, 1.5)


def test_auto_exposure_reaches_target():
    dark = np.full((16, 16, 3), 0.01)
    ev = lt.auto_exposure_ev(dark, 0.18)
    assert (dark * 2**ev).mean() == pytest.approx(0.18)
    valid = np.zeros((16, 16), bool)
    valid[4:12, 4:12] = True
    img = np.zeros((16, 16, 3))
    img[valid] = 0.09
    assert lt.auto_exposure_ev(img, 0.18, valid) == pytest.approx(1.0)
    assert lt.auto_exposure_ev(np.zeros((4, 4, 3))) == 0.0  # a black frame is left alone


def test_photo_exposure_matches_floor_to_photo():
    ev = lt.photo_exposure_ev(photo_luminance=0.2, floor_irradiance=10.0, floor_albedo=0.35)
    assert 0.35 * 10.0 / np.pi * 2**ev == pytest.approx(0.2)


def test_panel_grid_covers_floor_at_spacing():
    floor = [(-4.0, -3.0), (4.0, -3.0), (4.0, 3.0), (-4.0, 3.0)]
    pts = np.array(lt.panel_grid(floor, 2.0, (0.5, 0.5)))
    assert len(pts) == 12  # 4 x 3 panels
    xs, ys = np.unique(pts[:, 0]), np.unique(pts[:, 1])
    assert np.allclose(np.diff(xs), 2.0) and np.allclose(np.diff(ys), 2.0)
    assert (np.abs(pts[:, 0]) < 4.0).all() and (np.abs(pts[:, 1]) < 3.0).all()
    assert len(lt.panel_grid([(0, 0), (0.5, 0), (0.5, 0.5)], 5.0)) == 1  # a tiny floor still gets one
    with pytest.raises(ValueError):
        lt.panel_grid(floor, 0.0)


def test_environment_lower_hemisphere_is_the_photo():
    cam = CameraModel(projection="fisheye_equidistant", width=64, height=64, fov_deg=180.0, position=(0, 0, 2.9))
    photo = np.zeros((64, 64, 3))
    photo[:, 32:, 0] = 1.0  # right half red (image +x is world +x for this camera? checked by projection below)
    photo[:, :32, 2] = 1.0
    env = lt.environment_from_photo(cam, photo, (0.0, 1.0, 0.0), (32, 16))
    dirs = lt.equirect_directions(32, 16).reshape(16, 32, 3)
    assert np.allclose(env[:8], (0.0, 1.0, 0.0))  # upper hemisphere: the sky colour
    for r, c in ((12, 3), (12, 16), (14, 28)):
        u = cam.project(np.asarray(cam.position) + dirs[r, c] * 10.0)[0]
        assert np.allclose(env[r, c], photo[int(u[1]), int(u[0])])
    assert np.allclose(np.linalg.norm(dirs, axis=-1), 1.0)
    assert np.allclose(dirs[8, 16], (1.0, 0.0, 0.0), atol=0.2)  # the image centre looks along +X
