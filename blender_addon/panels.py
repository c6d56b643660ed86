"""The "Render & Refine" tab of the 3D Viewport sidebar (N panel), and its status-bar entry."""

import textwrap

import bpy
from bpy.types import Panel

from . import operators
from .preferences import get_preferences

CATEGORY = "Render & Refine"


def _progress(layout, factor: float, text: str) -> None:
    if hasattr(layout, "progress"):  # Blender 4.0+
        layout.progress(factor=factor, type="BAR", text=text)
    else:
        layout.label(text=f"{text} ({factor * 100:.0f} %)")


def _wrapped(layout, text: str, context, *, icon: str = "NONE", alert: bool = False) -> None:
    width = max(20, int((context.region.width if context.region else 300) / 7))
    col = layout.column(align=True)
    col.alert = alert
    for i, line in enumerate(textwrap.wrap(text, width) or [""]):
        col.label(text=line, icon=icon if i == 0 else "BLANK1" if icon != "NONE" else "NONE")


def _dependencies_box(layout, context) -> None:
    # Checked only on a cheap import probe: the panel draws even in a Blender without pydantic.
    import importlib.util

    missing = [m for m in ("pydantic", "shared_schema") if importlib.util.find_spec(m) is None]
    if missing:
        box = layout.box()
        _wrapped(
            box,
            f"Missing Python packages: {', '.join(missing)}. Install the extension zip in Blender 4.2+ "
            "(it bundles them).",
            context,
            icon="ERROR",
            alert=True,
        )


class _SidebarPanel:
    """Where every panel of the add-on lives: the 3D Viewport sidebar, tab "Render & Refine"."""

    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = CATEGORY


class _SubPanel(_SidebarPanel):
    bl_parent_id = "RENDER_REFINE_PT_main"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        self.draw_props(layout, context)

    def draw_props(self, layout, context) -> None:
        raise NotImplementedError


class RENDER_REFINE_PT_main(_SidebarPanel, Panel):
    bl_idname = "RENDER_REFINE_PT_main"
    bl_label = "Render & Refine"

    @classmethod
    def poll(cls, context):
        return context.scene is not None and hasattr(context.scene, "render_refine")

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        s = context.scene.render_refine
        st = context.window_manager.render_refine

        _dependencies_box(layout, context)

        row = layout.row()
        row.use_property_split = False
        row.prop(s, "config_source", expand=True)
        col = layout.column()
        if s.config_source == "EXAMPLE":
            col.prop(s, "example")
        else:
            col.prop(s, "config_path", text="File")
        row = col.row(align=True)
        row.prop(s, "seed")
        row.operator(operators.RENDER_REFINE_OT_roll_seed.bl_idname, text="", icon="FILE_REFRESH")

        col = layout.column(heading="People")
        col.prop(s, "override_people", text="Override")
        sub = col.column(align=True)
        sub.active = s.override_people
        row = sub.row(align=True)
        row.prop(s, "standing_min", text="Standing")
        row.prop(s, "standing_max", text="")
        row = sub.row(align=True)
        row.prop(s, "sitting_min", text="Sitting")
        row.prop(s, "sitting_max", text="")

        col = layout.column(heading="Render")
        col.prop(s, "resolution")
        col.prop(s, "samples")
        col.prop(s, "output_dir")
        if _has_placeholder():
            col.prop(s, "image_id", placeholder=f"seed_{s.seed:06d}")
        else:
            col.prop(s, "image_id")

        layout.separator()
        col = layout.column(align=True)
        col.scale_y = 1.3
        col.operator(operators.RENDER_REFINE_OT_generate_scene.bl_idname, icon="SCENE_DATA")
        col.operator(operators.RENDER_REFINE_OT_render_refine.bl_idname, icon="RENDER_STILL")
        row = col.row(align=True)
        row.operator(operators.RENDER_REFINE_OT_render_batch.bl_idname, icon="RENDER_ANIMATION")

        # Status
        if st.busy or operators.job_running():
            box = layout.box()
            row = box.row(align=True)
            _progress(row, st.progress, st.message or "Working…")
            row.operator(operators.RENDER_REFINE_OT_cancel_job.bl_idname, text="", icon="CANCEL")
        elif st.message:
            _wrapped(layout.box(), st.message, context, icon="INFO")
        if st.error:
            _wrapped(layout.box(), st.error, context, icon="ERROR", alert=True)


def _has_placeholder() -> bool:
    return bpy.app.version >= (4, 1, 0)


class RENDER_REFINE_PT_server(_SubPanel, Panel):
    bl_idname = "RENDER_REFINE_PT_server"
    bl_label = "Refinement Server"

    def draw_props(self, layout, context) -> None:
        prefs = get_preferences(context)
        if prefs is None:
            layout.label(text="Enable the add-on to store server settings", icon="INFO")
            return
        layout.prop(prefs, "server_url", text="URL")
        layout.prop(prefs, "token")  # PASSWORD subtype: drawn as dots
        layout.prop(prefs, "timeout")


class RENDER_REFINE_PT_batch(_SubPanel, Panel):
    bl_idname = "RENDER_REFINE_PT_batch"
    bl_label = "Batch"

    def draw_props(self, layout, context) -> None:
        s = context.scene.render_refine
        layout.prop(s, "batch_count")
        layout.prop(s, "batch_refine")
        st = context.window_manager.render_refine
        if st.last_image:
            layout.label(text=f"Last render: {bpy.path.basename(st.last_image)}", icon="IMAGE_DATA")
        if st.last_refined:
            layout.label(text=f"Last refined: {bpy.path.basename(st.last_refined)}", icon="IMAGE_DATA")


def draw_status_bar(self, context) -> None:
    """Appended to the status bar header: the running job's progress."""
    st = getattr(context.window_manager, "render_refine", None)
    if st is None or not (st.busy or operators.job_running()):
        return
    row = self.layout.row(align=True)
    row.label(text="Render & Refine:")
    _progress(row, st.progress, st.message or "Working…")


classes = (RENDER_REFINE_PT_main, RENDER_REFINE_PT_server, RENDER_REFINE_PT_batch)


def register() -> None:
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.STATUSBAR_HT_header.append(draw_status_bar)


def unregister() -> None:
    bpy.types.STATUSBAR_HT_header.remove(draw_status_bar)
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
