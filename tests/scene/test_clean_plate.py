"""Clean plate: the temporal median removes people who move (pure core + the command on frames and video)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from blender_addon.core.clean_plate import ThinningBuffer, check_frames, even_indices, temporal_median
from blender_addon.core.png import encode_png, read_png

REPO = Path(__file__).resolve().parents[2]


def _room_and_frames(n: int = 9, size: int = 48) -> tuple[np.ndarray, list[np.ndarray]]:
    """A textured empty room and ``n`` frames with two 'people' walking across it."""
    yy, xx = np.mgrid[0:size, 0:size]
    room = np.stack([(xx * 5) % 256, (yy * 3) % 256, (xx + yy) % 256], axis=-1).astype(np.uint8)
    frames = []
    for t in range(n):
        f = room.copy()
        x = 2 + t * (size - 10) // n
        f[10:18, x : x + 6] = (250, 20, 20)
        f[30:38, size - 8 - x : size - 2 - x] = (10, 10, 10)
        frames.append(f)
    return room, frames


def test_median_recovers_the_empty_room():
    room, frames = _room_and_frames()
    assert any((f != room).any() for f in frames)
    rows = []
    plate = temporal_median(frames, progress=rows.append)
    assert plate.dtype == np.uint8 and (plate == room).all()
    assert sum(rows) == room.shape[0]


def test_frame_checks_are_clear():
    _room, frames = _room_and_frames(3)
    with pytest.raises(ValueError, match="no frames"):
        check_frames([])
    with pytest.raises(ValueError, match="frame 1 is"):
        check_frames([frames[0], frames[1][:10]])
    with pytest.raises(ValueError, match="colour images"):
        check_frames([frames[0][..., 0]])


def test_even_indices_and_thinning_spread_over_the_whole_stream():
    assert even_indices(5, 10) == [0, 1, 2, 3, 4]
    idx = even_indices(1000, 5)
    assert idx[0] == 0 and idx[-1] == 999 and len(idx) == 5
    buf = ThinningBuffer(8)
    for i in range(100):
        buf.offer(np.array(i))
    kept = [int(f) for f in buf.frames]
    assert 4 <= len(kept) <= 8 and kept[0] == 0 and kept[-1] >= 80
    assert len(set(np.diff(kept))) == 1  # evenly spaced


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "blender_addon.clean_plate", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def test_command_on_a_folder_of_frames(tmp_path):
    room, frames = _room_and_frames()
    (tmp_path / "frames").mkdir()
    for i, f in enumerate(frames):
        (tmp_path / "frames" / f"f{i:03d}.png").write_bytes(encode_png(f))
    out = tmp_path / "plate.png"
    proc = _run("--frames", str(tmp_path / "frames"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (read_png(out)[..., :3] == room).all()
    assert "median" in proc.stderr  # the tqdm bar
    bad = _run("--frames", str(tmp_path / "missing"), "--out", str(out))
    assert bad.returncode == 2 and "not a folder" in bad.stderr and "Traceback" not in bad.stderr
    assert _run("--help").returncode == 0


def test_command_on_a_video(tmp_path):
    av = pytest.importorskip("av")
    room, frames = _room_and_frames()
    video = tmp_path / "cam.mov"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("png", rate=5)
        stream.width, stream.height, stream.pix_fmt = room.shape[1], room.shape[0], "rgb24"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    out = tmp_path / "plate.png"
    proc = _run("--video", str(video), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (read_png(out)[..., :3] == room).all()
    (tmp_path / "junk.mkv").write_bytes(b"not a video")
    bad = _run("--video", str(tmp_path / "junk.mkv"), "--out", str(out))
    assert bad.returncode == 2 and "cannot decode" in bad.stderr and "Traceback" not in bad.stderr
