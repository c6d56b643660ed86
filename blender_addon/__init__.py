"""Render & Refine: annotated overhead-fisheye people images rendered in Blender, refined by a server.

This package is the Blender add-on (an extension for Blender 4.2+, with a legacy ``bl_info`` for older Blender).
Importing it must stay cheap and bpy-free: ``register()`` imports the UI modules lazily, so the pure modules
(``blender_addon.core``, ``blender_addon.jobs``, ...) import and test without Blender.
"""

from __future__ import annotations

bl_info = {
    "name": "Render & Refine",
    "author": "Render & Refine developers",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "3D Viewport > Sidebar (N) > Render & Refine",
    "description": "Randomized overhead-fisheye people scenes with exact annotations, refined by a GAN server",
    "doc_url": "https://github.com/render-and-refine/render-and-refine/blob/main/README.md",
    "category": "Render",
}

#: bl_info and blender_manifest.toml must hold literals (Blender reads them without importing); both are checked
#: against shared_schema.__version__ when the zip is built and in tests/deploy.
__version__ = ".".join(str(v) for v in bl_info["version"])

# Registration order: preferences and properties first (panels and operators read them), panels last.
_UI_MODULES = ("preferences", "properties", "operators", "panels")


def _is_extension() -> bool:
    return (__package__ or "").startswith("bl_ext.")


def register() -> None:
    import importlib
    from pathlib import Path

    if not _is_extension():
        # Legacy install path: Blender did not install the bundled wheels, put them on sys.path ourselves.
        from . import bundled_wheels

        try:
            bundled_wheels.ensure_dependencies(Path(__file__).resolve().parent)
        except Exception as exc:  # never block registration: the panel shows what is missing
            print(f"Render & Refine: could not set up the bundled wheels: {exc}")

    for name in _UI_MODULES:
        importlib.import_module(f".{name}", __package__).register()


def unregister() -> None:
    import importlib

    for name in reversed(_UI_MODULES):
        module = importlib.import_module(f".{name}", __package__)
        module.unregister()
