"""One image's scene as a typed, pure description (no bpy), drawn from config + seed.

:func:`describe_stage` samples the camera, render settings, lights and room; :func:`.placement.place_people`
adds the people (asking the Blender side whether each body fits); ``scene/`` realizes the description in
Blender. Every random quantity comes from ``rng_for(seed, <key path>)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from shared_schema.distributions import rng_for

from .backgrounds import PhotoChoice
from .furniture import Furniture, describe_furniture
from .placement import FloorObstacle, PeopleDescription, config_obstacles
from .room_layout import draw_room
from .room_materials import FloorMaterial, WallMaterial, describe_floor, describe_walls
from .scene_lights import RGB, LightsDescription, describe_lights
from .wall_fixtures import describe_wall_fixtures

#: The scene frame that is rendered (the pose is keyed here; motion blur reaches to the next frames).
FRAME = 10
#: Stops applied to the rendered light when nothing else sets them (photo mode matches the photo instead).
DEFAULT_EXPOSURE_EV = -2.0
#: The floor colours of photo mode's shadow catcher when the config gives none (its bounce light on people).
PHOTO_FLOOR_COLORS = ((0.55, 0.5, 0.45), (0.35, 0.35, 0.38), (0.7, 0.68, 0.62), (0.25, 0.2, 0.17))
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


def obstacle_color(seed: int, name: str) -> RGB:
    """The colour of a rendered obstacle, from ``rng_for(seed, "obstacle", name)``: a furniture colour, jittered."""
    rng = rng_for(seed, "obstacle", name)
    base = np.asarray(FURNITURE_COLORS[int(rng.integers(len(FURNITURE_COLORS)))])
    c = np.clip(base * rng.uniform(0.85, 1.15) + rng.uniform(-0.02, 0.02, 3), 0.01, 0.95)
    return (float(c[0]), float(c[1]), float(c[2]))


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


def draws_room(config, choice: PhotoChoice | None) -> bool:
    """Whether each image draws its own room: procedural rooms with ``config.layout``."""
    return choice is None and config.layout is not None and config.background.mode != "photo"


def room_config(config, choice: PhotoChoice | None, seed: int = 0):
    """The config of one image's room: a photo's layout (obstacles, floor) replaces the config's; where
    :func:`draws_room`, a room drawn from ``rng_for(seed, "layout")`` does."""
    if draws_room(config, choice):
        drawn = draw_room(config.layout, rng_for(seed, "layout"))
        return config.model_copy(update={"floor": drawn.floor, "obstacles": drawn.obstacles})
    if choice is None or choice.layout is None:
        return config
    upd: dict[str, Any] = {"obstacles": choice.layout.obstacles}
    if choice.layout.floor is not None:
        upd["floor"] = choice.layout.floor
    return config.model_copy(update=upd)


@dataclass(frozen=True)
class RenderSpec:
    """Cycles settings of one image."""

    samples: int
    cycles_seed: int
    max_bounces: int
    device: str  # requested: auto | cpu | gpu
    denoise: bool  # requested (used only where OIDN is available)
    motion_blur: bool
    motion_blur_shutter: float
    photo: bool  # transparent film and a shadow-catcher pass, composited over the photo
    exposure_ev: float
    frame: int = FRAME


@dataclass(frozen=True)
class RoomDescription:
    """Floor, walls and furniture of one image."""

    seed: int
    photo: bool  # photo mode: a large shadow-catcher floor, the config's furniture as holdouts
    floor: list[tuple[float, float]]
    floor_color: RGB
    floor_roughness: float
    wall_color: RGB | None  # procedural rooms only
    obstacles: list[FloorObstacle]
    floor_material: FloorMaterial | None = None  # procedural rooms only
    wall_material: WallMaterial | None = None  # procedural rooms only
    furniture: tuple[Furniture, ...] = ()  # procedural rooms: the pieces of ``obstacles`` (same order)
    wall_fixtures: tuple[Furniture, ...] = ()  # procedural rooms: doors, boards, windows... (visual only)

    def furniture_of(self, ob: FloorObstacle) -> Furniture | None:
        """The described furniture of a room obstacle; None for generated stools and in photo mode."""
        return next((f for f in self.furniture if f.name == ob.name), None)

    def color_of(self, ob: FloorObstacle) -> RGB | None:
        """The obstacle's colour; None for a holdout (photo furniture the photo already shows)."""
        if self.photo and not ob.generated:
            return None
        return obstacle_color(self.seed, ob.name)


@dataclass(frozen=True)
class StageDescription:
    """Everything of one image but the people."""

    seed: int
    config: Any  # the room's SceneConfig (a photo's layout applied)
    camera: Any  # shared_schema.CameraModel at the rendered resolution
    render: RenderSpec
    lights: LightsDescription
    room: RoomDescription
    photo: PhotoChoice | None


