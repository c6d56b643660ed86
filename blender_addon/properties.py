"""Scene settings of the Render & Refine panel (saved in the .blend) and the run-time status (not saved)."""

import importlib.util
import tempfile
from pathlib import Path

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty
from bpy.types import PropertyGroup

# Blender keeps only pointers to the strings of dynamic enum items: hold a reference for their lifetime.
_EXAMPLE_ITEMS: list[tuple[str, str, str]] = []


def examples_dir() -> Path | None:
    """``shared_schema/examples`` found without importing pydantic (the panel must draw without it)."""
    try:
        spec = importlib.util.find_spec("shared_schema")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).resolve().parent / "examples"
    return path if path.is_dir() else None


def example_names() -> list[str]:
    folder = examples_dir()
    return sorted(p.stem for p in folder.glob("*.json")) if folder else []


def _example_items(self, context):
    items = [(n, n.replace("_", " ").title(), f"shared_schema/examples/{n}.json") for n in example_names()]
    if not items:
        items = [("office", "Office", "built-in example (shared_schema not found)")]
    _EXAMPLE_ITEMS[:] = items
    return _EXAMPLE_ITEMS


def output_root(settings: "RenderRefineSettings") -> Path:
    """The output folder as an absolute path (``//`` is the .blend's folder; the temp folder when unsaved)."""
    raw = settings.output_dir.strip() or "//render_and_refine"
    if raw.startswith("//") and not bpy.data.filepath:
        return Path(tempfile.gettempdir()) / raw[2:]
    return Path(bpy.path.abspath(raw)).resolve()


class RenderRefineSettings(PropertyGroup):
    """``scene.render_refine``: what to generate and where to write it."""

    config_source: EnumProperty(
        name="Config",
        description="Where the scene configuration comes from",
        items=[
            ("EXAMPLE", "Example", "A built-in example room"),
            ("FILE", "File", "A scene config JSON file (shared_schema.SceneConfig)"),
        ],
        default="EXAMPLE",
    )
    example: EnumProperty(name="Example", description="Built-in example config", items=_example_items)
    config_path: StringProperty(
        name="Config File", description="Scene config JSON (shared_schema.SceneConfig)", subtype="FILE_PATH"
    )
    override_people: BoolProperty(
        name="Override People Counts",
        description="Use the counts below instead of the config's people ranges",
        default=False,
    )
    standing_min: IntProperty(name="Standing Min", min=0, max=50, default=0)
    standing_max: IntProperty(name="Standing Max", min=0, max=50, default=4)
    sitting_min: IntProperty(name="Sitting Min", min=0, max=50, default=1)
    sitting_max: IntProperty(name="Sitting Max", min=0, max=50, default=5)
    seed: IntProperty(name="Seed", description="Random seed of the scene", min=0, max=2**31 - 1, default=0)
    resolution: IntProperty(
        name="Resolution", description="Square image size in pixels", min=16, max=8192, default=512, subtype="PIXEL"
    )
    samples: IntProperty(name="Samples", description="Cycles samples per pixel", min=1, max=4096, default=16)
    output_dir: StringProperty(
        name="Output",
        description="Folder receiving images/, instances/, annotations/ and refined/",
        default="//render_and_refine",
        subtype="DIR_PATH",
    )
    image_id: StringProperty(
        name="Image ID", description="File name stem of the single render (empty: from the seed)", default=""
    )
    batch_count: IntProperty(name="Images", description="Number of images of a batch", min=1, max=1_000_000, default=10)
    batch_refine: BoolProperty(
        name="Refine Batch", description="Send each batch image to the refinement server", default=False
    )

    def effective_image_id(self) -> str:
        return self.image_id.strip() or f"seed_{self.seed:06d}"


class RenderRefineStatus(PropertyGroup):
    """``window_manager.render_refine``: progress and messages of the running job (never saved)."""

    busy: BoolProperty(name="Busy", default=False)
    job_kind: StringProperty(name="Job", default="")
    progress: FloatProperty(name="Progress", min=0.0, max=1.0, default=0.0, subtype="FACTOR")
    message: StringProperty(name="Status", default="")
    error: StringProperty(name="Error", default="")
    last_image: StringProperty(name="Synthetic", subtype="FILE_PATH", default="")
    last_refined: StringProperty(name="Refined", subtype="FILE_PATH", default="")


classes = (RenderRefineSettings, RenderRefineStatus)


def register() -> None:
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.Scene.render_refine = PointerProperty(type=RenderRefineSettings)
    bpy.types.WindowManager.render_refine = PointerProperty(type=RenderRefineStatus)


def unregister() -> None:
    del bpy.types.WindowManager.render_refine
    del bpy.types.Scene.render_refine
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
