"""Add-on preferences: the refinement server (URL, token, timeout). The token is a password field and is never
printed, logged or put in a report."""

import os
from dataclasses import dataclass

import bpy
from bpy.props import FloatProperty, IntProperty, StringProperty
from bpy.types import AddonPreferences

ADDON_ID = __package__  # "blender_addon" from the repo, "render_and_refine" legacy, "bl_ext.<repo>.render_and_refine"

DEFAULT_SERVER_URL = "http://127.0.0.1:8000"


class RENDER_REFINE_AP_preferences(AddonPreferences):
    bl_idname = ADDON_ID

    server_url: StringProperty(
        name="Server URL", description="Base URL of the refinement server", default=DEFAULT_SERVER_URL
    )
    token: StringProperty(
        name="Token",
        description="Bearer token of the refinement server (stored in the preferences, never printed)",
        default="",
        subtype="PASSWORD",
    )
    timeout: FloatProperty(name="Timeout", description="Seconds per HTTP request", min=1.0, max=3600.0, default=60.0)
    retries: IntProperty(
        name="Retries", description="Retries when the server is unreachable or busy", min=0, max=20, default=2
    )
    blender_binary: StringProperty(
        name="Blender Binary",
        description="Blender executable for batch renders (empty: this Blender)",
        default="",
        subtype="FILE_PATH",
    )

    def draw(self, context):
        layout = self.layout
        col = layout.column()
        col.prop(self, "server_url")
        col.prop(self, "token")
        row = col.row()
        row.prop(self, "timeout")
        row.prop(self, "retries")
        col.prop(self, "blender_binary")


@dataclass
class ServerSettings:
    server_url: str
    token: str
    timeout: float
    retries: int
    blender_binary: str

    def __repr__(self) -> str:  # never shows the token
        return (
            f"ServerSettings(server_url={self.server_url!r}, token={'***' if self.token else None}, "
            f"timeout={self.timeout}, retries={self.retries})"
        )


def get_preferences(context=None):
    """The add-on's preferences, or None when the add-on was registered without being enabled as an add-on."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    return addon.preferences if addon is not None else None


def server_settings(context=None) -> ServerSettings:
    """Server settings from the preferences; ``R2_REFINE_URL`` / ``REFINE_TOKEN`` fill in when
    the add-on runs without preferences (e.g. registered directly from a script)."""
    prefs = get_preferences(context)
    if prefs is not None:
        return ServerSettings(
            prefs.server_url.strip() or DEFAULT_SERVER_URL,
            prefs.token,
            float(prefs.timeout),
            int(prefs.retries),
            prefs.blender_binary.strip(),
        )
    return ServerSettings(
        os.environ.get("R2_REFINE_URL", DEFAULT_SERVER_URL),
        os.environ.get("REFINE_TOKEN", ""),
        float(os.environ.get("R2_REFINE_TIMEOUT", "60")),
        int(os.environ.get("R2_REFINE_RETRIES", "2")),
        "",
    )


classes = (RENDER_REFINE_AP_preferences,)


def register() -> None:
    for cls in classes:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
