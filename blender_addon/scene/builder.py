"""Build one annotated scene in Blender from a SceneConfig and an image seed (imports bpy).

Thesis §3.2 / Algorithm 4: floor, annotated obstacles, people (collision-checked), fisheye camera,
randomized lights, background (photo + shadow catcher + holdout furniture, or a procedural room).
Every random quantity comes from ``rng_for(seed, <key path>)``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import bmesh
import bpy
import numpy as np
from mathutils.bvhtree import BVHTree

from shared_schema.distributions import rng_for

from ..core.backgrounds import choose_photo
from ..core.lighting import kelvin_to_rgb  # noqa: F401  (re-exported: moved to core.lighting)
from ..core.placement import (
    FloorObstacle,
    PlacedPerson,
    PlacementError,
    Placer,
    as_poly,
    footprint_estimate,
    polygon_centroid,
    unproject_polygon_px,
)
from . import compat
from .camera import add_camera
from .lighting import add_lights

SCENE_NAME = "R2_Scene"
#: Posed-mesh (narrow phase) checks per person before giving up; each builds a body (~0.2 s).
MAX_BUILDS_PER_PERSON = 12
DEBUG = False
#: Farthest a body reaches from its floor position (arms, a sitter's legs), metres: the narrow phase skips
#: obstacles and people beyond the sum of reaches.
STANDING_REACH_M = 1.0
SITTING_REACH_M = 1.2


def _poly_distance(point, polygon) -> float:
    """Distance from a point to a polygon (0 inside)."""
    p = np.asarray(point, dtype=np.float64)
    poly = as_poly(polygon)
    from shared_schema.geometry import point_in_polygon

    if point_in_polygon((float(p[0]), float(p[1])), poly):
        return 0.0
    a, b = poly, np.roll(poly, -1, axis=0)
    ab = b - a
    t = np.clip(((p - a) * ab).sum(1) / np.maximum((ab * ab).sum(1), 1e-12), 0.0, 1.0)
    return float(np.min(np.hypot(*(a + ab * t[:, None] - p).T)))


FRAME = 10


def humans_api():
    """(PersonParams, make_person): the humans package (MakeHuman bodies posed with CMU mocap)."""
    from ..humans import PersonParams, make_person

    return PersonParams, make_person


@dataclass
class BuiltScene:
    scene: Any
    config: Any
    camera: Any  # shared_schema.CameraModel actually rendered (resolution applied)
    seed: int
    samples: int
    persons: list = field(default_factory=list)  # PersonHandle, instance ids 1..K
    person_meta: list[PlacedPerson] = field(default_factory=list)
    obstacles: list = field(default_factory=list)  # FloorObstacle (config + generated stools)
    lighting: dict = field(default_factory=dict)
    background: dict = field(default_factory=dict)
    sampled: dict = field(default_factory=dict)
    photo_linear: np.ndarray | None = None  # (H, W, 3) linear photo, rows top to bottom
    denoise: bool = False
    device: str = "CPU"
    timings: dict = field(default_factory=dict)
    person_bvh: list = field(default_factory=list)
    exposure: float = -2.0  # stops applied to the rendered light (photo mode: matched to the photo)
    camera_response: dict = field(default_factory=dict)  # procedural: white balance and auto-exposure target
    frame: int = FRAME


# -- small helpers ----------------------------------------------------------------------------------------------
def human_yaw(facing_deg: float) -> float:
    """The humans package's yaw (0 = facing -Y, counter-clockwise) of a facing direction (0 = +X)."""
    return round((facing_deg + 90.0) % 360.0, 6)


def _material(name: str, color, roughness: float = 0.6):
    mat = bpy.data.materials.new(name)
    mat.diffuse_color = (*color, 1.0)
    compat.ensure_nodes(mat)
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    if bsdf is not None:
        bsdf.inputs["Base Color"].default_value = (*color, 1.0)
        bsdf.inputs["Roughness"].default_value = roughness
    return mat


