"""make_person with the real bpy wheel: objects, pass indices, keyframed motion, evaluated vertices, cleanup."""

from __future__ import annotations

import json

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_addon.core import retarget  # noqa: E402
from blender_addon.humans import PersonParams, make_person, sample_person_params  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _empty_scene():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield


def test_make_person_standing_contract():
    coll = bpy.data.collections.new("people_test")
    bpy.context.scene.collection.children.link(coll)
    h = make_person(PersonParams("standing", (1.0, 2.0), 30.0, instance_id=7, seed=3), collection=coll, frame=5)
    assert h.instance_id == 7
    assert all(ob.pass_index == 7 for ob in h.objects)
    assert all(coll in ob.users_collection for ob in h.objects)
    assert h.mesh_object.type == "MESH" and h.armature.type == "ARMATURE"
    assert len(h.keypoints_3d) == 17 and len(h.head_3d) == 3 and len(h.footprint) >= 3
    json.dumps(h.sampled)
    v = h.world_vertices()
    ref = h.body.all_vertices(0)
    assert v.shape == ref.shape
    assert np.abs(v - ref).max() < 2e-3  # Blender's armature deform == the numpy skinning
    assert abs(v[: h.body.n_body, 2].min()) < 0.02  # feet on the floor at the rendered frame
    # Blender's bone rest matrices == the numpy ones used to read MPFB's T-pose
    sk = h.body.skeleton
    for i, name in enumerate(sk.names):
        assert np.allclose(np.array(h.armature.data.bones[name].matrix_local)[:3, :3], sk.rest[i], atol=1e-4), name
    # t+δ is keyed at frame+1 and differs (real motion for the motion blur)
    bpy.context.scene.frame_set(6)
    dg = bpy.context.evaluated_depsgraph_get()
    me = h.mesh_object.evaluated_get(dg).to_mesh()
    co = np.empty(len(me.vertices) * 3, np.float32)
    me.vertices.foreach_get("co", co)
    h.mesh_object.evaluated_get(dg).to_mesh_clear()
    assert np.abs(co.reshape(-1, 3) - h.body.posed[1]).max() < 2e-3
    assert np.abs(h.body.posed[1] - h.body.posed[0]).max() > 0.005
    n_objects, n_person = len(bpy.data.objects), len(h.objects)
    h.remove()
    assert len(bpy.data.objects) == n_objects - n_person
    assert not any(ob.name.startswith("person_007") for ob in bpy.data.objects)
    assert not any(m.name.startswith("person_007") for m in bpy.data.meshes)
    assert not any(m.name.startswith("person_007") for m in bpy.data.materials)


def test_same_seed_same_vertices_in_blender():
    a = make_person(PersonParams("standing", (0.0, 0.0), 0.0, instance_id=1, seed=42))
    va = a.world_vertices()
    sa = a.sampled
    a.remove()
    b = make_person(PersonParams("standing", (0.0, 0.0), 0.0, instance_id=1, seed=42))
    assert np.array_equal(va, b.world_vertices()) and sa == b.sampled
    c = make_person(PersonParams("standing", (0.0, 0.0), 0.0, instance_id=2, seed=43))
    assert c.sampled["phenotype"] != b.sampled["phenotype"]
    b.remove()
    c.remove()


def test_sitting_person_on_seat():
    p = sample_person_params(5, posture="sitting", position=(0.3, -0.4), seat_height=0.46, instance_id=3)
    h = make_person(p)
    v = h.world_vertices()
    assert v[:, 2].min() > -0.02
    sk = h.body.skeleton
    pelvis = h.body.pose.heads[0, sk.index("Hips")]
    assert 0.46 < pelvis[2] < 0.46 + 0.25
    assert h.sampled["pose"]["kind"] == "seated"
    h.remove()


def test_vec_roll_matches_blender_for_odd_bones():
    arm = bpy.data.armatures.new("roll_test")
    ob = bpy.data.objects.new("roll_test", arm)
    bpy.context.scene.collection.objects.link(ob)
    bpy.context.view_layer.objects.active = ob
    bpy.ops.object.mode_set(mode="EDIT")
    cases = [
        ((0, 0, 0), (0, 0, 1), 0.3),
        ((0, 0, 0), (0, -1, 0), 1.0),
        ((0, 0, 0), (0.3, -0.2, -0.9), -2.0),
        ((0, 0, 0), (0, 1, 0), 0.5),
    ]
    for k, (h, t, r) in enumerate(cases):
        eb = arm.edit_bones.new(f"b{k}")
        eb.head, eb.tail, eb.roll = h, t, r
    bpy.ops.object.mode_set(mode="OBJECT")
    for k, (h, t, r) in enumerate(cases):
        ref = np.array(arm.bones[f"b{k}"].matrix_local)[:3, :3]
        assert np.allclose(retarget.vec_roll_to_mat3(np.subtract(t, h), r), ref, atol=1e-5)
    bpy.data.objects.remove(ob)
    bpy.data.armatures.remove(arm)


