"""Realize a :class:`..core.scene_description.RoomDescription`: floor, walls, wall fixtures and furniture (imports
bpy)."""

from __future__ import annotations

import math

import bmesh
import bpy
import numpy as np

from ..core.furniture import Furniture
from ..core.placement import FloorObstacle, as_poly, polygon_area, polygon_centroid
from ..core.scene_description import RoomDescription
from ..core.scene_lights import RGB
from ..core.wall_fixtures import WALL_HEIGHT_M
from .furniture import add_furniture, add_wall_fixture
from .materials_room import floor_material, plain_material, wall_material

#: The floor of photo mode: a shadow catcher far larger than any room.
PHOTO_FLOOR = [(-50, -50), (50, -50), (50, 50), (-50, 50)]
WALL_THICKNESS_M = 0.1
_SQUARE = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])


def _prism(bm, polygon, z0: float, z1: float) -> None:
    """A vertical prism over ``polygon`` from ``z0`` to ``z1`` (outward faces)."""
    poly = as_poly(polygon)
    if polygon_area(poly) < 0:
        poly = poly[::-1]
    bottom = [bm.verts.new((float(x), float(y), z0)) for x, y in poly]
    top = [bm.verts.new((float(x), float(y), z1)) for x, y in poly]
    bm.faces.new(list(reversed(bottom)))
    bm.faces.new(top)
    n = len(poly)
    for i in range(n):
        j = (i + 1) % n
        bm.faces.new((bottom[i], bottom[j], top[j], top[i]))


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


def _mesh_from(bm, name: str):
    me = bpy.data.meshes.new(name)
    bm.to_mesh(me)
    bm.free()
    return me


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
    return _mesh_from(bm, f"obstacle_{ob.name}")


def add_obstacle(scene, ob: FloorObstacle, color: RGB | None, furniture: Furniture | None = None):
    """The furniture object of ``ob``: the described ``furniture`` (procedural rooms), else the simple mesh of
    :func:`obstacle_mesh`, coloured, or a holdout without shadow when ``color`` is None."""
    if furniture is not None and color is not None:
        return add_furniture(scene, furniture)
    me = obstacle_mesh(ob)
    o = bpy.data.objects.new(f"R2_Obstacle_{ob.name}", me)
    scene.collection.objects.link(o)
    if color is None:
        o.is_holdout = True
        o.visible_shadow = False
    else:
        me.materials.append(plain_material(f"R2_Mat_{ob.name}", color, 0.5))
    return o


def _add_walls(scene, room: RoomDescription) -> None:
    bm = bmesh.new()
    poly = as_poly(room.floor)
    sgn = -1.0 if polygon_area(poly) > 0 else 1.0
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        d = b - a
        nrm = np.array([-d[1], d[0]]) / (np.hypot(*d) or 1.0) * WALL_THICKNESS_M
        _prism(bm, [a, b, b + sgn * nrm, a + sgn * nrm], 0.0, WALL_HEIGHT_M)
    wme = _mesh_from(bm, "R2_Walls")
    walls = bpy.data.objects.new("R2_Walls", wme)
    if room.wall_material is not None:
        wme.materials.append(wall_material("R2_WallMat", room.wall_material))
    elif room.wall_color is not None:
        wme.materials.append(plain_material("R2_WallMat", room.wall_color, 0.8))
    scene.collection.objects.link(walls)


def add_room(scene, room: RoomDescription) -> list:
    """Floor (a shadow catcher in photo mode, else the room's floor and walls) and the furniture; returns the
    furniture objects in ``room.obstacles`` order."""
    bm = bmesh.new()
    _prism(bm, PHOTO_FLOOR if room.photo else room.floor, -0.01, 0.0)
    me = _mesh_from(bm, "R2_Floor")
    floor = bpy.data.objects.new("R2_Floor", me)
    scene.collection.objects.link(floor)
    if room.floor_material is not None:
        me.materials.append(floor_material("R2_FloorMat", room.floor_material))
    else:
        me.materials.append(plain_material("R2_FloorMat", room.floor_color, room.floor_roughness))
    if room.photo:
        floor.is_shadow_catcher = True
    if room.wall_color is not None:
        _add_walls(scene, room)
    for fixture in room.wall_fixtures:
        add_wall_fixture(scene, fixture)
    return [add_obstacle(scene, ob, room.color_of(ob), room.furniture_of(ob)) for ob in room.obstacles]