def _prism(bm, polygon, z0: float, z1: float) -> None:
    poly = as_poly(polygon)
    if _signed_area(poly) < 0:
        poly = poly[::-1]
    bottom = [bm.verts.new((float(x), float(y), z0)) for x, y in poly]
    top = [bm.verts.new((float(x), float(y), z1)) for x, y in poly]
    bm.faces.new(list(reversed(bottom)))
    bm.faces.new(top)
    n = len(poly)
    for i in range(n):
        j = (i + 1) % n
        bm.faces.new((bottom[i], bottom[j], top[j], top[i]))


def _signed_area(p: np.ndarray) -> float:
    return float(0.5 * (np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(p[:, 1], np.roll(p[:, 0], -1))))


_SQUARE = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])


def _leg_polys(polygon, inset: float = 0.06, size: float = 0.05) -> list[np.ndarray]:
    poly = as_poly(polygon)
    c = poly.mean(axis=0)
    legs = []
    for v in poly:
        d = c - v
        n = float(np.hypot(*d)) or 1.0
        p = v + d / n * inset * math.sqrt(2)
        legs.append(p + _SQUARE * size / 2)
    return legs


def obstacle_mesh(ob: FloorObstacle):
    """Furniture mesh from a floor obstacle: tables = top + legs; chairs/stools = seat + post; others = prisms."""
    bm = bmesh.new()
    if ob.kind == "table":
        _prism(bm, ob.polygon, ob.height - 0.04, ob.height)
        for leg in _leg_polys(ob.polygon):
            _prism(bm, leg, 0.0, ob.height - 0.04)
    elif ob.kind == "chair":
        seat = ob.seat_height or ob.height
        _prism(bm, ob.polygon, seat - 0.05, seat)
        c = np.array(polygon_centroid(ob.polygon))
        _prism(bm, c + _SQUARE * 0.03, 0.0, seat - 0.05)
    else:
        _prism(bm, ob.polygon, 0.0, ob.height)
    me = bpy.data.meshes.new(f"obstacle_{ob.name}")
    bm.to_mesh(me)
    bm.free()
    return me


def world_triangles(ob, depsgraph) -> tuple[np.ndarray, np.ndarray] | None:
    """World vertices (N, 3) and triangles (T, 3) of an object's evaluated (posed) mesh; None when empty."""
    if ob.type != "MESH":
        return None
    ev = ob.evaluated_get(depsgraph)
    me = ev.to_mesh()
    try:
        me.calc_loop_triangles()
        nv, nt = len(me.vertices), len(me.loop_triangles)
        if nv == 0 or nt == 0:
            return None
        co = np.empty(nv * 3, dtype=np.float64)
        me.vertices.foreach_get("co", co)
        tris = np.empty(nt * 3, dtype=np.int64)
        me.loop_triangles.foreach_get("vertices", tris)
        mw = np.array(ev.matrix_world, dtype=np.float64)
    finally:
        ev.to_mesh_clear()
    return co.reshape(-1, 3) @ mw[:3, :3].T + mw[:3, 3], tris.reshape(-1, 3)


def bvh_of_objects(objects, depsgraph) -> BVHTree | None:
    """A BVH of the evaluated (posed) meshes of ``objects`` in world coordinates (triangles)."""
    all_verts: list[np.ndarray] = []
    all_tris: list[np.ndarray] = []
    base = 0
    for ob in objects:
        got = world_triangles(ob, depsgraph)
        if got is None:
            continue
        all_verts.append(got[0])
        all_tris.append(got[1] + base)
        base += len(got[0])
    if not all_tris:
        return None
    return BVHTree.FromPolygons(
        np.concatenate(all_verts).tolist(), np.concatenate(all_tris).tolist(), all_triangles=True
    )


def scaled_camera(camera, resolution: int | None):
    """The config camera at another resolution (``resolution`` = the larger side), same lens and pose."""
    if not resolution or resolution == max(camera.width, camera.height):
        return camera
    s = resolution / max(camera.width, camera.height)
    w, h = max(8, round(camera.width * s)), max(8, round(camera.height * s))
    upd: dict[str, Any] = {"width": w, "height": h}
    if camera.principal_point is not None:
        upd["principal_point"] = (
            camera.principal_point[0] * w / camera.width,
            camera.principal_point[1] * h / camera.height,
        )
    return camera.model_copy(update=upd)


