"""Realize a :class:`..core.furniture.Furniture` (imports bpy): one mesh object for the obstacle (the body check sees
it), one for its clutter (visual only), and small Cycles materials per :class:`..core.furniture.Finish`.

Materials: a Principled BSDF with the finish's colour and roughness; wood adds grain (a wave texture along the top),
fabric a fine noise on the colour, so a few nodes per material at most.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..core.furniture import Finish, Furniture, Geometry, clutter_geometry, prisms_geometry
from .materials_room import plain_material


def finish_material(name: str, finish: Finish):
    """A small node tree for ``finish``."""
    mat = plain_material(name, finish.color, finish.roughness)
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = nodes.get("Principled BSDF")
    if bsdf is None or finish.kind not in ("wood", "fabric"):
        return mat
    ramp = nodes.new("ShaderNodeValToRGB")
    dark = [0.7 * c for c in finish.color] if finish.kind == "wood" else [0.85 * c for c in finish.color]
    light = [min(1.0, 1.1 * c) for c in finish.color]
    ramp.color_ramp.elements[0].color = (*dark, 1.0)
    ramp.color_ramp.elements[1].color = (*light, 1.0)
    if finish.kind == "wood":
        tex = nodes.new("ShaderNodeTexWave")
        tex.inputs["Scale"].default_value = 15.0
        tex.inputs["Distortion"].default_value = 6.0
        tex.inputs["Detail"].default_value = 2.0
    else:
        tex = nodes.new("ShaderNodeTexNoise")
        tex.inputs["Scale"].default_value = 300.0
        tex.inputs["Detail"].default_value = 1.0
    links.new(tex.outputs["Fac"], ramp.inputs["Fac"])
    links.new(ramp.outputs["Color"], bsdf.inputs["Base Color"])
    return mat


def geometry_mesh(name: str, geo: Geometry):
    """A mesh of prisms with one material slot index per face."""
    me = bpy.data.meshes.new(name)
    me.from_pydata([tuple(map(float, v)) for v in geo.vertices], [], geo.faces)
    me.update()
    if geo.face_finish:
        me.polygons.foreach_set("material_index", np.asarray(geo.face_finish, dtype=np.int32))
    return me


def _object(scene, name: str, geo: Geometry, finishes: tuple[Finish, ...]):
    me = geometry_mesh(name, geo)
    for k, f in enumerate(finishes):
        me.materials.append(finish_material(f"{name}_{k}_{f.kind}", f))
    o = bpy.data.objects.new(name, me)
    scene.collection.objects.link(o)
    return o


def add_furniture(scene, furniture: Furniture):
    """The obstacle object of ``furniture`` (named like :func:`.room.add_obstacle`'s) and, when it carries clutter,
    a separate ``R2_Clutter_<name>`` object; returns the obstacle object."""
    obj = _object(scene, f"R2_Obstacle_{furniture.name}", prisms_geometry(furniture.parts), furniture.finishes)
    if furniture.clutter:
        geo, finishes = clutter_geometry(furniture)
        _object(scene, f"R2_Clutter_{furniture.name}", geo, finishes)
    return obj


def add_wall_fixture(scene, fixture: Furniture):
    """A wall fixture (:mod:`..core.wall_fixtures`) as one ``R2_Fixture_<name>`` object, visual only."""
    return _object(scene, f"R2_Fixture_{fixture.name}", prisms_geometry(fixture.parts), fixture.finishes)
