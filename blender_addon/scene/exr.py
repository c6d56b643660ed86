"""Moved to blender_addon.core.exr (pure numpy: core = no bpy); this alias keeps imports from branches made
before the move working. Import from blender_addon.core.exr."""

from ..core.exr import *  # noqa: F403
