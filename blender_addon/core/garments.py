"""Garments as geometry (pure numpy): offset shells of body regions and flared skirts, skinned with body weights.

A shell garment is the body's own polygons of a region, pushed out along the vertex normals by the garment's
thickness (lightly smoothed so it bridges skin folds, never closer to the skin than the thickness), with a hem
flange folding its open edges back to the skin. Its vertices carry the weights of the body vertices they came
from, so linear blend skinning (Blender's Armature modifier) moves the garment with the pose. Skirts, dresses and
long coats below the waist are lofted rings around both legs (an A-line envelope plus flare at the hem) whose
weights blend from the nearest body vertex toward the pelvis, so the hem no longer follows each leg.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .retarget import Skeleton, skin

TORSO_BONES = ("Hips", "LowerBack", "Spine", "Spine1", "LeftShoulder", "RightShoulder")
ARM_BONES = ("LeftArm", "LeftForeArm", "RightArm", "RightForeArm")
LEG_BONES = ("LHipJoint", "RHipJoint", "LeftUpLeg", "RightUpLeg", "LeftLeg", "RightLeg")
FOOT_BONES = ("LeftFoot", "RightFoot", "LeftToeBase", "RightToeBase")
HEM_FLANGE = 0.15  # the flange's inner edge sits at this fraction of the thickness above the skin
LOFT_RINGS, LOFT_SECTORS = 10, 40
WEIGHT_STEPS = 64  # garment weights are multiples of 1/64: few distinct values, so few VertexGroup.add calls
SHOE_SMOOTHING = 12  # shoes bridge the toes: many more smoothing passes than cloth
PELVIS_SHARE = {"standing": 0.6, "sitting": 0.05}  # how much a skirt's hem follows the pelvis, not the legs


@dataclass
class GarmentMesh:
    """One garment: rest vertices, quads, dense skin weights and the body faces it covers."""

    name: str  # slot: "top", "legwear", "outer", "shoes"
    verts: np.ndarray  # (n, 3)
    faces: np.ndarray  # (m, 4) vertex indices
    weights: np.ndarray  # (n, B) float32 multiples of 1/WEIGHT_STEPS; a vertex's weights are normalised at use
    covered_faces: np.ndarray  # (F_body,) bool: body faces hidden beneath this garment


@dataclass
class BodyFrame:
    """Per-vertex facts about a rest body that every garment needs."""

    coords: np.ndarray  # (n, 3) rest body vertices
    quads: np.ndarray  # (F, 4)
    normals: np.ndarray  # (n, 3) unit vertex normals
    weights: np.ndarray  # (n, B)
    parts: dict[str, np.ndarray]  # (n,) bool per body part: the vertices whose dominant bone is in that part
    arm_t: np.ndarray  # (n,) position along shoulder -> wrist of the vertex's side (0..1)
    leg_t: np.ndarray  # (n,) position along hip -> ankle of the vertex's side (0..1)
    waist_z: float
    hips_z: float
    knee_z: float
    ankle_z: float
    hips_index: int  # the Hips bone's column in ``weights``
    centre_xy: np.ndarray  # (2,) pelvis axis
    topology: QuadTopology  # edges of ``quads``, shared by every body of the same base mesh


def vertex_normals(coords: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals of a quad mesh (quad normal = cross product of the diagonals)."""
    v = coords[quads]
    fn = np.cross(v[:, 2] - v[:, 0], v[:, 3] - v[:, 1])
    n = _scatter_add(quads.ravel(), np.repeat(fn, 4, axis=0), len(coords))
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def _scatter_add(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """(n, 3) sums of ``values`` rows per ``index`` (``np.add.at``, via the much faster ``bincount``)."""
    return np.stack([np.bincount(index, values[:, k], minlength=n) for k in range(3)], axis=1)


def _chain_t(c: np.ndarray, sk: Skeleton, left: tuple[str, str], right: tuple[str, str]) -> np.ndarray:
    t = np.empty(len(c))
    for side, (a, b) in ((c[:, 0] >= 0, left), (c[:, 0] < 0, right)):
        p, q = sk.heads[sk.index(a)], sk.heads[sk.index(b)]
        d = q - p
        t[side] = (c[side] - p) @ d / float(d @ d)
    return t


PARTS = {
    "torso": (*TORSO_BONES, "LHipJoint", "RHipJoint"),
    "neck": ("Neck",),
    "arms": ARM_BONES,
    "legs": (*LEG_BONES, "Hips", "LowerBack"),
    "feet": FOOT_BONES,
}
_PARTS_CACHE: dict = {}  # "key": (weights, bone names), "parts": the masks of those weights
_TOPOLOGY_CACHE: list = []  # the QuadTopology of the last base mesh


def body_parts(weights: np.ndarray, names) -> dict[str, np.ndarray]:
    """The :data:`PARTS` masks of a weight table (by dominant bone), computed once per shared weight array."""
    key = _PARTS_CACHE.get("key")
    if key is not None and key[0] is weights and key[1] == tuple(names):
        return _PARTS_CACHE["parts"]
    bone = np.array(names)[np.argmax(weights, axis=1)]
    parts = {name: np.isin(bone, bones) for name, bones in PARTS.items()}
    _PARTS_CACHE.update(key=(weights, tuple(names)), parts=parts)
    return parts


def body_frame(coords: np.ndarray, quads: np.ndarray, weights: np.ndarray, sk: Skeleton) -> BodyFrame:
    c = coords[: weights.shape[0]]
    hips = sk.heads[sk.index("Hips")]
    legs = (sk.heads[sk.index("LeftUpLeg")] + sk.heads[sk.index("RightUpLeg")]) / 2
    return BodyFrame(
        coords=c,
        quads=quads,
        normals=vertex_normals(c, quads),
        weights=weights,
        parts=body_parts(weights, sk.names),
        arm_t=_chain_t(c, sk, ("LeftArm", "LeftHand"), ("RightArm", "RightHand")),
        leg_t=_chain_t(c, sk, ("LeftUpLeg", "LeftFoot"), ("RightUpLeg", "RightFoot")),
        waist_z=float(hips[2] + 0.10),
        hips_z=float(hips[2]),
        knee_z=float(sk.heads[sk.index("LeftLeg"), 2]),
        ankle_z=float(sk.heads[sk.index("LeftFoot"), 2]),
        hips_index=sk.index("Hips"),
        centre_xy=legs[:2].copy(),
        topology=quad_topology(quads),
    )


# --- regions ---------------------------------------------------------------------------------------------------


def torso_mask(f: BodyFrame, hem_z: float, sleeve_end: float) -> np.ndarray:
    z = f.coords[:, 2]
    neck = f.parts["neck"]
    m = f.parts["torso"] & (z >= hem_z)
    m |= neck & (z < z[neck].min() + 0.04)
    if sleeve_end > 0:
        m |= f.parts["arms"] & (f.arm_t <= sleeve_end)
    return m


def leg_mask(f: BodyFrame, leg_end: float) -> np.ndarray:
    z = f.coords[:, 2]
    m = f.parts["legs"] & (z <= f.waist_z) & (f.leg_t <= leg_end)
    return m & ~f.parts["feet"]


def shoe_mask(f: BodyFrame) -> np.ndarray:
    return f.parts["feet"] | (f.coords[:, 2] < f.ankle_z + 0.03)


# --- shells ----------------------------------------------------------------------------------------------------


@dataclass
class QuadTopology:
    """The edges of a quad mesh, for selecting the edges and rims of any subset of its quads without sorting.

    Directed edge ``k`` is corner ``k % 4`` of quad ``k // 4`` to the next corner; undirected edges are numbered in
    (low vertex, high vertex) order."""

    quads: np.ndarray  # (F, 4)
    directed: np.ndarray  # (4F, 2) directed edges, quad by quad
    edge_of: np.ndarray  # (4F,) undirected edge of each directed edge
    first: np.ndarray  # (E,) its first directed occurrence
    second: np.ndarray  # (E,) its second directed occurrence, 4F where there is none


def quad_topology(quads: np.ndarray) -> QuadTopology:
    """The :class:`QuadTopology` of ``quads`` (cached for the last mesh; meshes whose edges border more than two
    quads are not supported)."""
    if _TOPOLOGY_CACHE and np.array_equal(_TOPOLOGY_CACHE[0].quads, quads):
        return _TOPOLOGY_CACHE[0]
    e = np.stack([quads, np.roll(quads, -1, axis=1)], axis=-1).reshape(-1, 2).astype(np.int64)
    lo, hi = np.minimum(e[:, 0], e[:, 1]), np.maximum(e[:, 0], e[:, 1])
    _, first, edge_of, count = np.unique(
        lo * (int(e.max(initial=0)) + 1) + hi, return_index=True, return_inverse=True, return_counts=True
    )
    if count.max(initial=0) > 2:
        raise ValueError("an edge borders more than two quads")
    edge_of = edge_of.ravel()
    later = np.flatnonzero(np.arange(len(e)) != first[edge_of])
    second = np.full(len(first), len(e))
    second[edge_of[later]] = later
    topo = QuadTopology(quads.copy(), e, edge_of, first, second)
    _TOPOLOGY_CACHE[:] = [topo]
    return topo


def _subset_edges(topo: QuadTopology, covered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the quads ``covered``: their edges (each once, in undirected-edge order, directed as first met quad by
    quad) and their rim (the directed edges that no other covered quad shares, quad by quad)."""
    on = np.append(np.repeat(covered, 4), False)  # per directed edge; the extra False stands for "none"
    a, b = on[topo.first], on[topo.second]
    edges = topo.directed[np.where(a, topo.first, topo.second)[a | b]]
    once = np.flatnonzero(a ^ b)
    rim = np.zeros(len(on), bool)
    rim[np.where(a, topo.first, topo.second)[once]] = True
    return edges, topo.directed[rim[:-1]]


def _smooth_offset(
    base: np.ndarray, normals: np.ndarray, edges: np.ndarray, thickness: float, iterations: int = 3
) -> np.ndarray:
    """``base + thickness * normals`` Laplacian-smoothed along ``edges``, then pushed out to at least
    ``thickness``."""
    p = base + thickness * normals
    deg = np.maximum(np.bincount(edges.ravel(), minlength=len(p)), 1)[:, None]
    src, dst = np.concatenate([edges[:, 0], edges[:, 1]]), np.concatenate([edges[:, 1], edges[:, 0]])
    for _ in range(iterations):
        p = 0.5 * p + 0.5 * _scatter_add(src, p[dst], len(p)) / deg
    d = np.einsum("ij,ij->i", p - base, normals)
    return p + normals * np.maximum(0.0, thickness - d)[:, None]


def _unique_sorted(index: np.ndarray, n: int) -> np.ndarray:
    """``np.unique(index)`` for indices below ``n`` (a mask instead of a sort)."""
    seen = np.zeros(n, bool)
    seen[index.ravel()] = True
    return np.flatnonzero(seen)


def offset_shell(f: BodyFrame, vmask: np.ndarray, thickness: float, smoothing: int = 3):
    """(verts, quads, source body vertex per vertex, covered body faces) of the shell over ``vmask``."""
    covered = vmask[f.quads].all(axis=1)
    sel = f.quads[covered]
    used = _unique_sorted(sel, len(f.coords))
    remap = np.full(len(f.coords), -1)
    remap[used] = np.arange(len(used))
    q = remap[sel]
    edges, rim = _subset_edges(f.topology, covered)
    verts = _smooth_offset(f.coords[used], f.normals[used], remap[edges], thickness, smoothing)
    edge = remap[rim]
    ring = _unique_sorted(edge, len(used))
    ring_index = np.full(len(used), -1)
    ring_index[ring] = len(used) + np.arange(len(ring))
    inner = f.coords[used[ring]] + HEM_FLANGE * thickness * f.normals[used[ring]]
    flange = np.stack([edge[:, 1], edge[:, 0], ring_index[edge[:, 0]], ring_index[edge[:, 1]]], axis=1)
    src = np.concatenate([used, used[ring]])
    return np.concatenate([verts, inner]), np.concatenate([q, flange]), src, covered


# --- flared lower parts ----------------------------------------------------------------------------------------


def _envelope(f: BodyFrame, region: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """(rings, sectors) radius of the region's vertices around the pelvis axis per height, A-line monotone."""
    c = f.coords[region]
    rel = c[:, :2] - f.centre_xy
    ang = np.floor((np.arctan2(rel[:, 1], rel[:, 0]) + np.pi) / (2 * np.pi) * LOFT_SECTORS).astype(int)
    ang = np.clip(ang, 0, LOFT_SECTORS - 1)
    rad = np.linalg.norm(rel, axis=1)
    out = np.zeros((len(levels), LOFT_SECTORS))
    for i, z in enumerate(levels):
        s = np.abs(c[:, 2] - z) < 0.04
        r = np.zeros(LOFT_SECTORS)
        np.maximum.at(r, ang[s], rad[s])
        have = np.flatnonzero(r > 0)
        if len(have):  # empty sectors (between the legs) bridge their neighbours
            r = np.interp(np.arange(LOFT_SECTORS), have, r[have], period=LOFT_SECTORS)
        r = np.maximum(r, (np.roll(r, 1) + np.roll(r, -1) + r) / 3)
        out[i] = np.maximum(r, out[i - 1]) if i else r
    return out


def flared_part(f: BodyFrame, z_top: float, z_hem: float, flare: float, thickness: float, pelvis_share: float):
    """(verts, quads, weights, covered body faces) of a lofted skirt from ``z_top`` down to ``z_hem``; at the hem
    a vertex follows the pelvis by ``pelvis_share`` and its nearest body vertex by the rest."""
    region = f.parts["legs"] & (f.coords[:, 2] <= z_top + 0.04)
    levels = np.linspace(z_top, z_hem, LOFT_RINGS)
    s = (z_top - levels) / max(z_top - z_hem, 1e-6)
    radius = _envelope(f, region, levels) + thickness + flare * s[:, None] ** 1.3
    theta = (np.arange(LOFT_SECTORS) + 0.5) / LOFT_SECTORS * 2 * np.pi - np.pi
    x = f.centre_xy[0] + radius * np.cos(theta)
    y = f.centre_xy[1] + radius * np.sin(theta)
    z = np.repeat((levels - 0.3 * flare * s)[:, None], LOFT_SECTORS, axis=1)
    verts = np.stack([x, y, z], axis=-1).reshape(-1, 3)
    i, k = np.meshgrid(np.arange(LOFT_RINGS - 1), np.arange(LOFT_SECTORS), indexing="ij")
    a, b = i * LOFT_SECTORS + k, i * LOFT_SECTORS + (k + 1) % LOFT_SECTORS
    quads = np.stack([a, a + LOFT_SECTORS, b + LOFT_SECTORS, b], axis=-1).reshape(-1, 4)
    idx = np.flatnonzero(region)
    near = idx[nearest(verts, f.coords[idx], LOFT_SECTORS // 4)]
    pelvis = np.zeros(f.weights.shape[1], np.float32)
    pelvis[f.hips_index] = 1.0
    blend = (pelvis_share * np.repeat(s, LOFT_SECTORS))[:, None]
    weights = ((1 - blend) * f.weights[near] + blend * pelvis).astype(np.float32)
    zc = f.coords[:, 2]
    inside = region & (zc <= z_top) & (zc >= z_hem)
    covered = inside[f.quads].all(axis=1)
    return verts, quads, weights, covered


def _squared_distances(points: np.ndarray, coords: np.ndarray) -> np.ndarray:
    return ((points[:, None, :] - coords[None, :, :]) ** 2).sum(-1)


def _rows_near(coords: np.ndarray, order: np.ndarray, zs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the rows of ``coords`` inside the box ``lo``..``hi``; ``zs`` = sorted z, ``order``
    its argsort."""
    rows = order[np.searchsorted(zs, lo[2], "left") : np.searchsorted(zs, hi[2], "right")]
    c = coords[rows, :2]
    return np.sort(rows[((c >= lo[:2]) & (c <= hi[:2])).all(axis=1)])


def nearest(points: np.ndarray, coords: np.ndarray, group: int = 10) -> np.ndarray:
    """For each point the index of its nearest row of ``coords`` (the first on ties): exactly the brute-force
    ``argmin`` over all pairwise squared distances, computed only for the rows that can be nearest.

    Points go in runs of ``group``; a run's nearest distance is bounded by the rows in a box around the run, and
    rows farther than that bound along an axis are skipped."""
    order = np.argsort(coords[:, 2], kind="stable")
    zs = coords[order, 2]
    out = np.empty(len(points), np.intp)
    for start in range(0, len(points), group):
        p = points[start : start + group]
        lo, hi = p.min(axis=0), p.max(axis=0)
        rows, pad = np.zeros(0, np.intp), 0.05
        while not len(rows) and pad < 1e3:
            rows = _rows_near(coords, order, zs, lo - pad, hi + pad)
            pad *= 4
        if not len(rows):
            rows = np.arange(len(coords))
        bound = float(_squared_distances(p, coords[rows]).min(axis=1).max())
        r = np.sqrt(bound) * (1 + 1e-6) + 1e-9  # a row with |dx|, |dy| or |dz| > r is farther than the bound
        keep = _rows_near(coords, order, zs, lo - r, hi + r)
        out[start : start + group] = keep[np.argmin(_squared_distances(p, coords[keep]), axis=1)]
    return out


# --- whole garments --------------------------------------------------------------------------------------------


def quantized(weights: np.ndarray) -> np.ndarray:
    """Weights rounded to multiples of 1/WEIGHT_STEPS (rows keep at least their largest weight)."""
    q = np.round(weights * WEIGHT_STEPS)
    top = np.argmax(weights, axis=1)
    rows = np.arange(len(q))
    q[rows, top] = np.maximum(q[rows, top], 1.0)
    return (q / WEIGHT_STEPS).astype(np.float32)


def skin_garment(g: GarmentMesh, a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Posed vertices of ``g`` (linear blend skinning with normalised weights, as Blender's Armature modifier)."""
    w = g.weights / g.weights.sum(axis=1, keepdims=True)
    return skin(g.verts, w, a, t)


def _shell_garment(name: str, f: BodyFrame, vmask: np.ndarray, thickness: float, smoothing: int = 3) -> GarmentMesh:
    v, q, src, covered = offset_shell(f, vmask, thickness, smoothing)
    return GarmentMesh(name, v, q, quantized(f.weights[src]), covered)


def _join(name: str, parts: list[GarmentMesh]) -> GarmentMesh:
    offsets = np.cumsum([0] + [len(p.verts) for p in parts[:-1]])
    return GarmentMesh(
        name,
        np.concatenate([p.verts for p in parts]),
        np.concatenate([p.faces + o for p, o in zip(parts, offsets, strict=True)]),
        np.concatenate([p.weights for p in parts]),
        np.logical_or.reduce([p.covered_faces for p in parts]),
    )


def _with_skirt(
    name: str, f: BodyFrame, upper: GarmentMesh | None, g: dict, z_top: float, pelvis_share: float
) -> GarmentMesh:
    z_hem = max(f.knee_z + float(g["hem_from_knee"]), f.ankle_z + 0.08)
    v, q, w, cov = flared_part(f, z_top, z_hem, float(g["flare"]), float(g["thickness"]) + 0.004, pelvis_share)
    skirt = GarmentMesh(name, v, q, quantized(w), cov)
    return skirt if upper is None else _join(name, [upper, skirt])


def build_garments(f: BodyFrame, outfit: dict, posture: str = "standing") -> list[GarmentMesh]:
    """The meshes of ``outfit`` (:func:`.wardrobe.sample_outfit`), innermost first. Skirts of seated people
    follow the thighs (they lie on the lap); standing, their hems swing between the legs and the pelvis."""
    share = PELVIS_SHARE[posture]
    out = [_shell_garment("shoes", f, shoe_mask(f), outfit["shoes"]["thickness"], smoothing=SHOE_SMOOTHING)]
    legs = outfit.get("legwear")
    if legs is not None:
        if legs["type"] == "skirt":
            out.append(_with_skirt("legwear", f, None, legs, f.waist_z, share))
        else:
            out.append(_shell_garment("legwear", f, leg_mask(f, float(legs["leg_end"])), legs["thickness"]))
    top = outfit["top"]
    hem = f.waist_z - float(top["hem_drop"]) if top["type"] != "dress" else f.waist_z
    upper = _shell_garment("top", f, torso_mask(f, hem, float(top["sleeve_end"])), top["thickness"])
    out.append(_with_skirt("top", f, upper, top, f.waist_z + 0.02, share) if top["type"] == "dress" else upper)
    outer = outfit.get("outer")
    if outer is not None:
        hem = f.waist_z - float(outer["hem_drop"])
        upper = _shell_garment("outer", f, torso_mask(f, hem, float(outer["sleeve_end"])), outer["thickness"])
        out.append(_with_skirt("outer", f, upper, outer, f.waist_z, share) if outer["type"] == "coat" else upper)
    return out


def face_materials(regions: np.ndarray, quads: np.ndarray, worn: list[GarmentMesh]) -> np.ndarray:
    """Material slot per body face: 0 skin, 1 hair (region codes), 2 + i where garment i (outermost wins) covers
    the face, so skin poking through a garment shows that garment's fabric."""
    slots = np.sort(regions[quads], axis=1)[:, 2].astype(np.int32)
    for i, g in enumerate(worn):
        slots[g.covered_faces] = 2 + i
    return slots
