"""An empty-room background ("clean plate") from frames of the user's camera by a per-pixel temporal median
(pure numpy): people who move are in a minority of the frames at any pixel, so the median shows the room.

Shared by the add-on (``blender_addon.clean_plate``: photo backgrounds) and the refiner's trainer
(``refine_server.training.candidates``: person candidates from unlabeled footage).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

__all__ = ["MAX_STACK_BYTES", "ROW_BLOCK", "ThinningBuffer", "check_frames", "even_indices", "temporal_median"]

#: Rows per block of the median (bounds the temporary memory of ``np.median``).
ROW_BLOCK = 64
#: Largest frame stack held in memory.
MAX_STACK_BYTES = 2 << 30


def even_indices(total: int, count: int) -> list[int]:
    """``count`` indices spread evenly over ``range(total)`` (all of them when ``total <= count``)."""
    if total <= 0 or count <= 0:
        return []
    if total <= count:
        return list(range(total))
    return [int(i) for i in np.linspace(0, total - 1, count).round().astype(int)]


class ThinningBuffer:
    """Keeps at most ``capacity`` frames evenly spread over a stream of unknown length: when full, every other
    kept frame is dropped and the stride doubles."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self.stride = 1
        self.frames: list[np.ndarray] = []
        self._seen = 0

    def offer(self, frame: np.ndarray) -> None:
        if self._seen % self.stride == 0:
            self.frames.append(frame)
            if len(self.frames) > self.capacity:
                self.frames = self.frames[::2]
                self.stride *= 2
        self._seen += 1


def check_frames(frames: list[np.ndarray]) -> tuple[int, int, int]:
    """(H, W, C) shared by every frame; raises ValueError on an empty list, mixed sizes or a huge stack."""
    if not frames:
        raise ValueError("no frames to make a clean plate from")
    shape = frames[0].shape
    if len(shape) != 3 or shape[2] not in (3, 4):
        raise ValueError(f"frames must be (H, W, 3) colour images, got {shape}")
    for i, f in enumerate(frames):
        if f.shape != shape:
            raise ValueError(f"frame {i} is {f.shape[1]}x{f.shape[0]}, the first is {shape[1]}x{shape[0]}")
    if len(frames) * frames[0].nbytes > MAX_STACK_BYTES:
        raise ValueError(
            f"{len(frames)} frames of {shape[1]}x{shape[0]} exceed {MAX_STACK_BYTES >> 20} MiB; use fewer frames"
        )
    return shape  # type: ignore[return-value]


def temporal_median(frames: Iterable[np.ndarray], progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Per-pixel median over frames (H, W, 3) uint8 -> uint8 (ties between the two middle values rounded)."""
    stack_list = [np.asarray(f)[..., :3] for f in frames]
    h, w, _ = check_frames(stack_list)
    stack = np.stack(stack_list)
    out = np.empty((h, w, 3), dtype=np.uint8)
    for r0 in range(0, h, ROW_BLOCK):
        block = np.median(stack[:, r0 : r0 + ROW_BLOCK], axis=0)
        out[r0 : r0 + ROW_BLOCK] = np.clip(np.rint(block), 0, 255).astype(np.uint8)
        if progress is not None:
            progress(min(ROW_BLOCK, h - r0))
    return out