def test_garments_and_carried_objects_follow_the_rig_in_blender():
    from blender_addon.core import accessories, palette, wardrobe
    from shared_schema.config import AppearanceConfig, PhenotypeRanges

    ranges = PhenotypeRanges(appearance=AppearanceConfig(accessories={k: 1.0 for k in accessories.ORDER}))
    settings = palette.appearance_settings(ranges)
    seed = next(
        s
        for s in range(500)
        if (wardrobe.sample_outfit(settings, ranges, s, False)["outer"] or {}).get("type") == "coat"
    )
    h = make_person(PersonParams("standing", (0.5, 0.5), 60.0, instance_id=9, seed=seed), ranges, frame=3)
    names = {ob.name for ob in h.objects}
    for part in ("shoes", "top", "outer", "backpack", "shoulder_bag"):
        assert f"person_009_{part}" in names
    assert all(ob.pass_index == 9 for ob in h.objects)  # the instance mask covers body, garments and objects
    assert len(h.mesh_object.data.materials) == 2 + len(h.body.garments)
    v = h.world_vertices()
    assert np.abs(v - h.body.all_vertices(0)).max() < 2e-3  # Blender's armature == the numpy skinning
    for extra in h.body.extras:
        ob = bpy.data.objects[f"person_009_{extra['name']}"]
        assert [g.name for g in ob.vertex_groups] == [extra.get("bone", "Head")]
    coat = bpy.data.objects["person_009_outer"]
    assert len(coat.vertex_groups) > 5 and coat.data.attributes.get("rest_position") is not None
    assert h.sampled["appearance"]["outfit"]["outer"]["type"] == "coat"
    _assert_surface_is_blenders(h)


def _assert_surface_is_blenders(h) -> None:
    """The numpy collision surface (placement checks it before any bpy) is the posed mesh Blender renders."""
    from blender_addon.scene.bodies import scene_depsgraph, world_triangles

    verts, tris = h.body.surface(0)
    got = [g for g in (world_triangles(ob, scene_depsgraph(bpy.context.scene)) for ob in h.objects) if g]
    offsets = np.cumsum([0] + [len(v) for v, _ in got[:-1]])
    b_verts = np.concatenate([v for v, _ in got])
    b_tris = np.concatenate([t + o for (_, t), o in zip(got, offsets, strict=True)])
    assert verts.shape == b_verts.shape and tris.shape == b_tris.shape
    assert np.abs(verts - b_verts).max() < 2e-3
    ours, blenders = ({tuple(sorted(t)) for t in x.tolist()} for x in (tris, b_tris))
    assert len(ours & blenders) >= 0.99 * len(blenders)  # a concave quad may be split along its other diagonal
    h.remove()
    assert not any(m.name.startswith("person_009") for m in bpy.data.materials)
    assert not any(m.name.startswith("person_009") for m in bpy.data.meshes)


def test_template_copy_equals_a_body_built_from_scratch_after_other_bodies():
    """Copies of the pre-skinned template share its position-derived caches; a later body's bounds must be its
    own, not those of the first body that asked (what made renders depend on earlier images)."""
    from blender_addon.core import mhdata, person
    from blender_addon.humans import build

    names, weights = mhdata.skin_weights()
    bodies = [person.build_body("standing", (0.0, 0.0), 0.0, None, seed) for seed in (1, 5)]
    objects = []
    for i, body in enumerate(bodies):
        me = build._skinned_body_mesh(f"tmpl_copy_{i}", body.coords, names, weights)
        ob = bpy.data.objects.new(me.name, me)
        bpy.context.scene.collection.objects.link(ob)
        bpy.context.view_layer.update()
        objects.append(ob)
    scratch = bpy.data.objects.new("scratch_body", build._body_mesh("scratch_body", bodies[1].coords))
    bpy.context.scene.collection.objects.link(scratch)
    bpy.context.view_layer.update()
    try:
        assert np.array(objects[1].bound_box) == pytest.approx(np.array(scratch.bound_box), abs=0.0)
    finally:
        for ob in [*objects, scratch]:
            me = ob.data
            bpy.data.objects.remove(ob, do_unlink=True)
            bpy.data.meshes.remove(me)


def test_fabric_and_hair_sheen_take_their_own_colour():
    from blender_addon.humans.materials import fabric_material, hair_material

    def tint(mat):
        bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
        return bsdf, bsdf.inputs["Sheen Tint"]

    red = (0.4, 0.02, 0.01)
    plain = {"color": red, "roughness": 0.7, "fabric": "knit", "pattern": "plain"}
    bsdf, sock = tint(fabric_material("t_plain", plain))
    assert tuple(sock.default_value)[:3] == pytest.approx(red)  # a white fuzz would grey the red sweater
    assert tuple(bsdf.inputs["Base Color"].default_value)[:3] == pytest.approx(red)
    striped = dict(plain, pattern="stripes", pattern_color=(0.9, 0.9, 0.9))
    bsdf, sock = tint(fabric_material("t_stripes", striped))
    assert sock.is_linked and sock.links[0].from_socket == bsdf.inputs["Base Color"].links[0].from_socket
    _, sock = tint(hair_material("t_hair", {"color": (0.01, 0.008, 0.007), "roughness": 0.4}))
    assert tuple(sock.default_value)[:3] == pytest.approx((0.01, 0.008, 0.007))
    for name in ("t_plain", "t_stripes", "t_hair"):
        bpy.data.materials.remove(bpy.data.materials[name])
