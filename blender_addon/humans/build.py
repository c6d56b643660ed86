"""Blender data for a :class:`..core.person.BodyModel`: meshes, armature, vertex groups, keyframes, materials."""

from __future__ import annotations

import contextlib
import itertools

import bpy
import numpy as np
from mathutils import Matrix

from ..core import appearance as app_mod
from ..core import garments, mhdata
from ..core.person import BodyModel
from ..core.retarget import rigid_inverse
from . import materials

WEIGHT_STEPS = 1024  # vertex-group weights are quantised to 1/1024 (batched vg.add calls)


def _set_attribute(me, name: str, prop: str, values: np.ndarray, collection, rna_prop: str) -> None:
    """Write a built-in attribute in bulk through the attribute API (same data as ``collection.foreach_set``
    of ``rna_prop``, ~10-100x faster); falls back to the RNA collection where the attribute is missing."""
    attr = me.attributes.get(name)
    if attr is not None:
        attr.data.foreach_set(prop, values)
    else:
        collection.foreach_set(rna_prop, values)


def _quad_mesh(name: str, coords: np.ndarray, face_verts: np.ndarray, face_start: np.ndarray, face_count: np.ndarray):
    """A smooth-shaded mesh from flat polygon arrays (batched ``foreach_set``, no Python loops)."""
    me = bpy.data.meshes.new(name)
    me.vertices.add(len(coords))
    _set_attribute(me, "position", "vector", coords.astype(np.float32).ravel(), me.vertices, "co")
    me.loops.add(len(face_verts))
    _set_attribute(me, ".corner_vert", "value", face_verts.astype(np.int32), me.loops, "vertex_index")
    me.polygons.add(len(face_count))
    me.polygons.foreach_set("loop_start", face_start.astype(np.int32))
    if hasattr(me.polygons[0] if len(me.polygons) else None, "loop_total"):
        with contextlib.suppress(AttributeError, TypeError, RuntimeError):
            me.polygons.foreach_set("loop_total", face_count.astype(np.int32))
    me.update(calc_edges=True)
    me.validate(clean_customdata=False)
    _smooth(me)
    return me


def _body_mesh(name: str, coords: np.ndarray):
    bm = mhdata.base_mesh()
    return _quad_mesh(name, coords[: bm.n_body], bm.face_verts, bm.face_start, bm.face_count)


def _garment_mesh(name: str, verts: np.ndarray, quads: np.ndarray):
    """A garment's quads, with its rest vertices also stored as the attribute its fabric textures read."""
    n = len(quads)
    me = _quad_mesh(name, verts, quads.ravel(), np.arange(n, dtype=np.int32) * 4, np.full(n, 4, np.int32))
    attr = me.attributes.new(materials.REST_ATTRIBUTE, "FLOAT_VECTOR", "POINT")
    attr.data.foreach_set("vector", verts.astype(np.float32).ravel())
    return me


_TEMPLATE: dict = {}  # "mesh": the skinned body template (an orphan mesh datablock), "weights": its weight array
TEMPLATE_NAME = "humans_body_template"
TEMPLATE_MIN_BLENDER = (4, 2, 0)


def _template_alive(me) -> bool:
    try:
        return me is not None and me.name in bpy.data.meshes and bpy.data.meshes[me.name] == me
    except ReferenceError:  # removed (e.g. read_factory_settings)
        return False


def _body_template(names, weights: np.ndarray):
    """The rest body mesh with every vertex group filled in, built once per process (or after the datablock was
    freed). Per person it is copied (a C-level memcpy of topology + deform weights) instead of rebuilding the
    topology and issuing thousands of ``VertexGroup.add`` calls."""
    me = _TEMPLATE.get("mesh")
    if _TEMPLATE.get("weights") is weights and _TEMPLATE.get("names") == tuple(names) and _template_alive(me):
        return me
    me = _body_mesh(TEMPLATE_NAME, mhdata.base_mesh().coords)
    ob = bpy.data.objects.new(TEMPLATE_NAME, me)
    try:
        _vertex_groups(ob, names, weights)
    finally:
        bpy.data.objects.remove(ob, do_unlink=True)
    _TEMPLATE.update(mesh=me, weights=weights, names=tuple(names))
    return me


