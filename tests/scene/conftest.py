"""Fixtures for the scene tests: tiny renders (96–160 px, 2–4 spp, denoise off, few people)."""

from __future__ import annotations

import numpy as np
import pytest

from shared_schema import CameraModel, SceneConfig
from shared_schema.config import BackgroundConfig, ObstacleSpec, PeopleConfig, RenderConfig
from shared_schema.distributions import IntRange

RES = 112


def small_config(
    mode: str = "procedural",
    photo: str | None = None,
    *,
    standing=(1, 2),
    sitting=(1, 2),
    res: int = RES,
    samples: int = 2,
) -> SceneConfig:
    cam = CameraModel(projection="fisheye_equidistant", width=res, height=res, fov_deg=180.0, position=(0.0, 0.0, 2.9))
    obstacles = [
        ObstacleSpec(
            name="table", kind="table", polygon=[(-2.0, -0.4), (-0.6, -0.4), (-0.6, 0.4), (-2.0, 0.4)], height=0.74
        ),
        ObstacleSpec(
            name="chair",
            kind="chair",
            polygon=[(-1.5, -1.0), (-1.05, -1.0), (-1.05, -0.55), (-1.5, -0.55)],
            height=0.46,
            seat_height=0.46,
        ),
        ObstacleSpec(
            name="shelf", kind="shelf", polygon=[(2.0, -1.0), (2.5, -1.0), (2.5, 1.0), (2.0, 1.0)], height=1.8
        ),
    ]
    return SceneConfig(
        name="test_room",
        camera=cam,
        floor=[(-3.5, -3.5), (3.5, -3.5), (3.5, 3.5), (-3.5, 3.5)],
        obstacles=obstacles,
        people=PeopleConfig(
            standing=IntRange(low=standing[0], high=standing[1]), sitting=IntRange(low=sitting[0], high=sitting[1])
        ),
        background=BackgroundConfig(mode=mode, photo=photo),
        render=RenderConfig(samples=samples, denoise=False, motion_blur=True, device="cpu"),
    )


@pytest.fixture(scope="session")
def photo_path(tmp_path_factory) -> str:
    """A stand-in 'fisheye photo of the empty room' (a textured disc), RES x RES."""
    from blender_addon.core.png import encode_png

    yy, xx = np.mgrid[0:RES, 0:RES].astype(np.float64)
    r = np.hypot(xx + 0.5 - RES / 2, yy + 0.5 - RES / 2)
    img = np.zeros((RES, RES, 3), np.uint8)
    img[..., 0] = 120 + 40 * np.sin(xx / 5)
    img[..., 1] = 110 + 30 * np.cos(yy / 7)
    img[..., 2] = 90
    img[r > RES / 2] = 0
    path = tmp_path_factory.mktemp("photo") / "room.png"
    path.write_bytes(encode_png(img))
    return str(path)


def render_stored(cfg: SceneConfig, seed: int, out, name: str):
    """Build, render and write one scene; returns the built scene and its annotation as read back from disk."""
    from blender_addon import pipeline
    from shared_schema.annotation import SceneAnnotation

    built = pipeline.build_scene(cfg, seed)
    pipeline.render_and_annotate(built, out, name)
    return built, SceneAnnotation.model_validate_json((out / "annotations" / f"{name}.json").read_bytes())
