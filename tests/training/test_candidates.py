"""Person candidates from unlabeled footage: a temporal-median background, a noise-derived threshold, components
with sane shapes; nothing on a changing timestamp or outside the image circle; crops at the server's geometry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from refine_server.checkpoint import load_model
from refine_server.crops import CropSpec
from refine_server.training.candidates import (
    CandidateParams,
    dilate,
    erode,
    find_candidates,
    label_components,
)
from refine_server.training.dataset import crops_from_candidates, load_footage

from .conftest import make_fake_dataset
from .footage import STAMP, iou, synthetic_footage
from .test_train_real_frames import train


def _inside_crop(spec: CropSpec, mask: np.ndarray) -> bool:
    """Every pixel of ``mask`` (all four corners) lies inside the crop's square."""
    rows, cols = np.nonzero(mask)
    up, right = spec.axes()
    pts = np.concatenate([np.stack([cols + dx, rows + dy], 1) for dx in (0.0, 1.0) for dy in (0.0, 1.0)])
    rel = pts - np.array(spec.center)
    return bool(
        (np.abs(rel @ up) <= spec.size / 2 + 1e-6).all() and (np.abs(rel @ right) <= spec.size / 2 + 1e-6).all()
    )


def test_components_and_morphology() -> None:
    m = np.zeros((12, 12), bool)
    m[1:4, 1:4] = True
    m[4, 4] = True  # diagonal neighbour: same component (8-connected)
    m[8:11, 6:11] = True
    labels, n = label_components(m)
    assert n == 2 and labels[1, 1] == labels[4, 4] == 1 and (labels[8:11, 6:11] == 2).all()
    assert label_components(np.zeros((5, 5), bool))[1] == 0
    assert not erode(m, 1)[4, 4] and erode(m, 1)[2, 2] and dilate(m, 1)[0, 0] and not dilate(m, 1)[6, 0]


def test_candidates_where_the_people_are() -> None:
    frames, truth = synthetic_footage(n_frames=6)
    report = find_candidates(frames)
    cands = report.candidates
    assert len(report.groups) == 1 and report.groups[0].n_used == 6
    for t in truth:  # every person found in its frame
        assert max(iou(c.box, t.box) for c in cands if c.frame_index == t.frame) >= 0.8, t
    h, w = frames[0].rgb.shape[:2]
    for c in cands:  # and nothing else: not the timestamp, not the blob outside the image circle
        assert max(iou(c.box, t.box) for t in truth if t.frame == c.frame_index) >= 0.8, c
        assert iou(c.box, STAMP) == 0.0
        cx, cy = (c.box[0] + c.box[2]) / 2, (c.box[1] + c.box[3]) / 2
        assert np.hypot(cx - w / 2, cy - h / 2) < 0.48 * w
    again = find_candidates(frames)
    assert again.candidates == cands
    assert all((a.instances == b.instances).all() for a, b in zip(report.frames, again.frames, strict=True))


def test_candidate_crops_hold_their_whole_component() -> None:
    frames, _ = synthetic_footage(n_frames=5, seed=3)
    report = find_candidates(frames)
    crops = crops_from_candidates(report, 32, margin=0.15, min_size=16.0)
    assert len(crops) == len(report.candidates) >= 12 and crops.images.shape[1:] == (3, 32, 32)
    by_source = {fc.candidates[0].source: fc for fc in report.frames}
    for m, mask in zip(crops.meta, crops.masks, strict=True):
        fc = by_source[m["image_id"]]
        spec = CropSpec(m["spec"]["instance_id"], tuple(m["spec"]["center"]), m["spec"]["angle_deg"], m["spec"]["size"])
        assert _inside_crop(spec, fc.instances == spec.instance_id)
        assert m["kind"] == "candidate" and m["source"].startswith("clip.mp4#") and len(m["box"]) == 4
        assert mask.sum() > 20 and mask[0, 0].sum() == mask[0, -1].sum() == 0  # the margin keeps it off the edges


