"""`train --real-frames`: fits a camera look on unlabeled stills + a video (no boxes; no one moves, so no person
candidates), keeps the generator, writes a model whose card carries the look in plain words; two different
"cameras" give different looks; bad input fails in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from refine_server.checkpoint import load_model
from refine_server.training.dataset import load_footage

from .conftest import make_fake_dataset

ROOT = Path(__file__).resolve().parents[2]


def fisheye_frame(seed: int, size: int, gains: tuple[float, float, float], sigma: float) -> np.ndarray:
    """A textured disc on black (an image circle) with a burnt-in white 'timestamp' box, colour cast and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    base = 110 + 40 * np.sin(xx / 9.0)[..., None] * np.array([1.0, 0.8, 0.6]) + 30 * np.cos(yy / 13.0)[..., None]
    img = base * np.array(gains) + rng.normal(0, sigma, (size, size, 3))
    img[np.hypot(xx - size / 2, yy - size / 2) > size * 0.48] = 0
    img[4:14, 4:60] = 255
    return img.clip(0, 255).astype(np.uint8)


def write_video(path: Path, frames: list[np.ndarray]) -> None:
    import av

    with av.open(str(path), "w") as box:
        st = box.add_stream("mpeg4", rate=1)
        st.width, st.height, st.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for f in frames:
            for pkt in st.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                box.mux(pkt)
        for pkt in st.encode():
            box.mux(pkt)


def camera_folder(root: Path, gains: tuple[float, float, float], sigma: float) -> Path:
    root.mkdir(parents=True)
    for s in range(2):
        Image.fromarray(fisheye_frame(s, 192, gains, sigma)).save(root / f"still_{s}.png")
    write_video(root / "clip.mp4", [fisheye_frame(10 + s, 192, gains, sigma) for s in range(3)])
    return root


def train(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "refine_server", "train", "--no-progress", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )


def test_footage_reader_masks_circle_and_overlay(tmp_path: Path) -> None:
    cam = camera_folder(tmp_path / "cam", (1.0, 1.0, 1.0), 3.0)
    frames = load_footage([cam], resize_to=96, overlays=[[4, 4, 60, 14]], video_every_s=1.0, progress=False)
    assert len(frames) == 5 and {f.rgb.shape for f in frames} == {(96, 96, 3)}
    m = frames[0].mask
    assert not m[0, 0] and m[48, 48] and not m[4, 10]  # outside the circle / overlay masked


def test_train_real_frames_fits_a_look_per_camera(tmp_path: Path) -> None:
    synth = make_fake_dataset(tmp_path / "renders", n_images=3, size=192)
    outs = {}
    for name, gains, sigma in (("warm", (1.15, 1.0, 0.85), 1.0), ("cool_noisy", (0.85, 1.0, 1.15), 8.0)):
        cam = camera_folder(tmp_path / name, gains, sigma)
        r = train(
            "--real-frames",
            str(cam),
            "--synthetic",
            str(synth),
            "--overlay",
            "4,4,60,14",
            "--resize-to",
            "192",
            "--out-dir",
            str(tmp_path / f"train_{name}"),
            "--export",
            str(tmp_path / f"model_{name}"),
        )
        assert r.returncode == 0, r.stderr[-2000:]
        _, card = load_model(tmp_path / f"model_{name}")
        assert card.look is not None and card.look.params is not None
        assert "noise σ ≈" in card.look.description and "clip.mp4#0" in card.look.fitted_on["real_frames"]
        assert card.training_data["generator_from"].endswith("models/default")
        outs[name] = card.look.params
        result = json.loads(r.stdout.strip().splitlines()[-1])
        assert result["model"] == str(tmp_path / f"model_{name}")
        assert "0 person candidates from the footage (< 16)" in result["generator"]  # no one moves: kept
    warm, cool = outs["warm"].gains_at_mid_grey(), outs["cool_noisy"].gains_at_mid_grey()
    assert warm[0] > warm[2] and cool[0] < cool[2]
    assert outs["cool_noisy"].noise_sigma(0.5) > 2 * outs["warm"].noise_sigma(0.5)


@pytest.mark.parametrize(
    "args, needle",
    [
        ((), "--config"),
        (("--real-frames", "/nonexistent_dir"), "no such file"),
        (("--real-frames", ".", "--overlay", "1,2,3"), "--overlay"),
    ],
)
def test_bad_input_is_one_line(args: tuple[str, ...], needle: str) -> None:
    r = train(*args)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