def _skinned_body_mesh(name: str, coords: np.ndarray, names, weights: np.ndarray):
    """Body mesh (topology as :func:`_body_mesh`) that already carries the vertex groups of ``weights``.

    Identical to a body built from scratch whatever the template went through before: a copy shares the
    template's position-derived caches (bounds, normals, BVH), and the bulk attribute write does not tag
    positions as changed, so one vertex is also written through ``MeshVertex.co``, which does."""
    me = _body_template(names, weights).copy()
    me.name = name
    co = coords[: mhdata.base_mesh().n_body].astype(np.float32).ravel()
    _set_attribute(me, "position", "vector", co, me.vertices, "co")
    if len(me.vertices):
        me.vertices[0].co = tuple(co[:3])  # the same value: tags positions changed (un-shares those caches)
    me.update()
    return me


def _set_material_index(me, index: np.ndarray) -> None:
    """``polygons.foreach_set("material_index", ...)`` through the attribute API (same data, ~100x faster)."""
    attr = me.attributes.get("material_index")
    if attr is None:
        with contextlib.suppress(RuntimeError, TypeError, ValueError):
            attr = me.attributes.new("material_index", "INT", "FACE")
    if attr is None or attr.domain != "FACE" or attr.data_type != "INT":
        me.polygons.foreach_set("material_index", index)
        return
    attr.data.foreach_set("value", index)


def _smooth(me) -> None:
    if hasattr(me, "shade_smooth"):
        me.shade_smooth()
    else:
        me.polygons.foreach_set("use_smooth", np.ones(len(me.polygons), dtype=bool))


def _small_mesh(name: str, verts: np.ndarray, faces: list):
    """A smooth-shaded mesh of n-gons: the calls of ``Mesh.from_pydata`` with numpy arrays instead of tuples
    (``from_pydata`` itself on Blender without ``Mesh.shade_flat``, whose polygons cannot be written in bulk)."""
    me = bpy.data.meshes.new(name)
    if not hasattr(me, "shade_flat"):
        me.from_pydata([tuple(map(float, v)) for v in verts], [], [tuple(int(i) for i in f) for f in faces])
    else:
        counts = np.array([len(f) for f in faces], np.int32)
        me.vertices.add(len(verts))
        me.loops.add(int(counts.sum()))
        me.polygons.add(len(faces))
        me.vertices.foreach_set("co", np.asarray(verts, np.float32).ravel())
        me.polygons.foreach_set("loop_start", (np.cumsum(counts) - counts).astype(np.int32))
        me.polygons.foreach_set("vertices", np.fromiter((i for f in faces for i in f), np.int32, int(counts.sum())))
        me.shade_flat()
        if len(faces):
            me.update(calc_edges=True, calc_edges_loose=False)
    me.update()
    _smooth(me)
    return me


def _armature(name: str, body: BodyModel, collection):
    sk = body.skeleton
    arm = bpy.data.armatures.new(name)
    ob = bpy.data.objects.new(name, arm)
    collection.objects.link(ob)
    vl = bpy.context.view_layer
    prev = vl.objects.active
    vl.objects.active = ob
    bpy.ops.object.mode_set(mode="EDIT")
    ebs = {}
    for i, bname in enumerate(sk.names):
        eb = arm.edit_bones.new(bname)
        eb.head = tuple(sk.heads[i])
        eb.tail = tuple(sk.tails[i])
        eb.roll = float(sk.rolls[i])
        eb.use_connect = False
        p = sk.parents[i]
        if p >= 0:
            eb.parent = ebs[sk.names[p]]
        ebs[bname] = eb
    bpy.ops.object.mode_set(mode="OBJECT")
    if prev is not None and prev.name in vl.objects:
        vl.objects.active = prev
    return ob


