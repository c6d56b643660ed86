"""Build one annotated scene in Blender from a SceneConfig and an image seed (imports bpy).

The scene is described first (:mod:`..core.scene_description`, pure) and then realized here: render settings,
camera, lights, room; the people search (:func:`..core.placement.place_people`) calls back into Blender only
through :class:`.bodies.BodyChecker`, which builds each candidate body and checks its posed mesh.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import bpy
import numpy as np

from ..core.backgrounds import choose_photo
from ..core.placement import FloorObstacle, PlacedPerson, place_people
from ..core.scene_description import (
    DEFAULT_EXPOSURE_EV,
    FRAME,
    RenderSpec,
    SceneDescription,
    StageDescription,
    describe_stage,
    room_config,
    scaled_camera,
)
from . import compat
from .bodies import BodyChecker, bvh_of_objects, scene_depsgraph, world_triangles
from .camera import add_camera
from .lighting import add_lights
from .room import add_room

__all__ = ["BuiltScene", "build", "bvh_of_objects", "new_scene", "scene_depsgraph", "world_triangles"]

SCENE_NAME = "R2_Scene"
#: Name prefixes of the datablocks a built scene owns (deleted with it when nothing else uses them).
_OWNED_PREFIXES = ("R2_", "obstacle_", "person_", "stool_")


@dataclass
class BuiltScene:
    """A realized scene and what the render and the annotation need from it."""

    scene: Any
    config: Any
    camera: Any  # shared_schema.CameraModel actually rendered (resolution applied)
    seed: int
    samples: int
    persons: list = field(default_factory=list)  # PersonHandle, instance ids 1..K
    person_meta: list[PlacedPerson] = field(default_factory=list)
    obstacles: list[FloorObstacle] = field(default_factory=list)  # config + generated stools
    lighting: dict = field(default_factory=dict)
    background: dict = field(default_factory=dict)
    sampled: dict = field(default_factory=dict)
    photo_linear: np.ndarray | None = None  # (H, W, 3) linear photo, rows top to bottom
    denoise: bool = False
    device: str = "CPU"
    timings: dict = field(default_factory=dict)
    person_bvh: list = field(default_factory=list)
    exposure: float = DEFAULT_EXPOSURE_EV  # stops applied to the rendered light (photo mode: matched to the photo)
    camera_response: dict = field(default_factory=dict)  # procedural: white balance and auto-exposure target
    frame: int = FRAME
    description: SceneDescription | None = None


# -- the Blender scene ------------------------------------------------------------------------------------------
def _remove_scene(old) -> None:
    """Delete a scene we built and the data only it used."""
    objs = list(old.objects)
    datas = [o.data for o in objs if o.data is not None]
    mats = [m for d in datas if hasattr(d, "materials") for m in d.materials if m is not None]
    world = old.world
    bpy.data.batch_remove(objs)
    bpy.data.batch_remove([d for d in datas if d.users == 0])
    bpy.data.batch_remove([m for m in set(mats) if m.users == 0])
    if len(bpy.data.scenes) > 1:
        bpy.data.scenes.remove(old)
    if world is not None and world.users == 0:
        bpy.data.worlds.remove(world)
    for coll in (
        bpy.data.meshes,
        bpy.data.materials,
        bpy.data.actions,
        bpy.data.armatures,
        bpy.data.lights,
        bpy.data.cameras,
        bpy.data.images,
        bpy.data.worlds,
    ):
        orphans = [d for d in coll if d.users == 0 and d.name.startswith(_OWNED_PREFIXES)]
        if orphans:
            bpy.data.batch_remove(orphans)


def _drop_cached_datablocks() -> None:
    """Remove the humans package's reused pre-skinned body template: copies of it carry state from earlier
    images, so every image starts from the same Blender data."""
    try:
        from ..humans.build import TEMPLATE_NAME
    except ImportError:  # pragma: no cover - humans package without a template
        return
    me = bpy.data.meshes.get(TEMPLATE_NAME)
    if me is not None and me.users == 0:
        bpy.data.meshes.remove(me)


def new_scene():
    """A fresh scene named ``R2_Scene`` (shown in the window when there is one); the previous one is deleted
    after the new one exists, so the window never loses its scene."""
    old = bpy.data.scenes.get(SCENE_NAME)
    if old is not None:
        old.name = SCENE_NAME + "_old"
    scene = bpy.data.scenes.new(SCENE_NAME)
    window = getattr(bpy.context, "window", None)
    if window is not None:
        window.scene = scene
    if old is not None:
        _remove_scene(old)
    _drop_cached_datablocks()
    return scene


def setup_render(scene, spec: RenderSpec) -> tuple[str, bool]:
    """Cycles settings, passes and frame of ``spec``; returns the device and whether denoising is on."""
    r = scene.render
    r.engine = "CYCLES"
    scene.cycles.samples = spec.samples
    scene.cycles.preview_samples = spec.samples
    if hasattr(scene.cycles, "use_adaptive_sampling"):
        scene.cycles.use_adaptive_sampling = False
    scene.cycles.seed = spec.cycles_seed
    scene.cycles.use_animated_seed = False
    scene.cycles.pixel_filter_type = "BOX"
    scene.cycles.filter_width = 1.0
    scene.cycles.max_bounces = spec.max_bounces
    if hasattr(scene.cycles, "use_light_tree"):
        scene.cycles.use_light_tree = True
    device = compat.set_cycles_device(scene, spec.device)
    denoise = compat.set_denoise(scene, spec.denoise)
    r.use_motion_blur = spec.motion_blur
    r.motion_blur_shutter = spec.motion_blur_shutter
    r.film_transparent = spec.photo
    compat.set_view_standard(scene)
    scene.view_settings.exposure = spec.exposure_ev  # Blender's own view matches images/<id>.png
    compat.use_compositor(scene, False)
    vl = scene.view_layers[0]
    vl.use_pass_object_index = True
    vl.use_pass_combined = True
    if spec.photo:
        vl.cycles.use_pass_shadow_catcher = True
    compat.set_multilayer_exr(r.image_settings)
    r.use_file_extension = True
    scene.frame_start, scene.frame_end = 1, spec.frame + 5
    scene.frame_set(spec.frame)
    return device, denoise


def load_photo(path: str, width: int, height: int) -> np.ndarray:
    """The background photo as linear RGB (H, W, 3), top row first, resampled (nearest) to the render size."""
    from ..core.png import srgb_to_linear

    img = bpy.data.images.load(str(path), check_existing=False)
    try:
        w, h = img.size
        px = np.empty(w * h * 4, dtype=np.float32)
        img.pixels.foreach_get(px)
        is_float = img.is_float
    finally:
        bpy.data.images.remove(img)
    arr = px.reshape(h, w, 4)[::-1, :, :3]
    if (w, h) != (width, height):
        rows = (np.arange(height) * h / height).astype(int)
        cols = (np.arange(width) * w / width).astype(int)
        arr = arr[rows][:, cols]
    return arr if is_float else srgb_to_linear(arr)


def drop_hidden(built: BuiltScene, min_fraction: float) -> None:
    """``people.min_visible_fraction``: remove people the camera sees less than that (before rendering)."""
    from .visibility import drop_hidden_people

    person_obs = {ob.name for h in built.persons for ob in h.objects}
    occluders = [
        o for o in built.scene.objects if o.type == "MESH" and o.name not in person_obs and o.name != "R2_Floor"
    ]
    t0 = time.perf_counter()
    dropped = drop_hidden_people(built, occluders, min_fraction)
    built.timings["visibility_s"] = time.perf_counter() - t0
    built.sampled["min_visible_fraction"] = min_fraction
    built.sampled["dropped_persons"] = dropped


# -- describe, then realize -------------------------------------------------------------------------------------
def _realize_stage(built: BuiltScene, stage: StageDescription) -> BodyChecker:
    """Render settings, camera, lights and room in ``built.scene``; returns the people search's callback."""
    scene = built.scene
    built.device, built.denoise = setup_render(scene, stage.render)
    add_camera(scene, stage.camera)
    add_lights(scene, stage.lights)
    built.lighting = dict(stage.lights.record)
    built.camera_response = dict(stage.lights.camera_response)
    built.exposure = stage.render.exposure_ev
    obstacle_objects = add_room(scene, stage.room)
    return BodyChecker(scene, stage.room, stage.config.phenotype, stage.render.motion_blur, obstacle_objects)


