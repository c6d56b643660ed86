"""The few places where Blender 3.4, 4.x and 5.x differ, in one module (imports bpy).

* Fisheye lens settings: ``camera.data`` (4.x/5.x) vs ``camera.data.cycles`` (3.4).
* Denoiser availability: Debian's 3.4 build has no OIDN; enabling denoising there makes every render fail.
* Pass names in multilayer EXR files: ``IndexOB`` (<= 4.x) vs ``Object Index`` (5.x), ``ShadowCatcher`` vs
  ``Shadow Catcher``.
* Multilayer EXR output: ``file_format = 'OPEN_EXR_MULTILAYER'`` (<= 4.x) vs ``media_type = 'MULTI_LAYER_IMAGE'``
  (5.x).
* View transform: AgX/Filmic defaults; we always set ``Standard``.
"""

from __future__ import annotations

import contextlib

import bpy

VERSION: tuple[int, int, int] = tuple(bpy.app.version)  # type: ignore[assignment]

PANORAMA_TYPES = {
    "fisheye_equidistant": "FISHEYE_EQUIDISTANT",
    "fisheye_equisolid": "FISHEYE_EQUISOLID",
    "fisheye_polynomial": "FISHEYE_LENS_POLYNOMIAL",
}

#: Candidate channel-name stems per pass (first match wins).
PASS_NAMES: dict[str, tuple[str, ...]] = {
    "combined": ("Combined", "Image"),
    "index": ("IndexOB", "Object Index", "ObjectIndex"),
    "shadow_catcher": ("ShadowCatcher", "Shadow Catcher"),
}


def version_string() -> str:
    return bpy.app.version_string


def lens_settings_owner(cam_data):
    """The RNA struct holding ``panorama_type`` and the fisheye settings."""
    if hasattr(cam_data, "panorama_type"):
        return cam_data
    return cam_data.cycles


def set_panorama(cam_data, panorama_type: str, **settings: float) -> None:
    """Make ``cam_data`` a Cycles panorama camera of ``panorama_type`` with fisheye ``settings``."""
    cam_data.type = "PANO"
    owner = lens_settings_owner(cam_data)
    owner.panorama_type = panorama_type
    for key, value in settings.items():
        setattr(owner, key, value)


def oidn_available() -> bool:
    """True when this Blender's Cycles has OpenImageDenoise."""
    try:
        import _cycles  # type: ignore[import-not-found]

        return bool(getattr(_cycles, "with_openimagedenoise", False))
    except Exception:  # pragma: no cover - not in Cycles builds
        return False


def set_multilayer_exr(image_settings, *, float32: bool = True, codec: str = "NONE") -> None:
    """Configure ``image_settings`` for an uncompressed (or ``codec``) multilayer EXR."""
    if hasattr(image_settings, "media_type"):
        try:
            image_settings.media_type = "MULTI_LAYER_IMAGE"
        except (TypeError, ValueError):
            image_settings.file_format = "OPEN_EXR_MULTILAYER"
    else:
        image_settings.file_format = "OPEN_EXR_MULTILAYER"
    if image_settings.file_format != "OPEN_EXR_MULTILAYER":
        image_settings.file_format = "OPEN_EXR_MULTILAYER"
    image_settings.color_depth = "32" if float32 else "16"
    image_settings.exr_codec = codec


def set_view_standard(scene) -> None:
    scene.view_settings.view_transform = "Standard"
    with contextlib.suppress(TypeError, ValueError):
        scene.view_settings.look = "None"
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0
    scene.display_settings.display_device = "sRGB"


def use_compositor(scene, enabled: bool) -> None:
    """Turn compositing off (we composite in numpy), on every API generation."""
    scene.render.use_compositing = enabled
    if VERSION < (5, 0, 0) and hasattr(scene, "use_nodes"):
        scene.use_nodes = enabled and scene.use_nodes


def set_cycles_device(scene, device: str = "auto") -> str:
    """CPU by default; ``gpu``/``auto`` pick the first available GPU backend. Returns 'CPU' or 'GPU'."""
    scene.cycles.device = "CPU"
    if device == "cpu":
        return "CPU"
    try:
        prefs = bpy.context.preferences.addons["cycles"].preferences
    except Exception:
        return "CPU"
    for backend in ("OPTIX", "CUDA", "HIP", "METAL", "ONEAPI"):
        try:
            prefs.compute_device_type = backend
        except (TypeError, ValueError):
            continue
        try:
            prefs.get_devices()
        except Exception:
            continue
        gpus = [d for d in prefs.devices if d.type != "CPU"]
        if gpus:
            for d in prefs.devices:
                d.use = d.type != "CPU"
            scene.cycles.device = "GPU"
            return "GPU"
    with contextlib.suppress(TypeError, ValueError):
        prefs.compute_device_type = "NONE"
    return "CPU"


def set_denoise(scene, enabled: bool) -> bool:
    """Enable OIDN denoising when asked and available; returns whether it is on."""
    on = bool(enabled and oidn_available())
    scene.cycles.use_denoising = on
    if on:
        scene.cycles.denoiser = "OPENIMAGEDENOISE"
        if hasattr(scene.cycles, "denoising_prefilter"):
            scene.cycles.denoising_prefilter = "FAST"
        if hasattr(scene.cycles, "denoising_input_passes"):
            scene.cycles.denoising_input_passes = "RGB_ALBEDO_NORMAL"
    for vl in scene.view_layers:
        if hasattr(vl, "cycles"):
            vl.cycles.use_denoising = on
    return on


def ensure_nodes(idblock) -> None:
    """Make a material/world use its node tree (5.x: always does; ``use_nodes`` is deprecated there)."""
    if VERSION < (5, 0, 0) or getattr(idblock, "node_tree", None) is None:
        idblock.use_nodes = True