# -- the scene --------------------------------------------------------------------------------------------------
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


_OWNED_PREFIXES = ("R2_", "obstacle_", "person_", "stool_")


def _drop_cached_datablocks() -> None:
    """Remove datablocks a previous image left for reuse (the humans package's pre-skinned body template).

    Copies of a reused template carry state from earlier images (measured: with the template kept, image 2 of
    ``--seed 5`` differed in 8 of 9,216 pixels between a fresh process and one that rendered images 0 and 1
    first), so every image starts from the same Blender data; rebuilding the template costs ~0.12 s."""
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


def scene_depsgraph(scene):
    """The evaluated depsgraph of ``scene`` (not necessarily the context's scene)."""
    dg = scene.view_layers[0].depsgraph
    dg.update()
    return dg


def config_obstacles(config) -> list[FloorObstacle]:
    out = []
    for spec in config.obstacles:
        poly = spec.polygon if spec.polygon is not None else unproject_polygon_px(config.camera, spec.polygon_px)
        out.append(
            FloorObstacle(
                name=spec.name,
                kind=spec.kind,
                polygon=[tuple(map(float, p)) for p in poly],
                height=spec.height,
                seat_height=spec.seat_height,
            )
        )
    return out


def setup_render(scene, built: BuiltScene, config, samples: int) -> None:
    r = scene.render
    r.engine = "CYCLES"
    scene.cycles.samples = samples
    scene.cycles.preview_samples = samples
    if hasattr(scene.cycles, "use_adaptive_sampling"):
        scene.cycles.use_adaptive_sampling = False
    scene.cycles.seed = int(built.seed % (2**31))
    scene.cycles.use_animated_seed = False
    scene.cycles.pixel_filter_type = "BOX"
    scene.cycles.filter_width = 1.0
    scene.cycles.max_bounces = config.render.max_bounces
    if hasattr(scene.cycles, "use_light_tree"):
        scene.cycles.use_light_tree = True
    built.device = compat.set_cycles_device(scene, config.render.device)
    built.denoise = compat.set_denoise(scene, config.render.denoise)
    r.use_motion_blur = bool(config.render.motion_blur)
    r.motion_blur_shutter = config.render.motion_blur_shutter
    r.film_transparent = config.background.mode == "photo"
    compat.set_view_standard(scene)
    scene.view_settings.exposure = built.exposure  # Blender's own view matches images/<id>.png
    compat.use_compositor(scene, False)
    vl = scene.view_layers[0]
    vl.use_pass_object_index = True
    vl.use_pass_combined = True
    if config.background.mode == "photo":
        vl.cycles.use_pass_shadow_catcher = True
    compat.set_multilayer_exr(r.image_settings)
    r.use_file_extension = True
    scene.frame_start, scene.frame_end = 1, FRAME + 5
    scene.frame_set(FRAME)


