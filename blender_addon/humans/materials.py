"""Procedural materials (bpy): skin, fabrics, hair."""

from __future__ import annotations

import colorsys

import bpy


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


def skin_color(melanin: float, hue: float) -> tuple[float, float, float]:
    """Linear RGB skin albedo from melanin (0.2 very light .. 1 very dark) and hue (~0.5 neutral)."""
    light = (0.80, 0.56, 0.44)
    dark = (0.085, 0.045, 0.028)
    t = min(1.0, max(0.0, (melanin - 0.2) / 0.8)) ** 0.8
    rgb = [a + (b - a) * t for a, b in zip(light, dark, strict=True)]
    h, s, v = colorsys.rgb_to_hsv(*rgb)
    h = (h + (hue - 0.5) * 0.6) % 1.0  # +-0.006 of a turn: slightly redder / yellower
    return colorsys.hsv_to_rgb(h, s, v)


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


def fabric_material(name: str, fab: dict):
    mat, nt, bsdf = _principled(name)
    col = (*fab["color"], 1.0)
    _set(bsdf, ["Roughness"], fab["roughness"])
    _set(bsdf, ["Sheen Weight", "Sheen"], 0.3)
    pattern = fab.get("pattern", "plain")
    if pattern == "plain":
        _set(bsdf, ["Base Color"], col)
        return mat
    coord = nt.nodes.new("ShaderNodeTexCoord")
    if pattern == "stripes":
        tex = nt.nodes.new("ShaderNodeTexWave")
        tex.inputs["Scale"].default_value = fab["pattern_scale"] * 0.25
        tex.bands_direction = "Z"
        fac = tex.outputs["Fac"]
    elif pattern == "checker":
        tex = nt.nodes.new("ShaderNodeTexChecker")
        tex.inputs["Scale"].default_value = fab["pattern_scale"]
        fac = tex.outputs["Fac"]
    else:
        tex = nt.nodes.new("ShaderNodeTexNoise")
        tex.inputs["Scale"].default_value = fab["pattern_scale"] * 2
        fac = tex.outputs["Fac"]
    nt.links.new(coord.outputs["Object"], tex.inputs["Vector"])
    ramp = nt.nodes.new("ShaderNodeValToRGB")
    k = 1.0 - fab["pattern_contrast"]
    ramp.color_ramp.elements[0].color = (col[0] * k, col[1] * k, col[2] * k, 1.0)
    ramp.color_ramp.elements[1].color = col
    nt.links.new(fac, ramp.inputs["Fac"])
    nt.links.new(ramp.outputs["Color"], bsdf.inputs["Base Color"])
    return mat


def hair_material(name: str, hair: dict):
    mat, nt, bsdf = _principled(name)
    _set(bsdf, ["Base Color"], (*hair["color"], 1.0))
    _set(bsdf, ["Roughness"], hair["roughness"])
    _set(bsdf, ["Sheen Weight", "Sheen"], 0.5)
    tex = nt.nodes.new("ShaderNodeTexNoise")
    tex.inputs["Scale"].default_value = 300.0
    tex.inputs["Detail"].default_value = 2.0
    bump = nt.nodes.new("ShaderNodeBump")
    bump.inputs["Strength"].default_value = 0.5
    bump.inputs["Distance"].default_value = 0.002
    nt.links.new(tex.outputs["Fac"], bump.inputs["Height"])
    nt.links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
    return mat
