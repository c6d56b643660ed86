"""Make an empty-room background ("clean plate") from your camera's frames by a per-pixel temporal median.

    python -m blender_addon.clean_plate --frames DIR --out plate.png [--max-frames 50]
    python -m blender_addon.clean_plate --video FILE --out plate.png [--max-frames 50]

Frames (PNG/JPEG/... read with Pillow, sorted by name) or a video (PyAV: ``pip install av``) of the fixed camera;
at most ``--max-frames`` evenly spread frames are used. People must move: anyone who stands still in more
than half of the frames stays in the plate. Use the plate as ``background.photo`` (or in ``background.photos``).
Exit status: 0 written, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from blender_addon.core.clean_plate import ThinningBuffer, even_indices, temporal_median

FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
MAX_SIDE = 8192


class InputError(ValueError):
    """Bad input: reported as one line, exit status 2."""


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            if max(im.size) > MAX_SIDE:
                raise InputError(f"{path}: {im.size[0]}x{im.size[1]} is larger than {MAX_SIDE} px")
            return np.asarray(im.convert("RGB"))
    except OSError as exc:
        raise InputError(f"cannot read frame {path}: {exc}") from exc


def frames_from_folder(folder: Path, max_frames: int, tqdm) -> list[np.ndarray]:
    if not folder.is_dir():
        raise InputError(f"--frames {folder}: not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES)
    if not files:
        raise InputError(f"--frames {folder}: no image files ({', '.join(FRAME_SUFFIXES)})")
    chosen = [files[i] for i in even_indices(len(files), max_frames)]
    return [_read_image(p) for p in tqdm(chosen, desc="reading frames", unit="frame")]


def frames_from_video(path: Path, max_frames: int, tqdm) -> list[np.ndarray]:
    try:
        import av
    except ImportError as exc:
        raise InputError("--video needs PyAV: pip install av") from exc
    if not path.is_file():
        raise InputError(f"--video {path}: no such file")
    buf = ThinningBuffer(max_frames)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if max(stream.codec_context.width, stream.codec_context.height) > MAX_SIDE:
                raise InputError(f"{path}: frames larger than {MAX_SIDE} px")
            total = stream.frames or None
            for frame in tqdm(container.decode(stream), total=total, desc="decoding video", unit="frame"):
                buf.offer(frame.to_ndarray(format="rgb24"))
    except (av.error.FFmpegError, IndexError) as exc:
        raise InputError(f"cannot decode video {path}: {exc}") from exc
    return buf.frames


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m blender_addon.clean_plate", description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--frames", type=Path, help="folder of frames of the fixed camera")
    src.add_argument("--video", type=Path, help="video file of the fixed camera (needs PyAV)")
    p.add_argument("--out", type=Path, required=True, help="output PNG (written atomically)")
    p.add_argument("--max-frames", type=int, default=50, help="frames used, evenly spread (3..1000, default 50)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    from tqdm import tqdm

    from blender_addon.core.png import encode_png
    from shared_schema.dataset import atomic_write_bytes

    try:
        if not 3 <= a.max_frames <= 1000:
            raise InputError("--max-frames must be in 3..1000")
        if a.out.suffix.lower() != ".png":
            raise InputError("--out must be a .png file")
        frames = (
            frames_from_folder(a.frames, a.max_frames, tqdm)
            if a.frames is not None
            else frames_from_video(a.video, a.max_frames, tqdm)
        )
        if len(frames) < 3:
            raise InputError(f"only {len(frames)} frame(s): a median needs at least 3")
        with tqdm(total=frames[0].shape[0], desc="median", unit="row") as bar:
            plate = temporal_median(frames, progress=bar.update)
    except (InputError, ValueError) as exc:
        print(f"clean_plate: error: {exc}", file=sys.stderr)
        return 2
    atomic_write_bytes(a.out, encode_png(plate))
    print(f"clean_plate: wrote {a.out} ({plate.shape[1]}x{plate.shape[0]}, median of {len(frames)} frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
