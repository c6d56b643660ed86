"""The lights of one scene as a pure description (no bpy): drawn from ``rng_for(seed, "lighting", ...)``.

Procedural rooms: a sun, optional area lamps, ceiling panels on a grid, a uniform world, and the camera's
white balance and exposure target (applied after the render). Photo mode: a key light of the photo's colour
temperature, an environment made from the photo, and an exposure matched to the photo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared_schema.distributions import rng_for

from . import lighting as lt

CEILING_GAP_M = 0.05  # panels hang this far below the camera
ENV_SIZE = (128, 64)

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class SunSpec:
    """A sun lamp (the window light, or the photo's key light)."""

    name: str
    strength: float
    elevation_deg: float
    azimuth_deg: float
    angle_deg: float
    color: RGB


@dataclass(frozen=True)
class AreaLightSpec:
    """A square area lamp facing down (area lamps and ceiling panels)."""

    name: str
    position: tuple[float, float]
    z: float
    size: float
    power: float
    color: RGB


@dataclass(frozen=True)
class WorldSpec:
    """The world light: a uniform colour, or an environment image (H, W, 3 linear, top row first)."""

    color: RGB
    strength: float
    environment: np.ndarray | None = None


@dataclass(frozen=True)
class LightsDescription:
    """Every light of a scene, the annotation's ``lighting`` record, the exposure and the camera response."""

    sun: SunSpec
    areas: tuple[AreaLightSpec, ...]  # created in this order
    world: WorldSpec
    record: dict[str, Any]
    exposure_ev: float | None = None  # photo mode: fixed here; procedural: None (auto exposure after render)
    camera_response: dict[str, float] = field(default_factory=dict)  # procedural: kelvin, white_balance, target


def _r(x: float, nd: int = 4) -> float:
    return round(float(x), nd)


def circle_mask(camera) -> np.ndarray:
    """(H, W) bool: pixels inside the camera's image circle."""
    cc, rr = np.meshgrid(np.arange(camera.width) + 0.5, np.arange(camera.height) + 0.5)
    centres = np.stack([cc.ravel(), rr.ravel()], axis=1)
    return camera.in_image_circle(centres).reshape(camera.height, camera.width)


def _panels(config, seed: int, kelvin: float) -> tuple[list[AreaLightSpec], list[dict[str, Any]]]:
    pr = config.lighting.panels
    rng = rng_for(seed, "lighting", "panels")
    spacing = pr.spacing_m.sample(rng)
    offset = (float(rng.uniform(0.0, 1.0)), float(rng.uniform(0.0, 1.0)))
    size = pr.size_m.sample(rng)
    z = config.camera.position[2] - CEILING_GAP_M
    specs, records = [], []
    for i, pos in enumerate(lt.panel_grid(config.floor, spacing, offset)):
        power = pr.power_w.sample(rng)
        jittered = kelvin + rng.normal(0.0, pr.temperature_jitter_k) if pr.temperature_jitter_k else kelvin
        k = float(np.clip(jittered, *lt.KELVIN_RANGE))
        specs.append(AreaLightSpec(f"R2_Panel{i}", (pos[0], pos[1]), z, size, power, lt.kelvin_to_rgb(k)))
        records.append(
            {
                "position": [pos[0], pos[1]],
                "height_m": _r(z),
                "size_m": _r(size),
                "power_w": _r(power, 3),
                "color_temperature_k": _r(k, 1),
                "grid_spacing_m": _r(spacing),
            }
        )
    return specs, records


def _area_lamps(config, rng, kelvin: float) -> tuple[list[AreaLightSpec], list[dict[str, Any]]]:
    lr = config.lighting
    floor = np.asarray(config.floor, dtype=np.float64)
    lo, hi = floor.min(0), floor.max(0)
    z = min(2.9, config.camera.position[2] - CEILING_GAP_M)
    specs, records = [], []
    for i in range(lr.area_lights.sample(rng)):
        power = lr.area_power_w.sample(rng)
        pos = (float(rng.uniform(lo[0], hi[0])) * 0.8, float(rng.uniform(lo[1], hi[1])) * 0.8)
        size = float(rng.uniform(0.4, 1.5))
        k = float(np.clip(kelvin + rng.normal(0.0, 300.0), *lt.KELVIN_RANGE))
        specs.append(AreaLightSpec(f"R2_Area{i}", pos, z, size, power, lt.kelvin_to_rgb(k)))
        records.append(
            {
                "position": [_r(pos[0]), _r(pos[1])],
                "power_w": _r(power, 3),
                "size_m": _r(size),
                "color_temperature_k": _r(k, 1),
            }
        )
    return specs, records


def procedural_lights(config, seed: int) -> LightsDescription:
    """Sun, area lamps, ceiling panels, a uniform world and the camera response of a procedural room."""
    rng = rng_for(seed, "lighting")
    lr = config.lighting
    kelvin = lr.color_temperature_k.sample(rng)
    color = lt.kelvin_to_rgb(kelvin)
    sun_strength = lr.sun_strength.sample(rng)
    elev, azim = lr.sun_elevation_deg.sample(rng), lr.sun_azimuth_deg.sample(rng)
    world_strength = lr.world_strength.sample(rng)
    areas, area_records = _area_lamps(config, rng, kelvin)
    panels, panel_records = _panels(config, seed, kelvin)
    cam_rng = rng_for(seed, "lighting", "camera")
    response = {
        "kelvin": kelvin,
        "white_balance": lr.camera.white_balance.sample(cam_rng),
        "target": lr.camera.exposure_target.sample(cam_rng),
    }
    record = {
        "sun_strength": _r(sun_strength),
        "sun_elevation_deg": _r(elev, 3),
        "sun_azimuth_deg": _r(azim, 3),
        "sun_angle_deg": 2.0,
        "color_temperature_k": _r(kelvin, 1),
        "world_strength": _r(world_strength),
        "area_lights": area_records,
        "panels": panel_records,
        "environment": {"kind": "uniform", "color": [_r(c) for c in color]},
    }
    return LightsDescription(
        sun=SunSpec("R2_Sun", sun_strength, elev, azim, 2.0, color),
        areas=tuple(areas + panels),
        world=WorldSpec(color, world_strength),
        record=record,
        camera_response=response,
    )


def photo_lights(config, seed: int, photo_linear: np.ndarray, camera) -> LightsDescription:
    """A key light and an environment matched to the background photo, and the photo-matched exposure."""
    rng = rng_for(seed, "lighting")
    lr, pm = config.lighting, config.lighting.photo
    estimate = lt.estimate_photo_light(photo_linear, circle_mask(camera))
    base = estimate.color_temperature_k if pm.match_photo else lr.color_temperature_k.sample(rng)
    kelvin = float(np.clip(base + rng.normal(0.0, pm.temperature_jitter_k), *lt.KELVIN_RANGE))
    color = lt.kelvin_to_rgb(kelvin)
    elev, azim = pm.key_elevation_deg.sample(rng), pm.key_azimuth_deg.sample(rng)
    softness, share = pm.key_softness_deg.sample(rng), float(np.clip(pm.key_share.sample(rng), 0.0, 0.98))
    world_strength = lr.world_strength.sample(rng)
    sky = np.asarray(color) * float(estimate.luminance > 0)
    env = lt.environment_from_photo(
        camera, photo_linear, sky / max(float(lt.luminance(sky)), 1e-6) * estimate.luminance, ENV_SIZE
    )
    env_strength = world_strength / max(estimate.luminance, 1e-6)  # upper hemisphere radiance = world_strength
    env_irradiance = math.pi * world_strength
    key_irradiance = env_irradiance * share / (1.0 - share)
    sun_strength = key_irradiance / max(math.sin(math.radians(elev)), 0.05)
    ev = None
    if pm.match_photo:
        ev = lt.photo_exposure_ev(estimate.luminance, env_irradiance + key_irradiance, pm.floor_albedo)
    record = {
        "sun_strength": _r(sun_strength),
        "sun_elevation_deg": _r(elev, 3),
        "sun_azimuth_deg": _r(azim, 3),
        "sun_angle_deg": _r(softness, 3),
        "color_temperature_k": _r(kelvin, 1),
        "world_strength": _r(world_strength),
        "environment": {
            "kind": "photo",
            "size": list(ENV_SIZE),
            "strength": _r(env_strength, 6),
            "key_share": _r(share),
        },
        "photo_estimate": {
            "color_temperature_k": estimate.color_temperature_k,
            "color": [_r(c) for c in estimate.color],
            "luminance": _r(estimate.luminance, 6),
        },
    }
    return LightsDescription(
        sun=SunSpec("R2_Sun", sun_strength, elev, azim, softness, color),
        areas=(),
        world=WorldSpec(color, env_strength, env),
        record=record,
        exposure_ev=ev,
    )


def describe_lights(config, seed: int, photo_linear: np.ndarray | None, camera) -> LightsDescription:
    """The lights of one image: matched to the photo in photo mode (when there is one), else procedural."""
    if config.background.mode == "photo" and photo_linear is not None and camera is not None:
        return photo_lights(config, seed, photo_linear, camera)
    return procedural_lights(config, seed)
