"""Procedural materials (bpy): skin, garment fabrics, hair, carried objects."""

from __future__ import annotations

import bpy

from ..core.appearance import skin_color


def _principled(name: str):
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nt = mat.node_tree
    bsdf = next(n for n in nt.nodes if n.type == "BSDF_PRINCIPLED")
    return mat, nt, bsdf


def _set(bsdf, names, value) -> None:
    for n in names:
        if n in bsdf.inputs:
            bsdf.inputs[n].default_value = value
            return


def skin_material(name: str, skin: dict):
    mat, nt, bsdf = _principled(name)
    col = skin_color(skin["melanin"], skin["hue"])
    _set(bsdf, ["Base Color"], (*col, 1.0))
    _set(bsdf, ["Roughness"], 0.65 - 0.35 * skin["oil"])
    _set(bsdf, ["Subsurface Weight", "Subsurface"], 0.15)
    _set(bsdf, ["Subsurface Radius"], (0.9 * 0.01, 0.4 * 0.01, 0.2 * 0.01))
    _set(bsdf, ["Coat Weight", "Clearcoat"], 0.15 * skin["oil"])
    if skin["bump"] > 0.02:
        tex = nt.nodes.new("ShaderNodeTexNoise")
        tex.inputs["Scale"].default_value = 400.0
        bump = nt.nodes.new("ShaderNodeBump")
        bump.inputs["Strength"].default_value = 0.25 * skin["bump"]
        bump.inputs["Distance"].default_value = 0.001
        nt.links.new(tex.outputs["Fac"], bump.inputs["Height"])
        nt.links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
    return mat


REST_ATTRIBUTE = "rest_position"  # garment meshes store their rest vertices here: textures stick to the cloth
# (texture, scale per metre, bump strength) of each fabric's surface structure
FABRIC_BUMP = {
    "knit": ("wave", 260.0, 0.35),
    "weave": ("checker", 500.0, 0.15),
    "denim": ("twill", 420.0, 0.3),
    "wool": ("noise", 400.0, 0.35),
    "leather": ("noise", 120.0, 0.25),
}


def _rest_coords(nt):
    node = nt.nodes.new("ShaderNodeAttribute")
    node.attribute_name = REST_ATTRIBUTE
    return node.outputs["Vector"]


def _pattern_colour(nt, fab: dict, coord):
    """The base colour socket: plain, stripes, checker or a print mixing the two garment colours."""
    pattern = fab.get("pattern", "plain")
    col = (*fab["color"], 1.0)
    if pattern == "plain":
        return col
    scale = float(fab.get("pattern_scale", 12.0))
    if pattern == "stripes":
        tex = nt.nodes.new("ShaderNodeTexWave")
        tex.bands_direction = "Z" if float(fab.get("pattern_angle_deg", 0.0)) < 45 else "X"
        tex.inputs["Scale"].default_value = scale * 0.3
        fac = tex.outputs["Fac"]
    elif pattern == "checker":
        tex = nt.nodes.new("ShaderNodeTexChecker")
        tex.inputs["Scale"].default_value = scale
        fac = tex.outputs["Fac"]
    else:  # print: blobs of the second colour
        tex = nt.nodes.new("ShaderNodeTexVoronoi")
        tex.inputs["Scale"].default_value = scale * 1.5
        fac = tex.outputs["Distance"]
    nt.links.new(coord, tex.inputs["Vector"])
    ramp = nt.nodes.new("ShaderNodeValToRGB")
    ramp.color_ramp.interpolation = "CONSTANT"
    ramp.color_ramp.elements[0].color = (*fab.get("pattern_color", fab["color"]), 1.0)
    ramp.color_ramp.elements[1].position = 0.5 if pattern != "print" else 0.25
    ramp.color_ramp.elements[1].color = col
    nt.links.new(fac, ramp.inputs["Fac"])
    return ramp.outputs["Color"]


def _fabric_bump(nt, fab: dict, coord, bsdf) -> None:
    kind, scale, strength = FABRIC_BUMP.get(fab.get("fabric", "weave"), FABRIC_BUMP["weave"])
    if kind in ("wave", "twill"):
        tex = nt.nodes.new("ShaderNodeTexWave")
        tex.bands_direction = "Z" if kind == "wave" else "DIAGONAL"
    elif kind == "checker":
        tex = nt.nodes.new("ShaderNodeTexChecker")
    else:
        tex = nt.nodes.new("ShaderNodeTexNoise")
        tex.inputs["Detail"].default_value = 6.0
    tex.inputs["Scale"].default_value = scale
    nt.links.new(coord, tex.inputs["Vector"])
    bump = nt.nodes.new("ShaderNodeBump")
    bump.inputs["Strength"].default_value = strength
    bump.inputs["Distance"].default_value = 0.0005
    nt.links.new(tex.outputs["Fac"], bump.inputs["Height"])
    nt.links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])


def _tint_sheen(nt, bsdf, colour) -> None:
    """Sheen (the fibre fuzz) takes the fibre's own colour: a white sheen greys every dyed fabric and hair."""
    sock = bsdf.inputs.get("Sheen Tint")
    if sock is None:
        return
    if getattr(sock, "type", "") != "RGBA":  # Blender 3.x: a 0..1 blend towards the base colour
        sock.default_value = 1.0
    elif isinstance(colour, tuple):
        sock.default_value = colour
    else:
        nt.links.new(colour, sock)


def fabric_material(name: str, fab: dict):
    """A garment fabric: colour or pattern, plus the weave/knit/denim/wool/leather surface as bump."""
    mat, nt, bsdf = _principled(name)
    coord = _rest_coords(nt)
    leather = fab.get("fabric") == "leather"
    _set(bsdf, ["Roughness"], fab["roughness"])
    _set(bsdf, ["Sheen Weight", "Sheen"], 0.0 if leather else 0.4)
    colour = _pattern_colour(nt, fab, coord)
    if isinstance(colour, tuple):
        _set(bsdf, ["Base Color"], colour)
    else:
        nt.links.new(colour, bsdf.inputs["Base Color"])
    _tint_sheen(nt, bsdf, colour)
    _fabric_bump(nt, fab, coord, bsdf)
    return mat


def plain_material(name: str, color, roughness: float = 0.5):
    """A single-colour material (carried objects)."""
    mat, _nt, bsdf = _principled(name)
    _set(bsdf, ["Base Color"], (*color, 1.0))
    _set(bsdf, ["Roughness"], roughness)
    return mat


def hair_material(name: str, hair: dict):
    mat, nt, bsdf = _principled(name)
    _set(bsdf, ["Base Color"], (*hair["color"], 1.0))
    _set(bsdf, ["Roughness"], hair["roughness"])
    _set(bsdf, ["Sheen Weight", "Sheen"], 0.5)
    _tint_sheen(nt, bsdf, (*hair["color"], 1.0))
    tex = nt.nodes.new("ShaderNodeTexNoise")
    tex.inputs["Scale"].default_value = 300.0
    tex.inputs["Detail"].default_value = 2.0
    bump = nt.nodes.new("ShaderNodeBump")
    bump.inputs["Strength"].default_value = 0.5
    bump.inputs["Distance"].default_value = 0.002
    nt.links.new(tex.outputs["Fac"], bump.inputs["Height"])
    nt.links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
    return mat
