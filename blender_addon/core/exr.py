"""A small OpenEXR reader (numpy + zlib only) for the multilayer files Cycles writes.

Blender's Python has no OpenEXR module, and ``bpy.data.images`` exposes only one pass of a multilayer file,
so the renderer writes one uncompressed (or ZIP) scanline multilayer EXR and this module reads every channel.
Supports single- and multi-part scanline files with NONE, ZIPS and ZIP compression, HALF/FLOAT/UINT channels.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

_DTYPES: dict[int, np.dtype] = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}
_LINES_PER_CHUNK = {0: 1, 2: 1, 3: 16}


def _read_cstr(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.index(b"\0", pos)
    return buf[pos:end].decode("latin-1"), end + 1


def _parse_channels(value: bytes) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    pos = 0
    while pos < len(value) and value[pos] != 0:
        name, pos = _read_cstr(value, pos)
        ptype = struct.unpack_from("<i", value, pos)[0]
        pos += 16
        out.append((name, ptype))
    return out


def _unzip(data: bytes) -> bytes:
    raw = np.frombuffer(zlib.decompress(data), dtype=np.uint8)
    # undo the predictor: t[i] = t[i-1] + t[i] - 128
    t = (np.cumsum(np.concatenate([[int(raw[0])], raw[1:].astype(np.int64) - 128])) % 256).astype(np.uint8)
    half = (len(t) + 1) // 2
    out = np.empty_like(t)
    out[0::2] = t[:half]
    out[1::2] = t[half:]
    return out.tobytes()


def _read_header(buf: bytes, pos: int) -> tuple[dict[str, bytes], int]:
    attrs: dict[str, bytes] = {}
    while buf[pos] != 0:
        name, pos = _read_cstr(buf, pos)
        _type, pos = _read_cstr(buf, pos)
        size = struct.unpack_from("<i", buf, pos)[0]
        pos += 4
        attrs[name] = buf[pos : pos + size]
        pos += size
    return attrs, pos + 1


def read_exr(path: str | Path) -> dict[str, np.ndarray]:
    """Every channel of a scanline EXR as ``{name: (H, W) float32 array}``, rows top to bottom.

    Single-part files (Blender <= 4.x multilayer) and multi-part files (Blender 5.x writes one part per pass)
    are both read; channel names are the full ``<layer>.<pass>.<component>`` names."""
    buf = Path(path).read_bytes()
    if buf[:4] != b"\x76\x2f\x31\x01":
        raise ValueError(f"{path}: not an OpenEXR file")
    flags = struct.unpack_from("<I", buf, 4)[0]
    multipart = bool(flags & 0x1000)
    if flags & 0x200:
        raise ValueError(f"{path}: tiled EXR files are not supported")
    pos = 8
    headers: list[dict[str, bytes]] = []
    while True:
        attrs, pos = _read_header(buf, pos)
        headers.append(attrs)
        if not multipart or buf[pos] == 0:
            break
    if multipart:
        pos += 1
    parts = []
    for attrs in headers:
        if attrs.get("type", b"scanlineimage\0").rstrip(b"\0") not in (b"scanlineimage",):
            raise ValueError(f"{path}: only scanline EXR parts are supported")
        channels = _parse_channels(attrs["channels"])
        compression = attrs["compression"][0]
        if compression not in _LINES_PER_CHUNK:
            raise ValueError(f"{path}: EXR compression {compression} not supported (write NONE, ZIPS or ZIP)")
        xmin, ymin, xmax, ymax = struct.unpack("<4i", attrs["dataWindow"])
        width, height = xmax - xmin + 1, ymax - ymin + 1
        lines = _LINES_PER_CHUNK[compression]
        n_chunks = (height + lines - 1) // lines
        if "chunkCount" in attrs:
            n_chunks = struct.unpack("<i", attrs["chunkCount"])[0]
        offsets = struct.unpack_from(f"<{n_chunks}Q", buf, pos)
        pos += 8 * n_chunks
        parts.append((channels, compression, width, height, ymin, lines, offsets))
    out: dict[str, np.ndarray] = {}
    for channels, compression, width, height, ymin, lines, offsets in parts:
        arrays = {name: np.empty((height, width), dtype=np.float32) for name, _ in channels}
        skip = 4 if multipart else 0
        for off in offsets:
            y, size = struct.unpack_from("<ii", buf, off + skip)
            data = buf[off + skip + 8 : off + skip + 8 + size]
            row0 = y - ymin
            nrows = min(lines, height - row0)
            expected = nrows * width * sum(_DTYPES[t].itemsize for _, t in channels)
            if compression != 0 and size < expected:
                data = _unzip(data)
            p = 0
            for r in range(nrows):
                for name, ptype in channels:
                    dt = _DTYPES[ptype]
                    arrays[name][row0 + r] = np.frombuffer(data, dtype=dt, count=width, offset=p)
                    p += width * dt.itemsize
        out.update(arrays)
    return out


def find_channel(channels: dict[str, np.ndarray], stems: tuple[str, ...], component: str) -> np.ndarray | None:
    """The channel ``<layer>.<stem>.<component>`` for the first stem present (any view layer)."""
    for stem in stems:
        for name, arr in channels.items():
            parts = name.split(".")
            if len(parts) >= 2 and parts[-1] == component and parts[-2] == stem:
                return arr
            if len(parts) == 2 and parts[0] == stem and parts[1] == component:
                return arr
    return None