def build(
    config, seed: int, *, index: int = 0, resolution: int | None = None, samples: int | None = None
) -> BuiltScene:
    """Build image ``index`` (which background photo it uses) of a run, drawn from ``seed``."""
    t0 = time.perf_counter()
    choice = choose_photo(config.background, index)
    room = room_config(config, choice, int(seed))
    camera = scaled_camera(config.camera, resolution)
    n_samples = int(samples or config.render.samples)
    scene = new_scene()
    built = BuiltScene(scene=scene, config=config, camera=camera, seed=int(seed), samples=n_samples)
    if choice is not None:
        built.photo_linear = load_photo(choice.path, camera.width, camera.height)
    stage = describe_stage(room, built.seed, camera, n_samples, choice, built.photo_linear)
    checker = _realize_stage(built, stage)
    people = place_people(room, built.seed, stage.room.obstacles, checker)
    built.description = SceneDescription(stage, people)
    built.background = built.description.background_record()
    built.sampled = built.description.sampled_record()
    built.obstacles = list(people.obstacles)
    built.persons, built.person_bvh = checker.handles, checker.person_bvh
    built.person_meta = [p.person for p in people.people]
    built.timings.update(checker.timings)
    scene.frame_set(FRAME)  # every person's keyed pose at the rendered frame
    if room.people.min_visible_fraction > 0:
        drop_hidden(built, room.people.min_visible_fraction)
    built.timings["assembly_s"] = time.perf_counter() - t0
    return built
