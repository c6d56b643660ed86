"""Realize :class:`..core.room_materials.FloorMaterial` and ``WallMaterial`` as small Cycles node trees (imports
bpy).

Floor: object coordinates (metres) → rotation → brick texture for tiles/planks (per-tile colour variation, joints)
→ times a fine texture (noise for fibre/speckle, wave for wood grain) and a large-scale noise (mottling) → base
colour; the fine texture and the joints drive a bump. Walls: colour times a large-scale noise, a skirting board
below its height. About a dozen nodes per material, so render time barely changes.
"""

from __future__ import annotations

import math

import bpy

from ..core.room_materials import FloorMaterial, WallMaterial
from ..core.scene_lights import RGB
from . import compat

#: Distance of the bump: joints and fibre relief are millimetres deep.
BUMP_DISTANCE_M = 0.002


def plain_material(name: str, color: RGB, roughness: float = 0.6):
    """A material of one colour: the default Principled BSDF with ``color`` and ``roughness``."""
    mat = bpy.data.materials.new(name)
    mat.diffuse_color = (*color, 1.0)
    compat.ensure_nodes(mat)
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    if bsdf is not None:
        bsdf.inputs["Base Color"].default_value = (*color, 1.0)
        bsdf.inputs["Roughness"].default_value = roughness
    return mat


def _new_tree(name: str, color: RGB, roughness: float):
    """A material with an empty node tree but a Principled BSDF into the output; returns (material, nodes,
    links, bsdf)."""
    mat = bpy.data.materials.new(name)
    mat.diffuse_color = (*color, 1.0)
    compat.ensure_nodes(mat)
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    out = nodes.new("ShaderNodeOutputMaterial")
    bsdf = nodes.new("ShaderNodeBsdfPrincipled")
    bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    return mat, nodes, links, bsdf


def _math(nodes, links, op: str, a, b: float, c: float | None = None):
    """A Math node ``op`` of socket ``a`` and constants ``b`` (and ``c``)."""
    m = nodes.new("ShaderNodeMath")
    m.operation = op
    links.new(a, m.inputs[0])
    m.inputs[1].default_value = b
    if c is not None:
        m.inputs[2].default_value = c
    return m.outputs[0]


def _noise(nodes, links, vector, size_m: float, detail: float):
    n = nodes.new("ShaderNodeTexNoise")
    n.inputs["Scale"].default_value = 1.0 / max(size_m, 1e-4)
    n.inputs["Detail"].default_value = detail
    links.new(vector, n.inputs["Vector"])
    return n.outputs["Fac"]


def _grain(nodes, links, vector, fm: FloorMaterial):
    """The fine texture: wood grain along the planks (wave bands), else fibre/speckle noise."""
    if fm.kind != "wood_planks":
        return _noise(nodes, links, vector, fm.grain_m, 2.0)
    w = nodes.new("ShaderNodeTexWave")
    w.wave_type = "BANDS"
    w.bands_direction = "Y"  # bands vary across the plank: lines along its length (x)
    w.inputs["Scale"].default_value = 2 * math.pi / (20 * fm.grain_m)
    w.inputs["Distortion"].default_value = 6.0
    w.inputs["Detail"].default_value = 2.0
    links.new(vector, w.inputs["Vector"])
    return w.outputs["Fac"]


def _tiles(nodes, links, vector, fm: FloorMaterial):
    """Brick texture of the tiles/planks: (colour socket, joint mask socket)."""
    assert fm.tile_m is not None
    b = nodes.new("ShaderNodeTexBrick")
    b.offset = fm.stagger
    b.offset_frequency = 2
    lo = [min(c * (1 - fm.variation), 1.0) for c in fm.base_color]
    hi = [min(c * (1 + fm.variation), 1.0) for c in fm.base_color]
    b.inputs["Color1"].default_value = (*lo, 1.0)
    b.inputs["Color2"].default_value = (*hi, 1.0)
    b.inputs["Mortar"].default_value = (*fm.joint_color, 1.0)
    b.inputs["Scale"].default_value = 1.0
    b.inputs["Mortar Size"].default_value = fm.joint_m
    b.inputs["Mortar Smooth"].default_value = 0.3
    b.inputs["Brick Width"].default_value = fm.tile_m[0]
    b.inputs["Row Height"].default_value = fm.tile_m[1]
    links.new(vector, b.inputs["Vector"])
    return b.outputs["Color"], b.outputs["Fac"]


