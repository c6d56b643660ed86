"""The lights of one scene (imports bpy); every value is drawn from ``rng_for(seed, "lighting", ...)`` and
returned as the annotation's ``lighting`` record.

* Procedural rooms: a sun (window light), ceiling panels on a grid at one room colour temperature, optional
  extra area lamps, a uniform world; the camera's white balance and exposure are drawn here and applied to the
  rendered frame by :func:`.render.composite`.
* Photo mode: colour temperature and brightness estimated from the photo (:mod:`..core.lighting`), a key light
  of that colour whose direction and softness are drawn within ``lighting.photo``, an environment made from
  the photo, and an exposure that renders the floor as bright as the photo's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import bpy
import numpy as np

from shared_schema.distributions import rng_for

from ..core import lighting as lt
from . import compat

CEILING_GAP_M = 0.05  # panels hang this far below the camera
ENV_SIZE = (128, 64)


@dataclass
class LightSetup:
    """What :func:`add_lights` built: the annotation record, the exposure and the camera response."""

    record: dict[str, Any]
    exposure_ev: float | None = None  # photo mode: fixed here; procedural: None (auto exposure after render)
    camera_response: dict[str, float] = field(default_factory=dict)  # procedural: kelvin, white_balance, target


def _r(x: float, nd: int = 4) -> float:
    return round(float(x), nd)


def _sun(scene, name: str, strength: float, elev: float, azim: float, angle_deg: float, color) -> None:
    sun = bpy.data.lights.new(name, "SUN")
    sun.energy = strength
    sun.color = color
    sun.angle = math.radians(angle_deg)
    ob = bpy.data.objects.new(name, sun)
    # a sun at elevation e, azimuth a shines along -(cos e cos a, cos e sin a, sin e)
    ob.rotation_euler = (0.0, math.radians(90.0 - elev), math.radians(azim))
    scene.collection.objects.link(ob)


def _area(scene, name: str, pos, z: float, size: float, power: float, color) -> None:
    light = bpy.data.lights.new(name, "AREA")
    light.energy = power
    light.size = size
    light.color = color
    ob = bpy.data.objects.new(name, light)
    ob.location = (float(pos[0]), float(pos[1]), z)
    if hasattr(ob, "visible_camera"):
        ob.visible_camera = False  # a ceiling panel seen at the fisheye's horizon would only blow out pixels
    scene.collection.objects.link(ob)


def _world(scene, color, strength: float, env: np.ndarray | None = None) -> None:
    world = bpy.data.worlds.new("R2_World")
    compat.ensure_nodes(world)
    nt = world.node_tree
    bg = nt.nodes.get("Background")
    bg.inputs[0].default_value = (*color, 1.0)
    bg.inputs[1].default_value = strength
    if env is not None:
        h, w = env.shape[:2]
        img = bpy.data.images.new("R2_Environment", w, h, alpha=False, float_buffer=True)
        rgba = np.concatenate([env[::-1], np.ones((h, w, 1))], axis=-1).astype(np.float32)
        img.pixels.foreach_set(rgba.ravel())
        img.pack()
        tex = nt.nodes.new("ShaderNodeTexEnvironment")
        tex.image = img
        tex.interpolation = "Linear"
        nt.links.new(tex.outputs["Color"], bg.inputs[0])
    scene.world = world


def _panels(scene, config, seed: int, kelvin: float) -> list[dict[str, Any]]:
    pr = config.lighting.panels
    rng = rng_for(seed, "lighting", "panels")
    spacing = pr.spacing_m.sample(rng)
    offset = (float(rng.uniform(0.0, 1.0)), float(rng.uniform(0.0, 1.0)))
    size = pr.size_m.sample(rng)
    z = config.camera.position[2] - CEILING_GAP_M
    out = []
    for i, pos in enumerate(lt.panel_grid(config.floor, spacing, offset)):
        power = pr.power_w.sample(rng)
        k = float(
            np.clip(
                kelvin + rng.normal(0.0, pr.temperature_jitter_k) if pr.temperature_jitter_k else kelvin,
                *lt.KELVIN_RANGE,
            )
        )
        _area(scene, f"R2_Panel{i}", pos, z, size, power, lt.kelvin_to_rgb(k))
        out.append(
            {
                "position": [pos[0], pos[1]],
                "height_m": _r(z),
                "size_m": _r(size),
                "power_w": _r(power, 3),
                "color_temperature_k": _r(k, 1),
                "grid_spacing_m": _r(spacing),
            }
        )
    return out


def _area_lamps(scene, config, rng, kelvin: float) -> list[dict[str, Any]]:
    lr = config.lighting
    lo, hi = np.asarray(config.floor, dtype=np.float64).min(0), np.asarray(config.floor, dtype=np.float64).max(0)
    out = []
    for i in range(lr.area_lights.sample(rng)):
        power = lr.area_power_w.sample(rng)
        pos = (float(rng.uniform(lo[0], hi[0])) * 0.8, float(rng.uniform(lo[1], hi[1])) * 0.8)
        size = float(rng.uniform(0.4, 1.5))
        k = float(np.clip(kelvin + rng.normal(0.0, 300.0), *lt.KELVIN_RANGE))
        _area(
            scene,
            f"R2_Area{i}",
            pos,
            min(2.9, config.camera.position[2] - CEILING_GAP_M),
            size,
            power,
            lt.kelvin_to_rgb(k),
        )
        out.append(
            {
                "position": [_r(pos[0]), _r(pos[1])],
                "power_w": _r(power, 3),
                "size_m": _r(size),
                "color_temperature_k": _r(k, 1),
            }
        )
    return out


def procedural_lights(scene, config, seed: int) -> LightSetup:
    rng = rng_for(seed, "lighting")
    lr = config.lighting
    kelvin = lr.color_temperature_k.sample(rng)
    color = lt.kelvin_to_rgb(kelvin)
    sun_strength = lr.sun_strength.sample(rng)
    elev, azim = lr.sun_elevation_deg.sample(rng), lr.sun_azimuth_deg.sample(rng)
    world_strength = lr.world_strength.sample(rng)
    _sun(scene, "R2_Sun", sun_strength, elev, azim, 2.0, color)
    areas = _area_lamps(scene, config, rng, kelvin)
    panels = _panels(scene, config, seed, kelvin)
    _world(scene, color, world_strength)
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
        "area_lights": areas,
        "panels": panels,
        "environment": {"kind": "uniform", "color": [_r(c) for c in color]},
    }
    return LightSetup(record=record, camera_response=response)


def photo_lights(scene, config, seed: int, photo_linear: np.ndarray, camera) -> LightSetup:
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
    _sun(scene, "R2_Sun", sun_strength, elev, azim, softness, color)
    _world(scene, color, env_strength, env)
    ev = (
        lt.photo_exposure_ev(estimate.luminance, env_irradiance + key_irradiance, pm.floor_albedo)
        if pm.match_photo
        else None
    )
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
    return LightSetup(record=record, exposure_ev=ev)


def _pixel_centres(camera) -> np.ndarray:
    cc, rr = np.meshgrid(np.arange(camera.width) + 0.5, np.arange(camera.height) + 0.5)
    return np.stack([cc.ravel(), rr.ravel()], axis=1)


def add_lights(scene, config, seed: int, photo_linear: np.ndarray | None = None, camera=None) -> LightSetup:
    """Lights, world and camera response of one image (see the module docstring)."""
    if config.background.mode == "photo" and photo_linear is not None and camera is not None:
        return photo_lights(scene, config, seed, photo_linear, camera)
    return procedural_lights(scene, config, seed)


def circle_mask(camera) -> np.ndarray:
    """(H, W) bool: pixels inside the camera's image circle."""
    return camera.in_image_circle(_pixel_centres(camera)).reshape(camera.height, camera.width)
