"""Moved to blender_addon.core.png (pure numpy: core = no bpy); this alias keeps imports from branches made
before the move working. Import from blender_addon.core.png."""

from ..core.png import *  # noqa: F403