def add_room(scene, config, built: BuiltScene, obstacles: list[FloorObstacle], seed: int) -> list:
    """Floor (+ walls in procedural mode) and furniture. Returns the obstacle objects (for the narrow phase)."""
    rng = rng_for(seed, "background")
    photo = config.background.mode == "photo"
    params: dict[str, Any] = {}
    bm = bmesh.new()
    if photo:
        _prism(bm, [(-50, -50), (50, -50), (50, 50), (-50, 50)], -0.01, 0.0)
    else:
        _prism(bm, config.floor, -0.01, 0.0)
    me = bpy.data.meshes.new("R2_Floor")
    bm.to_mesh(me)
    bm.free()
    floor = bpy.data.objects.new("R2_Floor", me)
    scene.collection.objects.link(floor)
    colors = config.background.floor_colors
    fcol = tuple(float(c) for c in colors[int(rng.integers(len(colors)))]) if colors else (0.5, 0.5, 0.5)
    jitter = rng.uniform(-0.05, 0.05, 3)
    fcol = tuple(float(np.clip(c + j, 0.02, 0.95)) for c, j in zip(fcol, jitter, strict=True))
    rough = float(rng.uniform(0.3, 0.9))
    me.materials.append(_material("R2_FloorMat", fcol, rough))
    params["floor_color"] = [round(c, 4) for c in fcol]
    params["floor_roughness"] = round(rough, 4)
    if photo:
        floor.is_shadow_catcher = True
        params["shadow_catcher"] = True
    else:
        wcol = near_neutral(rng, float(rng.uniform(0.55, 0.9)), WALL_TINT)
        params["wall_color"] = [round(c, 4) for c in wcol]
        bm = bmesh.new()
        poly = as_poly(config.floor)
        n = len(poly)
        for i in range(n):
            a, b = poly[i], poly[(i + 1) % n]
            d = b - a
            nrm = np.array([-d[1], d[0]]) / (np.hypot(*d) or 1.0) * 0.1
            sgn = -1.0 if _signed_area(poly) > 0 else 1.0
            _prism(bm, [a, b, b + sgn * nrm, a + sgn * nrm], 0.0, 2.6)
        wme = bpy.data.meshes.new("R2_Walls")
        bm.to_mesh(wme)
        bm.free()
        walls = bpy.data.objects.new("R2_Walls", wme)
        wme.materials.append(_material("R2_WallMat", wcol, 0.8))
        scene.collection.objects.link(walls)
    obstacle_objs = []
    colors: dict[str, list[float]] = {}
    for ob in obstacles:
        me = obstacle_mesh(ob)
        o = bpy.data.objects.new(f"R2_Obstacle_{ob.name}", me)
        scene.collection.objects.link(o)
        if photo and not ob.generated:
            o.is_holdout = True
            o.visible_shadow = False
        else:
            col = obstacle_color(seed, ob.name)
            me.materials.append(_material(f"R2_Mat_{ob.name}", col, 0.5))
            colors[ob.name] = [round(c, 4) for c in col]
        obstacle_objs.append(o)
    params["obstacle_colors"] = colors
    built.background = {
        "mode": config.background.mode,
        "photo": built.background.get("photo"),
        "params": {**built.background.get("params", {}), **params},
    }
    return obstacle_objs


#: Painted walls are white, grey or beige: a grey level with a small per-channel tint.
WALL_TINT = 0.04
#: Linear albedos of office furniture: light and dark wood, white, light and dark grey, black, muted blue/green.
FURNITURE_COLORS = (
    (0.45, 0.3, 0.18),
    (0.2, 0.12, 0.07),
    (0.75, 0.74, 0.7),
    (0.4, 0.4, 0.4),
    (0.15, 0.15, 0.16),
    (0.04, 0.04, 0.045),
    (0.12, 0.17, 0.28),
    (0.16, 0.22, 0.17),
)


def near_neutral(rng, level: float, tint: float) -> tuple[float, float, float]:
    c = np.clip(level + rng.uniform(-tint, tint, 3), 0.02, 0.95)
    return (float(c[0]), float(c[1]), float(c[2]))


def obstacle_color(seed: int, name: str) -> tuple[float, float, float]:
    """The colour of a rendered (procedural or generated) obstacle, drawn from ``rng_for(seed, "obstacle",
    name)``: a furniture colour with a small jitter."""
    rng = rng_for(seed, "obstacle", name)
    base = np.asarray(FURNITURE_COLORS[int(rng.integers(len(FURNITURE_COLORS)))])
    c = np.clip(base * rng.uniform(0.85, 1.15) + rng.uniform(-0.02, 0.02, 3), 0.01, 0.95)
    return (float(c[0]), float(c[1]), float(c[2]))


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