def _vertex_groups(ob, names, weights: np.ndarray, steps: int = WEIGHT_STEPS) -> None:
    """One vertex group per bone with weights, in bone order; weights quantised to 1/steps (one ``add`` call per
    bone and distinct value, vertices ascending)."""
    wt = weights.T
    bone, vert = np.nonzero(wt > 0.5 / steps)  # bone-major, vertices ascending
    q = np.round(wt[bone, vert] * steps).astype(np.int64)
    order = np.argsort(bone * (int(q.max(initial=0)) + 1) + q, kind="stable")
    bone, vert, q = bone[order], vert[order], q[order]
    cut = np.flatnonzero((np.diff(bone) != 0) | (np.diff(q) != 0)) + 1
    bounds = np.concatenate([[0], cut, [len(q)]]).tolist()
    vert_list, bone_list, q_list = vert.tolist(), bone.tolist(), q.tolist()
    groups: dict = {}
    for a, b in itertools.pairwise(bounds):
        j = bone_list[a]
        vg = groups.get(j)
        if vg is None:
            vg = groups[j] = ob.vertex_groups.new(name=names[j])
        vg.add(vert_list[a:b], float(q_list[a]) / steps, "REPLACE")


def _fcurves(action):
    if action is None:
        return []
    if hasattr(action, "layers") and len(getattr(action, "layers", [])):
        out = []
        for layer in action.layers:
            for strip in layer.strips:
                for bag in getattr(strip, "channelbags", []):
                    out.extend(bag.fcurves)
        if out:
            return out
    return list(getattr(action, "fcurves", []))


def _pose(arm_ob, body: BodyModel, frame: int, motion_frames: int) -> None:
    sk = body.skeleton
    bones = arm_ob.data.bones
    local = {b.name: np.array(b.matrix_local) for b in bones}
    local_inv = {}  # inverses computed once per bone
    keys = [(frame, 0)] + ([(frame + motion_frames, 1)] if motion_frames else [])
    pose_bones = arm_ob.pose.bones
    prev_q = {}
    for f, k in keys:
        posed = {}
        posed_inv = {}
        for i, bname in enumerate(sk.names):
            m = np.eye(4)
            m[:3, :3] = body.pose.g[k, i] @ local[bname][:3, :3]
            m[:3, 3] = body.pose.heads[k, i]
            posed[bname] = m
        for i, bname in enumerate(sk.names):
            p = sk.parents[i]
            li = local_inv.get(bname)
            if li is None:
                li = local_inv[bname] = rigid_inverse(local[bname])
            if p >= 0:
                pn = sk.names[p]
                pi = posed_inv.get(pn)
                if pi is None:
                    pi = posed_inv[pn] = rigid_inverse(posed[pn])
                basis = li @ local[pn] @ pi @ posed[bname]
            else:
                basis = li @ posed[bname]
            pb = pose_bones[bname]
            pb.rotation_mode = "QUATERNION"
            q = Matrix(basis[:3, :3].tolist()).to_quaternion()
            if bname in prev_q:
                q.make_compatible(prev_q[bname])
            prev_q[bname] = q
            pb.rotation_quaternion = q
            pb.location = tuple(basis[:3, 3])
            if motion_frames:
                pb.keyframe_insert("rotation_quaternion", frame=f)
                pb.keyframe_insert("location", frame=f)
    if motion_frames and arm_ob.animation_data is not None:
        for fc in _fcurves(arm_ob.animation_data.action):
            fc.extrapolation = "LINEAR"
            for kp in fc.keyframe_points:
                kp.interpolation = "LINEAR"


def _materials(name: str, body: BodyModel) -> dict:
    """Material per key: skin, hair, headwear, one per worn garment (``garment_<slot>``), one per carried object."""
    app = body.appearance
    mats = {
        "skin": materials.skin_material(name + "_skin", app["skin"]),
        "hair": materials.hair_material(name + "_hair", app["hair"]),
        "headwear": materials.fabric_material(name + "_headwear", app["headwear"]),
    }
    for g in body.garments:
        mats[f"garment_{g.name}"] = materials.fabric_material(f"{name}_{g.name}", app["outfit"][g.name])
    for item in app["accessories"]:
        rough = 0.3 if item["kind"] in ("laptop", "phone") else 0.6
        mats[f"acc_{item['kind']}"] = materials.plain_material(f"{name}_{item['kind']}", item["color"], rough)
    return mats


