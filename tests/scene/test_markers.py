"""Invariant 5: CameraModel.project lands within 1 px of where Cycles draws a point, for every lens.

Small emissive spheres at known 3D points, each with its own object index; the rendered centroid of each
index region is compared with the projection of the sphere's centre (camera tilted and yawed, too)."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from shared_schema import CameraModel  # noqa: E402
from shared_schema.camera import polynomial_from_opencv_fisheye  # noqa: E402

RES = 160
POINTS = [
    (0.0, 0.0, 0.0),
    (1.5, 0.0, 0.0),
    (0.0, 2.0, 0.0),
    (-2.5, -1.0, 0.5),
    (3.0, 3.0, 1.5),
    (-1.0, 2.5, 1.0),
    (0.5, -3.0, 0.2),
    (-3.5, 0.5, 1.7),
    (2.2, -2.2, 1.2),
]
POSE = {"position": (0.2, -0.3, 3.0), "rotation_euler_deg": (10.0, -5.0, 30.0)}
LENSES = {
    "fisheye_equidistant": CameraModel(projection="fisheye_equidistant", width=RES, height=RES, fov_deg=180.0, **POSE),
    "fisheye_equidistant_200": CameraModel(
        projection="fisheye_equidistant", width=RES, height=RES, fov_deg=200.0, **POSE
    ),
    "fisheye_equisolid": CameraModel(
        projection="fisheye_equisolid",
        width=RES,
        height=RES,
        fov_deg=180.0,
        focal_mm=10.5,
        sensor_width_mm=36.0,
        **POSE,
    ),
    "fisheye_polynomial": CameraModel(
        projection="fisheye_polynomial",
        width=RES,
        height=RES,
        fov_deg=190.0,
        polynomial_k=polynomial_from_opencv_fisheye(RES / 3.1, (0.02, -0.01, 0.0, 0.0), width=RES, height=RES),
        **POSE,
    ),
    "perspective": CameraModel(projection="perspective", width=RES, height=RES, fov_deg=110.0, **POSE),
}
RESIDUALS: dict[str, float] = {}


def _render_markers(model: CameraModel, tmp_path) -> np.ndarray:
    import bmesh

    from blender_addon.core.exr import find_channel, read_exr
    from blender_addon.scene import compat
    from blender_addon.scene.camera import add_camera

    old = bpy.data.scenes.get("R2_Markers")
    if old is not None:
        bpy.data.batch_remove(list(old.objects))
        bpy.data.scenes.remove(old)
    scene = bpy.data.scenes.new("R2_Markers")
    scene.render.engine = "CYCLES"
    mat = bpy.data.materials.new("marker")
    compat.ensure_nodes(mat)
    nt = mat.node_tree
    nt.nodes.clear()
    em, out = nt.nodes.new("ShaderNodeEmission"), nt.nodes.new("ShaderNodeOutputMaterial")
    nt.links.new(em.outputs[0], out.inputs[0])
    for i, p in enumerate(POINTS):
        me = bpy.data.meshes.new(f"marker{i}")
        bm = bmesh.new()
        bmesh.ops.create_uvsphere(bm, u_segments=16, v_segments=10, radius=0.1)
        bm.to_mesh(me)
        bm.free()
        me.materials.append(mat)
        ob = bpy.data.objects.new(f"marker{i}", me)
        ob.location = p
        ob.pass_index = i + 1
        scene.collection.objects.link(ob)
    add_camera(scene, model)
    scene.cycles.samples = 1
    scene.cycles.use_denoising = False
    scene.cycles.pixel_filter_type = "BOX"
    scene.cycles.filter_width = 0.01  # sample at pixel centres: the index map is a point sampling
    scene.view_layers[0].use_pass_object_index = True
    compat.set_multilayer_exr(scene.render.image_settings)
    scene.render.filepath = str(tmp_path / "markers.exr")
    bpy.ops.render.render(write_still=True, scene=scene.name)
    ch = read_exr(tmp_path / "markers.exr")
    return np.rint(find_channel(ch, compat.PASS_NAMES["index"], "X")).astype(int)


@pytest.mark.slow
@pytest.mark.parametrize("lens", list(LENSES))
def test_projection_matches_render(lens, tmp_path):
    model = LENSES[lens]
    idx = _render_markers(model, tmp_path)
    proj = model.project(np.array(POINTS, dtype=np.float64))
    errors = []
    for k, p in enumerate(proj, start=1):
        rows, cols = np.nonzero(idx == k)
        if not np.isfinite(p).all():
            assert rows.size == 0, f"marker {k} rendered but projects outside the lens"
            continue
        inside = 4 <= p[0] < RES - 4 and 4 <= p[1] < RES - 4
        if not inside:
            continue
        # whole marker visible (not clipped by the frame or the image circle)
        assert rows.size >= 3, f"{lens}: marker {k} at {p} not rendered"
        centroid = np.array([cols.mean() + 0.5, rows.mean() + 0.5])
        errors.append(float(np.hypot(*(centroid - p))))
    assert len(errors) >= 4, f"{lens}: too few markers in view"
    RESIDUALS[lens] = max(errors)
    print(f"{lens}: max residual {max(errors):.3f} px, mean {np.mean(errors):.3f} px over {len(errors)} markers")
    assert max(errors) < 1.0, f"{lens}: residuals {np.round(errors, 3)}"


@pytest.mark.slow
@pytest.mark.parametrize("lens", ["fisheye_equisolid", "perspective"])
def test_principal_point_offset(lens, tmp_path):
    model = LENSES[lens].model_copy(update={"principal_point": (RES / 2 + 6.0, RES / 2 - 4.0)})
    idx = _render_markers(model, tmp_path)
    proj = model.project(np.array(POINTS, dtype=np.float64))
    errs = []
    for k, p in enumerate(proj, start=1):
        rows, cols = np.nonzero(idx == k)
        if np.isfinite(p).all() and 4 <= p[0] < RES - 4 and 4 <= p[1] < RES - 4 and rows.size >= 3:
            errs.append(float(np.hypot(cols.mean() + 0.5 - p[0], rows.mean() + 0.5 - p[1])))
    print(f"{lens} principal point offset: residuals {np.round(errs, 3)}")
    assert len(errs) >= 4 and max(errs) < 1.0