def place_people(scene, config, built: BuiltScene, obstacles: list[FloorObstacle], obstacle_objs: list) -> None:
    PersonParams, make_person = humans_api()
    seed = built.seed
    count_rng = rng_for(seed, "people", "count")
    n_stand = config.people.standing.sample(count_rng)
    n_sit = config.people.sitting.sample(count_rng)
    built.sampled.update({"standing": n_stand, "sitting": n_sit, "humans": "mpfb2"})
    attempts = config.people.max_placement_attempts
    placer = Placer(floor=list(config.floor), camera=config.camera, obstacles=list(obstacles))
    depsgraph = scene_depsgraph(scene)
    obstacle_bvh = {o.name: bvh_of_objects([obj], depsgraph) for o, obj in zip(obstacles, obstacle_objs, strict=True)}
    by_name = {o.name: o for o in obstacles}
    person_bvh: list = []
    free_seats = [o for o in obstacles if o.is_seat]
    seat_rng = rng_for(seed, "placement", "seats")
    seat_order = [free_seats[i] for i in seat_rng.permutation(len(free_seats))]
    postures = ["sitting"] * n_sit + ["standing"] * n_stand
    coll = scene.collection
    for k, posture in enumerate(postures, start=1):
        rng = rng_for(seed, "placement", k)
        placed = False
        tries = 0
        builds = 0
        tried_seats: set[str] = set()
        while not placed:
            tries += 1
            if tries > attempts or builds >= MAX_BUILDS_PER_PERSON:
                raise PlacementError(
                    f"could not place person {k} ({posture}) after {tries - 1} attempts and {builds} posed-mesh "
                    f"checks ({k - 1} of {len(postures)} placed); lower people counts or raise max_placement_attempts"
                )
            seat = None
            # a new body (pose, phenotype) after each failed posed-mesh check; the first is (seed, person, k)
            person_seed = int(rng_for(seed, "person", k, *([builds] if builds else [])).integers(0, 2**31 - 1))
            if posture == "sitting":
                for cand in seat_order:
                    if cand.name in tried_seats:
                        continue
                    tried_seats.add(cand.name)
                    if placer.in_view(polygon_centroid(cand.polygon), (0.0, 1.35)):
                        seat = cand
                        break
                if seat is None:
                    seat = placer.propose_stool(rng, attempts, f"{k}_{tries}")
                    tried_seats.add(seat.name)
                    mesh = obstacle_mesh(seat)
                    o = bpy.data.objects.new(f"R2_Obstacle_{seat.name}", mesh)
                    col = obstacle_color(seed, seat.name)
                    mesh.materials.append(_material(f"R2_Mat_{seat.name}", col, 0.5))
                    built.background["params"].setdefault("obstacle_colors", {})[seat.name] = [round(c, 4) for c in col]
                    coll.objects.link(o)
                    obstacles.append(seat)
                    by_name[seat.name] = seat
                    placer.obstacles.append(seat)
                    obstacle_objs.append(o)
                    depsgraph = scene_depsgraph(scene)
                    obstacle_bvh[seat.name] = bvh_of_objects([o], depsgraph)
                pos = polygon_centroid(seat.polygon)
                yaw = placer.seat_yaw(seat, rng)
                fp = footprint_estimate("sitting", pos, yaw)
                if placer.collides(fp, ignore=(seat.name,), skip_tables=True):
                    continue  # this seat is blocked; the next try takes another seat or a stool
                params = PersonParams(
                    posture="sitting",
                    position=pos,
                    yaw_deg=human_yaw(yaw),
                    seat_height=seat.seat_height or seat.height,
                    instance_id=k,
                    seed=person_seed,
                )
            else:
                pos, yaw, fp = placer.propose_standing(rng, attempts)
                params = PersonParams(
                    posture="standing", position=pos, yaw_deg=human_yaw(yaw), instance_id=k, seed=person_seed
                )
            builds += 1
            t_body = time.perf_counter()
            handle = make_person(
                params,
                config.phenotype,
                collection=coll,
                frame=FRAME,
                motion_frames=1 if config.render.motion_blur else 0,
            )
            built.timings["make_person_s"] = built.timings.get("make_person_s", 0.0) + time.perf_counter() - t_body
            built.timings["bodies_built"] = built.timings.get("bodies_built", 0) + 1
            for ob in handle.objects:
                ob.pass_index = k
            scene.frame_set(FRAME)
            # narrow phase only against what this body could reach (the rest cannot touch it)
            reach = SITTING_REACH_M if posture == "sitting" else STANDING_REACH_M
            near_obstacles = [
                n
                for n, ob_bvh in obstacle_bvh.items()
                if ob_bvh is not None
                and (seat is None or n != seat.name)
                and _poly_distance(pos, by_name[n].polygon) < reach
            ]
            near_persons = [i for i, m in enumerate(built.person_meta) if math.dist(pos, m.position) < reach + m.reach]
            bvh = None
            hit = False
            if near_obstacles or near_persons:
                bvh = bvh_of_objects(handle.objects, scene_depsgraph(scene))
            if bvh is not None:
                for name in near_obstacles:
                    if bvh.overlap(obstacle_bvh[name]):
                        hit = True
                        if DEBUG:
                            print("narrow-phase hit", k, posture, name)
                        break
                if not hit:
                    for i in near_persons:
                        if person_bvh[i] is None:
                            person_bvh[i] = bvh_of_objects(built.persons[i].objects, scene_depsgraph(scene))
                        if person_bvh[i] is not None and bvh.overlap(person_bvh[i]):
                            hit = True
                            if DEBUG:
                                print("narrow-phase hit", k, posture, "person", i + 1)
                            break
            if hit:
                handle.remove()
                continue
            placed = True
            if seat is not None and seat in seat_order:
                seat_order.remove(seat)
            fp_real = handle.footprint if handle.footprint is not None and len(handle.footprint) >= 3 else fp
            placer.placed.append(as_poly(fp_real))
            person_bvh.append(bvh)
            built.persons.append(handle)
            built.person_meta.append(
                PlacedPerson(
                    posture=posture,
                    position=(float(pos[0]), float(pos[1])),
                    yaw_deg=params.yaw_deg,
                    facing_deg=float(yaw),
                    seat=seat.name if seat else None,
                    seat_height=params.seat_height,
                    placement_tries=tries,
                    mesh_checks=builds,
                    reach=reach,
                )
            )
    built.person_bvh = person_bvh