def _body_object(name: str, body: BodyModel, mats: dict, collection):
    names, _ = mhdata.skin_weights()
    # the usual case: every body uses the cached MakeHuman weights -> copy the pre-skinned template. Gated on
    # Blender >= 4.2 (verified identical there; 3.4 copies stale vertex normals from the template).
    shared_weights = body.weights is mhdata.skin_weights()[1] and bpy.app.version >= TEMPLATE_MIN_BLENDER
    if shared_weights:
        me = _skinned_body_mesh(name + "_body", body.coords, names, body.weights)
    else:
        me = _body_mesh(name + "_body", body.coords)
    for key in (*app_mod.REGIONS, *(f"garment_{g.name}" for g in body.garments)):
        me.materials.append(mats[key])
    _set_material_index(me, body.face_slots.astype(np.int32))
    body_ob = bpy.data.objects.new(name + "_body", me)
    collection.objects.link(body_ob)
    if not shared_weights:
        _vertex_groups(body_ob, names, body.weights)
    return body_ob, me


def build_blender_person(body: BodyModel, name: str, collection, frame: int, motion_frames: int):
    if collection is None:
        collection = bpy.context.scene.collection
    names, _ = mhdata.skin_weights()
    arm_ob = _armature(name + "_rig", body, collection)
    mats = _materials(name, body)
    data: list = [arm_ob.data, *mats.values()]
    body_ob, me = _body_object(name, body, mats, collection)
    data.append(me)
    objects = [arm_ob, body_ob]
    for extra in body.extras:  # hair, headwear, carried objects: rigid on one bone
        eme = _small_mesh(f"{name}_{extra['name']}", extra["verts"], extra["faces"])
        eme.materials.append(mats[extra["material"]])
        data.append(eme)
        eob = bpy.data.objects.new(f"{name}_{extra['name']}", eme)
        collection.objects.link(eob)
        vg = eob.vertex_groups.new(name=extra.get("bone", "Head"))
        vg.add(list(range(len(eme.vertices))), 1.0, "REPLACE")
        objects.append(eob)
    for g in body.garments:  # skinned with the body's own weights
        gme = _garment_mesh(f"{name}_{g.name}", g.verts, g.faces)
        gme.materials.append(mats[f"garment_{g.name}"])
        data.append(gme)
        gob = bpy.data.objects.new(f"{name}_{g.name}", gme)
        collection.objects.link(gob)
        _vertex_groups(gob, names, g.weights, garments.WEIGHT_STEPS)
        objects.append(gob)

    for ob in objects[1:]:
        ob.parent = arm_ob
        mod = ob.modifiers.new("Armature", "ARMATURE")
        mod.object = arm_ob
        mod.use_deform_preserve_volume = False

    _pose(arm_ob, body, frame, motion_frames)
    if arm_ob.animation_data is not None and arm_ob.animation_data.action is not None:
        data.append(arm_ob.animation_data.action)
    return objects, data, body_ob, arm_ob


def evaluated_vertices(objects, frame: int) -> np.ndarray:
    scene = bpy.context.scene
    if scene.frame_current != frame:
        scene.frame_set(frame)
    dg = bpy.context.evaluated_depsgraph_get()
    out = []
    for ob in objects:
        if ob.type != "MESH":
            continue
        ev = ob.evaluated_get(dg)
        me = ev.to_mesh()
        co = np.empty(len(me.vertices) * 3, dtype=np.float32)
        me.vertices.foreach_get("co", co)
        ev.to_mesh_clear()
        mw = np.array(ev.matrix_world)
        co = co.reshape(-1, 3).astype(np.float64)
        out.append(co @ mw[:3, :3].T + mw[:3, 3])
    return np.concatenate(out) if out else np.zeros((0, 3))


def remove(objects, data) -> None:
    for ob in objects:
        if ob is not None and ob.name in bpy.data.objects:
            bpy.data.objects.remove(ob, do_unlink=True)
    collections = {
        bpy.types.Mesh: bpy.data.meshes,
        bpy.types.Armature: bpy.data.armatures,
        bpy.types.Material: bpy.data.materials,
        bpy.types.Action: bpy.data.actions,
    }
    for d in data:
        for typ, coll in collections.items():
            if isinstance(d, typ):
                with contextlib.suppress(ReferenceError, RuntimeError):
                    coll.remove(d)
                break
