"""A Blender camera object from a :class:`shared_schema.CameraModel` (imports bpy)."""

from __future__ import annotations

import math

import bpy

from . import compat


def apply_camera_model(cam_obj, model) -> None:
    """Set lens, sensor and pose of ``cam_obj`` so Cycles renders exactly what ``model.project`` predicts."""
    data = cam_obj.data
    data.sensor_fit = "AUTO"
    data.sensor_width = model.sensor_width_mm
    # Cycles maps the image's larger side to sensor_width; keep pixels square for the other side.
    data.sensor_height = model.sensor_width_mm * min(model.width, model.height) / max(model.width, model.height)
    data.clip_start = 0.01
    data.clip_end = 1000.0
    if model.projection == "perspective":
        data.type = "PERSP"
        data.lens_unit = "FOV"
        data.angle = math.radians(model.fov_deg)
    else:
        settings: dict[str, float] = {"fisheye_fov": math.radians(model.fov_deg)}
        if model.projection == "fisheye_equisolid":
            settings["fisheye_lens"] = model.focal_mm
        if model.projection == "fisheye_polynomial":
            for i, k in enumerate(model.polynomial_k):
                settings[f"fisheye_polynomial_k{i}"] = float(k)
        compat.set_panorama(data, compat.PANORAMA_TYPES[model.projection], **settings)
    cu, cv = model.center
    # Blender's lens shift is in units of the larger image side; shifting the frame right moves the optical
    # centre left in the image (measured by the marker test, perspective and fisheye alike).
    size = max(model.width, model.height)
    data.shift_x = -(cu - model.width / 2.0) / size
    data.shift_y = (cv - model.height / 2.0) / size
    cam_obj.location = tuple(model.position)
    cam_obj.rotation_mode = "XYZ"
    cam_obj.rotation_euler = tuple(math.radians(a) for a in model.rotation_euler_deg)


def add_camera(scene, model, name: str = "R2_Camera"):
    data = bpy.data.cameras.new(name)
    obj = bpy.data.objects.new(name, data)
    scene.collection.objects.link(obj)
    apply_camera_model(obj, model)
    scene.camera = obj
    scene.render.resolution_x = model.width
    scene.render.resolution_y = model.height
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = 1.0
    scene.render.pixel_aspect_y = 1.0
    return obj