def drop_hidden(built, min_fraction: float) -> None:
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


def room_config(config, choice):
    """The config of one image's room: a photo's layout (obstacles, floor) replaces the config's."""
    if choice is None or choice.layout is None:
        return config
    upd: dict[str, Any] = {"obstacles": choice.layout.obstacles}
    if choice.layout.floor is not None:
        upd["floor"] = choice.layout.floor
    return config.model_copy(update=upd)


def build(
    config, seed: int, *, index: int = 0, resolution: int | None = None, samples: int | None = None
) -> BuiltScene:
    """Build image ``index`` (which background photo it uses) of a run, drawn from ``seed``."""
    t0 = time.perf_counter()
    choice = choose_photo(config.background, index)
    room = room_config(config, choice)
    camera = scaled_camera(config.camera, resolution)
    n_samples = int(samples or config.render.samples)
    scene = new_scene()
    built = BuiltScene(scene=scene, config=config, camera=camera, seed=int(seed), samples=n_samples)
    if choice is not None:
        built.background = {
            "photo": choice.path,
            "params": {"photo_index": choice.index, "photo_count": choice.count, "layout": choice.layout_path},
        }
        built.photo_linear = load_photo(choice.path, camera.width, camera.height)
    setup_render(scene, built, room, n_samples)
    add_camera(scene, camera)
    lights = add_lights(scene, room, seed, built.photo_linear, camera)
    built.lighting = lights.record
    built.camera_response = lights.camera_response
    if lights.exposure_ev is not None:
        built.exposure = lights.exposure_ev
        scene.view_settings.exposure = built.exposure
    obstacles = config_obstacles(room)
    obstacle_objs = add_room(scene, room, built, obstacles, seed)
    place_people(scene, room, built, obstacles, obstacle_objs)
    built.obstacles = obstacles
    if room.people.min_visible_fraction > 0:
        drop_hidden(built, room.people.min_visible_fraction)
    scene.frame_set(FRAME)
    built.timings["assembly_s"] = time.perf_counter() - t0
    return built
