"""A synthetic overhead-fisheye "video": a static textured room with sensor noise, person-like blobs that move
between frames (body ellipse + head, head outward), a burnt-in timestamp that changes every frame (inside the image
circle) and a bright blob moving in the black surround (outside the circle)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refine_server.look.estimate import circle_mask
from refine_server.training.dataset import FootageFrame

#: Timestamp rectangle (x0, y0, x1, y1) of a 256 px frame, inside the image circle.
STAMP = (100, 12, 156, 24)


@dataclass(frozen=True)
class Truth:
    frame: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 exclusive


def _room(size: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    tex = 120 + 30 * np.sin(xx / 7.0) * np.cos(yy / 11.0) + rng.normal(0, 8, (size, size))
    room = np.stack([tex * 1.05, tex, tex * 0.9], axis=-1)
    return room


def _person(img: np.ndarray, cx: float, cy: float, size: int, colour: np.ndarray) -> tuple[int, int, int, int]:
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    c = size / 2.0
    a = np.arctan2(cx - c, -(cy - c))
    ux, uy = np.sin(a), -np.cos(a)
    L, W = size * 0.06, size * 0.03
    du, dv = (xx - cx) * ux + (yy - cy) * uy, (xx - cx) * -uy + (yy - cy) * ux
    body = (du / L) ** 2 + (dv / W) ** 2 <= 1
    head = (xx - cx - ux * L * 1.1) ** 2 + (yy - cy - uy * L * 1.1) ** 2 <= (W * 0.9) ** 2
    img[body] = colour
    img[head] = (40, 30, 25)
    rows, cols = np.nonzero(body | head)
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def _stamp(img: np.ndarray, t: int, rng: np.random.Generator) -> None:
    x0, y0, x1, y1 = STAMP
    img[y0:y1, x0:x1] = 10
    glyphs = rng.random(((y1 - y0 - 4) // 2, (x1 - x0 - 4) // 2)) < 0.5
    img[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2][np.kron(glyphs, np.ones((2, 2))) > 0] = 250


def synthetic_footage(
    n_frames: int = 6, size: int = 256, seed: int = 0, camera: str = "cam", room_gain: float = 1.0
) -> tuple[list[FootageFrame], list[Truth]]:
    """Frames (as ``load_footage`` gives them) and the true box of every person in every frame; ``room_gain``
    changes the room's brightness (another camera)."""
    rng = np.random.default_rng(seed)
    room = _room(size, rng) * room_gain
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    outside = np.hypot(xx - size / 2, yy - size / 2) > size * 0.48
    starts = [(0.27, 0.6), (0.25, 2.7), (0.27, 4.6)]  # (radius fraction, angle)
    frames, truth = [], []
    for t in range(n_frames):
        img = room + rng.normal(0, 3.0, room.shape)
        for k, (r, a) in enumerate(starts):
            ang = a + 0.35 * t  # all turn the same way: they never meet
            cx, cy = size / 2 + r * size * np.sin(ang), size / 2 - r * size * np.cos(ang)
            colour = np.array([(200, 60, 50), (40, 90, 180), (220, 210, 60)][k], float)
            truth.append(Truth(t, _person(img, cx, cy, size, colour)))
        img[outside] = 0
        bx = 4 + 5 * t
        img[size - 20 : size - 8, bx : bx + 10] = 255  # moving bright blob in the black surround
        rgb = img.clip(0, 255).astype(np.uint8)
        _stamp(rgb, t, rng)
        frames.append(FootageFrame(rgb, circle_mask(rgb), f"clip.mp4#{t}", index=t, camera=camera))
    return frames, truth


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0
