"""Pure (no bpy) parts: 2D placement, polygon overlap, EXR/PNG codecs, annotation assembly."""

from __future__ import annotations

import io

import numpy as np
import pytest

from blender_addon.core.annotate import PersonInfo, person_record
from blender_addon.core.exr import read_exr
from blender_addon.core.placement import (
    FloorObstacle,
    PlacementError,
    Placer,
    circle,
    polygons_overlap,
    rect,
    unproject_polygon_px,
)
from blender_addon.core.png import decode_png, encode_png
from shared_schema import CameraModel
from shared_schema.coco import decode_rle
from shared_schema.distributions import rng_for
from shared_schema.geometry import bbox_from_mask


def test_polygons_overlap_cases():
    sq = [(0, 0), (1, 0), (1, 1), (0, 1)]
    assert polygons_overlap(sq, [(0.5, 0.5), (2, 0.5), (2, 2)])
    assert polygons_overlap(sq, [(0.2, 0.2), (0.4, 0.2), (0.4, 0.4)])  # contained
    assert polygons_overlap([(-1, -1), (3, -1), (3, 3), (-1, 3)], sq)  # contains
    assert not polygons_overlap(sq, [(1.5, 0), (2, 0), (2, 1)])
    concave = [(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)]  # a U
    assert not polygons_overlap(concave, circle((1.5, 2.5), 0.3))  # in the notch
    assert polygons_overlap(concave, circle((1.5, 1.1), 0.3))


def test_placer_no_overlap_and_in_view():
    cam = CameraModel(width=128, height=128, position=(0, 0, 2.9))
    placer = Placer(
        floor=[(-3, -3), (3, -3), (3, 3), (-3, 3)],
        camera=cam,
        obstacles=[FloorObstacle("t", "table", [(-1, -1), (1, -1), (1, 1), (-1, 1)], 0.75)],
    )
    rng = rng_for(1, "t")
    for _ in range(8):
        pos, _yaw, fp = placer.propose_standing(rng, 500)
        assert placer.in_view(pos)
        assert not polygons_overlap(fp, placer.obstacles[0].polygon)
        assert not any(polygons_overlap(fp, p) for p in placer.placed)
        placer.placed.append(fp)


def test_placer_raises_clear_error_when_full():
    cam = CameraModel(width=128, height=128, position=(0, 0, 2.9))
    placer = Placer(floor=[(-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)], camera=cam)
    rng = rng_for(2, "t")
    with pytest.raises(PlacementError, match="could not place"):
        for _ in range(50):
            placer.placed.append(placer.propose_standing(rng, 100)[2])


def test_unproject_polygon_px_round_trip():
    cam = CameraModel(width=200, height=200, position=(0.3, -0.2, 3.0))
    poly = [(1.0, 0.5), (2.0, 0.5), (2.0, 1.5)]
    px = cam.project(np.array([[x, y, 0.0] for x, y in poly]))
    back = unproject_polygon_px(cam, px)
    assert np.allclose(back, poly, atol=1e-6)
    assert rect((0, 0), 2, 1, 90).shape == (4, 2)


def test_png_codec_matches_pillow():
    from PIL import Image

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (21, 17, 3), dtype=np.uint8)
    ids = rng.integers(0, 65536, (21, 17), dtype=np.uint16)
    assert (np.asarray(Image.open(io.BytesIO(encode_png(rgb)))) == rgb).all()
    assert (np.asarray(Image.open(io.BytesIO(encode_png(ids)))) == ids).all()
    for mode_arr in (rgb, np.dstack([rgb, rgb[..., :1]])):
        buf = io.BytesIO()
        Image.fromarray(mode_arr).save(buf, "PNG", optimize=True)  # uses every filter type
        assert (decode_png(buf.getvalue()) == mode_arr).all()
    assert encode_png(rgb) == encode_png(rgb.copy())


@pytest.mark.parametrize("compression", ["NO_COMPRESSION", "ZIP_COMPRESSION", "ZIPS_COMPRESSION"])
def test_exr_reader_matches_openexr(tmp_path, compression):
    OpenEXR = pytest.importorskip("OpenEXR")
    rng = np.random.default_rng(1)
    h, w = 37, 29
    chans = {
        "ViewLayer.Combined.R": rng.random((h, w), dtype=np.float32),
        "ViewLayer.IndexOB.X": rng.integers(0, 9, (h, w)).astype(np.float32),
        "ViewLayer.Combined.A": rng.random((h, w)).astype(np.float16),
    }
    header = {"compression": getattr(OpenEXR, compression), "type": OpenEXR.scanlineimage}
    path = tmp_path / "t.exr"
    with OpenEXR.File(header, dict(chans)) as f:
        f.write(str(path))
    got = read_exr(path)
    for name, arr in chans.items():
        assert np.array_equal(got[name], arr.astype(np.float32)), name


def test_person_record_from_instance_map():
    cam = CameraModel(width=64, height=64, position=(0, 0, 3.0))
    inst = np.zeros((64, 64), np.uint16)
    inst[10:20, 40:46] = 1
    inst[30:34, 30:34] = 2
    head = cam.unproject_to_floor(np.array([[43.0, 12.0]]), z=1.6)[0]
    info = PersonInfo(
        instance_id=1,
        posture="standing",
        position=(1.0, 1.0),
        head_3d=tuple(head),
        keypoints_3d=[tuple(head)] * 17,
        pose={"yaw_deg": 10.0, "clip": "02_01", "frame": 3},
    )
    p = person_record(cam, inst, info)
    assert p.bbox == bbox_from_mask(inst == 1) == (40.0, 10.0, 6.0, 10.0)
    assert inst[int(p.head_2d[1]), int(p.head_2d[0])] == 1
    assert (decode_rle(p.segmentation) == (inst == 1)).all()
    assert p.area == 60 and p.pose.clip == "02_01" and all(k.v == 2 for k in p.keypoints)
    assert p.rotated_box[3] >= p.rotated_box[2]
