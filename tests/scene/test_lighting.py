"""Lights in real Blender scenes: photo mode follows the photo's colour; procedural rooms get ceiling panels,
white balance and exposure, all stored in the annotation (tiny renders)."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_addon import pipeline  # noqa: E402
from blender_addon.core.lighting import luminance  # noqa: E402
from blender_addon.core.png import encode_png, read_png, srgb_to_linear  # noqa: E402
from blender_addon.scene.lighting import circle_mask  # noqa: E402
from shared_schema.annotation import SceneAnnotation  # noqa: E402

from .conftest import RES, small_config  # noqa: E402


def _tinted_photo(path, tint) -> str:
    yy, xx = np.mgrid[0:RES, 0:RES].astype(np.float64)
    grey = 0.45 + 0.2 * np.sin(xx / 5) * np.cos(yy / 7)
    img = np.clip(grey[..., None] * np.asarray(tint) * 255, 0, 255).astype(np.uint8)
    path.write_bytes(encode_png(img))
    return str(path)


def _sun_color(built) -> np.ndarray:
    return np.array(built.scene.objects["R2_Sun"].data.color)


@pytest.mark.slow
def test_photo_light_follows_photo_colour(tmp_path):
    temps, suns = {}, {}
    for name, tint in (("blue", (0.7, 0.82, 1.0)), ("orange", (1.0, 0.72, 0.45))):
        cfg = small_config("photo", _tinted_photo(tmp_path / f"{name}.png", tint), standing=(1, 1), sitting=(0, 0))
        built = pipeline.build_scene(cfg, 4)
        temps[name] = built.lighting["color_temperature_k"]
        suns[name] = _sun_color(built)
        est = built.lighting["photo_estimate"]
        assert abs(est["color_temperature_k"] - temps[name]) < 5 * cfg.lighting.photo.temperature_jitter_k
        assert (
            built.lighting["environment"]["kind"] == "photo"
            and built.scene.world.node_tree.nodes.get("Environment Texture") is not None
        )
    assert temps["blue"] > temps["orange"] + 2000
    assert suns["blue"][2] / suns["blue"][0] > suns["orange"][2] / suns["orange"][0]


@pytest.mark.slow
def test_procedural_panels_white_balance_exposure_stored(tmp_path):
    cfg = small_config(standing=(1, 1), sitting=(0, 1), samples=4)
    built = pipeline.build_scene(cfg, 7)
    ann = pipeline.render_and_annotate(built, tmp_path, "lit")
    light = SceneAnnotation.model_validate_json((tmp_path / "annotations" / "lit.json").read_bytes()).lighting
    assert light == ann.lighting
    lo, hi = cfg.lighting.color_temperature_k.low, cfg.lighting.color_temperature_k.high
    assert lo <= light.color_temperature_k <= hi and lo >= 3500
    panels = [o for o in built.scene.objects if o.name.startswith("R2_Panel")]
    assert len(panels) == len(light.panels) >= 4
    xs = sorted({p["position"][0] for p in light.panels})
    assert np.allclose(np.diff(xs), light.panels[0]["grid_spacing_m"], atol=1e-3)
    assert light.white_balance_gains is not None and light.exposure_ev is not None
    # the camera response: the frame's mean luminance is near the drawn target (not globally dark)
    rgb = srgb_to_linear(read_png(tmp_path / "images" / "lit.png").astype(np.float64) / 255.0)
    mean = float(luminance(rgb)[circle_mask(built.camera)].mean())
    target = built.camera_response["target"]
    assert 0.6 * target < mean < 1.4 * target, (mean, target)
    # every sampled value of the room is stored
    params = ann.background.params
    assert {"floor_color", "floor_roughness", "wall_color", "obstacle_colors"} <= set(params)
    assert set(params["obstacle_colors"]) >= {o.name for o in cfg.obstacles}