def test_too_few_frames_or_two_cameras_under_one_key() -> None:
    frames, _ = synthetic_footage(n_frames=2)
    report = find_candidates(frames)
    assert report.candidates == [] and "at least 3" in report.summary()
    other, _ = synthetic_footage(n_frames=2, seed=7, room_gain=0.6)  # another room, same camera key and size
    report = find_candidates(frames[:1] + synthetic_footage(n_frames=4)[0][1:] + other)
    assert [g.n_used for g in report.groups] == [4, 0] and len(report.candidates) >= 10
    assert find_candidates(frames, CandidateParams(min_frames=2)).groups[0].n_used == 2


def test_train_real_frames_trains_the_generator_on_candidates(tmp_path: Path) -> None:
    """End to end: unlabeled stills of one camera + tiny renders → a look + a FastCUT generator on the candidates,
    and a model card that says so."""
    frames, _ = synthetic_footage(n_frames=6)
    cam = tmp_path / "cam"
    cam.mkdir()
    for f in frames:
        Image.fromarray(f.rgb).save(cam / f"frame_{f.index:02d}.png")
    synth = make_fake_dataset(tmp_path / "renders", n_images=3, size=192)
    args = ["--real-frames", str(cam), "--synthetic", str(synth), "--resize-to", "256", "--steps", "3"]
    r = train(*args, "--out-dir", str(tmp_path / "train"), "--export", str(tmp_path / "model"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "18 person candidates from the footage: training the generator (fastcut)" in r.stderr
    _, card = load_model(tmp_path / "model")
    assert (card.crop_size, card.margin) == (128, 0.15)  # the geometry of the model it replaces (bundled default)
    with Image.open(tmp_path / "train" / "candidates.png") as sheet:  # what the generator learns from, to look at
        assert sheet.size == (8 * 130 + 2, 3 * 130 + 2)
    td = card.training_data
    assert card.look is not None and td["method"] == "fastcut" and td["steps"] == 3
    assert td["n_real_crops"] == 18 and td["generator_trained_on"].startswith("18 unlabeled person candidates")
    assert "frame_00.png" in td["generator_trained_on"] and td["candidates"][0]["used"] == 6
    assert json.loads(r.stdout.strip().splitlines()[-1])["generator"] == td["generator_trained_on"]

    few = train(*args, "--min-candidates", "50", "--out-dir", str(tmp_path / "train_few"))
    assert few.returncode == 0, few.stderr[-2000:]
    line = json.loads(few.stdout.strip().splitlines()[-1])["generator"]
    assert line.startswith("kept ") and "18 person candidates from the footage (< 50)" in line


def test_candidates_from_a_video_file(tmp_path: Path) -> None:
    """An MPEG-4 clip at 1 Mb/s (PyAV's default bitrate smears these 256 px frames so much that frames are lost)."""
    import av

    frames, truth = synthetic_footage(n_frames=5)
    with av.open(str(tmp_path / "clip.mp4"), "w") as box:
        st = box.add_stream("mpeg4", rate=1)
        st.width, st.height, st.pix_fmt, st.bit_rate = 256, 256, "yuv420p", 1_000_000
        for f in frames:
            for pkt in st.encode(av.VideoFrame.from_ndarray(f.rgb, format="rgb24")):
                box.mux(pkt)
        for pkt in st.encode():
            box.mux(pkt)
    footage = load_footage([tmp_path], resize_to=256, video_every_s=1.0, progress=False)
    assert [f.index for f in footage] == list(range(5)) and {f.camera for f in footage} == {str(tmp_path / "clip.mp4")}
    cands = find_candidates(footage).candidates
    found = [t for t in truth if any(iou(c.box, t.box) >= 0.6 for c in cands if c.frame_index == t.frame)]
    assert len(found) == len(truth) == len(cands)
