"""Realize a :class:`..core.scene_lights.LightsDescription` in a Blender scene (imports bpy)."""

from __future__ import annotations

import math

import bpy
import numpy as np

from ..core.scene_lights import AreaLightSpec, LightsDescription, SunSpec, WorldSpec, circle_mask
from . import compat

__all__ = ["add_lights", "circle_mask"]


def _sun(scene, spec: SunSpec) -> None:
    sun = bpy.data.lights.new(spec.name, "SUN")
    sun.energy = spec.strength
    sun.color = spec.color
    sun.angle = math.radians(spec.angle_deg)
    ob = bpy.data.objects.new(spec.name, sun)
    # a sun at elevation e, azimuth a shines along -(cos e cos a, cos e sin a, sin e)
    ob.rotation_euler = (0.0, math.radians(90.0 - spec.elevation_deg), math.radians(spec.azimuth_deg))
    scene.collection.objects.link(ob)


def _area(scene, spec: AreaLightSpec) -> None:
    light = bpy.data.lights.new(spec.name, "AREA")
    light.energy = spec.power
    light.size = spec.size
    light.color = spec.color
    ob = bpy.data.objects.new(spec.name, light)
    ob.location = (float(spec.position[0]), float(spec.position[1]), spec.z)
    if hasattr(ob, "visible_camera"):
        ob.visible_camera = False  # a ceiling panel seen at the fisheye's horizon would only blow out pixels
    scene.collection.objects.link(ob)


def _world(scene, spec: WorldSpec) -> None:
    world = bpy.data.worlds.new("R2_World")
    compat.ensure_nodes(world)
    nt = world.node_tree
    bg = nt.nodes.get("Background")
    bg.inputs[0].default_value = (*spec.color, 1.0)
    bg.inputs[1].default_value = spec.strength
    env = spec.environment
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


def add_lights(scene, lights: LightsDescription) -> None:
    """The sun, the area lamps and panels, then the world of one image."""
    _sun(scene, lights.sun)
    for spec in lights.areas:
        _area(scene, spec)
    _world(scene, lights.world)
