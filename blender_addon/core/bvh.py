"""A small BVH parser and forward kinematics (pure numpy)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class BVH:
    names: tuple[str, ...]
    parents: tuple[int, ...]  # -1 for the root; parents come before children
    offsets: np.ndarray  # (J, 3) file units
    channels: tuple[tuple[str, ...], ...]  # per joint, e.g. ("Xposition", ..., "Zrotation", "Xrotation", ...)
    channel_start: tuple[int, ...]
    frames: np.ndarray  # (F, C)
    frame_time: float

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    def index(self, name: str) -> int:
        return self.names.index(name)


def parse_bvh_text(text: str) -> BVH:
    tokens = text.split()
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    starts: list[int] = []
    stack: list[int] = []
    n_ch = 0
    i = 0
    last = -1
    while i < len(tokens):
        t = tokens[i]
        if t in ("ROOT", "JOINT"):
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            offsets.append([0.0, 0.0, 0.0])
            channels.append(())
            starts.append(n_ch)
            last = len(names) - 1
            i += 2
        elif t == "End":  # End Site { OFFSET x y z }
            i += 2
            depth = 0
            while True:
                if tokens[i] == "{":
                    depth += 1
                elif tokens[i] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            i += 1
        elif t == "{":
            stack.append(last)
            i += 1
        elif t == "}":
            stack.pop()
            i += 1
        elif t == "OFFSET":
            offsets[last] = [float(x) for x in tokens[i + 1 : i + 4]]
            i += 4
        elif t == "CHANNELS":
            n = int(tokens[i + 1])
            channels[last] = tuple(tokens[i + 2 : i + 2 + n])
            n_ch += n
            i += 2 + n
        elif t == "MOTION":
            n_frames = int(tokens[i + 2])
            frame_time = float(tokens[i + 5])
            data = np.array(tokens[i + 6 : i + 6 + n_frames * n_ch], dtype=np.float64).reshape(n_frames, n_ch)
            return BVH(
                tuple(names), tuple(parents), np.array(offsets), tuple(channels), tuple(starts), data, frame_time
            )
        else:
            i += 1
    raise ValueError("BVH: no MOTION section")


@lru_cache(maxsize=64)
def load_bvh(path: str | Path) -> BVH:
    return parse_bvh_text(Path(path).read_text(encoding="utf-8"))


def axis_rotation(axis: str, angle_rad: np.ndarray | np.floating | float) -> np.ndarray:
    """(..., 3, 3) rotation matrices about a principal axis (right-handed, column vectors)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    o, z = np.ones_like(c), np.zeros_like(c)
    if axis == "X":
        m = [[o, z, z], [z, c, -s], [z, s, c]]
    elif axis == "Y":
        m = [[c, z, s], [z, o, z], [-s, z, c]]
    else:
        m = [[c, -s, z], [s, c, z], [z, z, o]]
    return np.moveaxis(np.array(m), (0, 1), (-2, -1))


def local_rotations(bvh: BVH, frames: np.ndarray) -> np.ndarray:
    """(F, J, 3, 3) local rotations: channels applied in file order, R = R_c1 @ R_c2 @ R_c3."""
    data = bvh.frames[np.asarray(frames)]
    out = np.tile(np.eye(3), (len(data), len(bvh.names), 1, 1))
    for j, chans in enumerate(bvh.channels):
        for k, ch in enumerate(chans):
            if ch.endswith("rotation"):
                ang = np.radians(data[:, bvh.channel_start[j] + k])
                out[:, j] = out[:, j] @ axis_rotation(ch[0].upper(), ang)
    return out


def root_positions(bvh: BVH, frames: np.ndarray) -> np.ndarray:
    data = bvh.frames[np.asarray(frames)]
    pos = np.tile(bvh.offsets[0], (len(data), 1))
    for k, ch in enumerate(bvh.channels[0]):
        if ch.endswith("position"):
            pos[:, "XYZ".index(ch[0].upper())] = data[:, bvh.channel_start[0] + k]
    return pos


def forward_kinematics(bvh: BVH, frames) -> tuple[np.ndarray, np.ndarray]:
    """World rotations (F, J, 3, 3) and joint positions (F, J, 3) in the file's units and axes."""
    frames = np.atleast_1d(np.asarray(frames))
    loc = local_rotations(bvh, frames)
    rot = np.empty_like(loc)
    pos = np.empty((len(frames), len(bvh.names), 3))
    for j, p in enumerate(bvh.parents):
        if p < 0:
            rot[:, j] = loc[:, j]
            pos[:, j] = root_positions(bvh, frames)
        else:
            rot[:, j] = rot[:, p] @ loc[:, j]
            pos[:, j] = pos[:, p] + np.einsum("fij,j->fi", rot[:, p], bvh.offsets[j])
    return rot, pos