def floor_material(name: str, fm: FloorMaterial):
    """The Cycles material of a procedural floor."""
    mat, nodes, links, bsdf = _new_tree(name, fm.base_color, fm.roughness)
    coords = nodes.new("ShaderNodeTexCoord")
    mapping = nodes.new("ShaderNodeMapping")
    mapping.inputs["Rotation"].default_value = (0.0, 0.0, math.radians(fm.rotation_deg))
    links.new(coords.outputs["Object"], mapping.inputs["Vector"])
    co = mapping.outputs["Vector"]
    grain = _grain(nodes, links, co, fm)
    mottle = _noise(nodes, links, co, fm.mottle_m, 3.0)
    # brightness = 1 + 2 * grain_amp * (grain - 0.5) + 2 * mottle_amp * (mottle - 0.5)
    t = _math(nodes, links, "MULTIPLY_ADD", grain, 2 * fm.grain_amp, 1 - fm.grain_amp - fm.mottle_amp)
    bright = nodes.new("ShaderNodeMath")
    bright.operation = "MULTIPLY_ADD"
    links.new(mottle, bright.inputs[0])
    bright.inputs[1].default_value = 2 * fm.mottle_amp
    links.new(t, bright.inputs[2])
    scale = nodes.new("ShaderNodeVectorMath")
    scale.operation = "SCALE"
    links.new(bright.outputs[0], scale.inputs["Scale"])
    height = grain
    if fm.tile_m is not None:
        color, joints = _tiles(nodes, links, co, fm)
        links.new(color, scale.inputs[0])
        h = nodes.new("ShaderNodeMath")
        h.operation = "MULTIPLY_ADD"  # joints are recessed: height = grain - joints
        links.new(joints, h.inputs[0])
        h.inputs[1].default_value = -1.0
        links.new(grain, h.inputs[2])
        height = h.outputs[0]
    else:
        scale.inputs[0].default_value = fm.base_color
    links.new(scale.outputs["Vector"], bsdf.inputs["Base Color"])
    bump = nodes.new("ShaderNodeBump")
    bump.inputs["Strength"].default_value = fm.bump
    bump.inputs["Distance"].default_value = BUMP_DISTANCE_M
    links.new(height, bump.inputs["Height"])
    links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
    return mat


def wall_material(name: str, wm: WallMaterial):
    """The Cycles material of painted walls with a skirting board."""
    mat, nodes, links, bsdf = _new_tree(name, wm.color, wm.roughness)
    coords = nodes.new("ShaderNodeTexCoord")
    mottle = _noise(nodes, links, coords.outputs["Object"], wm.mottle_m, 3.0)
    bright = _math(nodes, links, "MULTIPLY_ADD", mottle, 2 * wm.mottle_amp, 1 - wm.mottle_amp)
    scale = nodes.new("ShaderNodeVectorMath")
    scale.operation = "SCALE"
    scale.inputs[0].default_value = wm.color
    links.new(bright, scale.inputs["Scale"])
    color = scale.outputs["Vector"]
    if wm.skirting_m > 0:
        xyz = nodes.new("ShaderNodeSeparateXYZ")
        links.new(coords.outputs["Object"], xyz.inputs[0])
        below = _math(nodes, links, "LESS_THAN", xyz.outputs["Z"], wm.skirting_m)
        mix = nodes.new("ShaderNodeMix")
        mix.data_type = "RGBA"
        links.new(below, mix.inputs[0])  # Factor (float)
        links.new(color, mix.inputs[6])  # A (colour)
        mix.inputs[7].default_value = (*wm.skirting_color, 1.0)  # B (colour)
        color = mix.outputs[2]  # Result (colour)
    links.new(color, bsdf.inputs["Base Color"])
    return mat