@dataclass(frozen=True)
class SceneDescription:
    """One image's whole scene: the stage and the people placed on it."""

    stage: StageDescription
    people: PeopleDescription

    def background_record(self) -> dict[str, Any]:
        """The annotation's ``background`` record."""
        room, choice = self.stage.room, self.stage.photo
        params: dict[str, Any] = {}
        if choice is not None:
            params.update(photo_index=choice.index, photo_count=choice.count, layout=choice.layout_path)
        params["floor_color"] = [round(c, 4) for c in room.floor_color]
        params["floor_roughness"] = round(room.floor_roughness, 4)
        if room.wall_color is None:
            params["shadow_catcher"] = True
        else:
            params["wall_color"] = [round(c, 4) for c in room.wall_color]
        if room.floor_material is not None:
            params["floor_material"] = room.floor_material.record()
        if room.wall_material is not None:
            params["wall_material"] = room.wall_material.record()
        colors = {ob.name: room.color_of(ob) for ob in self.people.obstacles}
        params["obstacle_colors"] = {n: [round(c, 4) for c in col] for n, col in colors.items() if col is not None}
        if room.furniture:
            params["furniture"] = {f.name: f.record() for f in room.furniture}
        if room.wall_fixtures:
            params["wall_fixtures"] = [f.record() for f in room.wall_fixtures]
        if draws_room(self.stage.config, choice):  # its floor and furniture
            obstacles = [o.model_dump(mode="json") for o in self.stage.config.obstacles]
            params["room"] = {"floor": [list(p) for p in room.floor], "obstacles": obstacles}
        mode = self.stage.config.background.mode
        return {"mode": mode, "photo": choice.path if choice is not None else None, "params": params}

    def sampled_record(self) -> dict[str, Any]:
        """The annotation's ``sampled`` record before visibility culling."""
        return {"standing": self.people.standing, "sitting": self.people.sitting, "humans": "mpfb2"}


def describe_room(config, seed: int) -> RoomDescription:
    """The room of one image: in procedural rooms a floor material from ``rng_for(seed, "background", "floor")``,
    walls from ``rng_for(seed, "background", "walls")``, what hangs on them from ``rng_for(seed, "background",
    "wall_fixtures")`` and furniture from ``rng_for(seed, "furniture", name)``;
    in photo mode the shadow catcher's colour from ``rng_for(seed, "background")``; the config's obstacles."""
    floor = [(float(x), float(y)) for x, y in config.floor]
    obstacles = config_obstacles(config)
    if config.background.mode != "photo":
        fm = describe_floor(config.background, rng_for(seed, "background", "floor"))
        wm = describe_walls(rng_for(seed, "background", "walls"))
        furniture = tuple(describe_furniture(seed, ob, obstacles) for ob in obstacles)
        bg = config.background
        rng_fix = rng_for(seed, "background", "wall_fixtures")
        fixtures = describe_wall_fixtures(floor, bg.wall_fixtures, bg.wall_fixtures_per_m, rng_fix)
        return RoomDescription(
            seed, False, floor, fm.base_color, fm.roughness, wm.color, obstacles, fm, wm, furniture, fixtures
        )
    rng = rng_for(seed, "background")
    colors = config.background.floor_colors or PHOTO_FLOOR_COLORS
    fcol = tuple(float(c) for c in colors[int(rng.integers(len(colors)))])
    jitter = rng.uniform(-0.05, 0.05, 3)
    r, g, b = (float(np.clip(c + j, 0.02, 0.95)) for c, j in zip(fcol, jitter, strict=True))
    rough = float(rng.uniform(0.3, 0.9))
    return RoomDescription(seed, True, floor, (r, g, b), rough, None, obstacles)


def describe_stage(
    config, seed: int, camera, samples: int, choice: PhotoChoice | None, photo_linear: np.ndarray | None
) -> StageDescription:
    """Camera, render settings, lights and room of one image (``config`` is the room's, see :func:`room_config`)."""
    lights = describe_lights(config, seed, photo_linear, camera)
    r = config.render
    render = RenderSpec(
        samples=samples,
        cycles_seed=int(seed % (2**31)),
        max_bounces=r.max_bounces,
        device=r.device,
        denoise=r.denoise,
        motion_blur=bool(r.motion_blur),
        motion_blur_shutter=r.motion_blur_shutter,
        photo=config.background.mode == "photo",
        exposure_ev=lights.exposure_ev if lights.exposure_ev is not None else DEFAULT_EXPOSURE_EV,
    )
    return StageDescription(seed, config, camera, render, lights, describe_room(config, seed), choice)
