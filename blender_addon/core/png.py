"""Minimal PNG encode/decode (numpy + zlib), so Blender's own Python needs no PIL.

Writes 8-bit gray/RGB/RGBA and 16-bit gray; reads any non-interlaced 8/16-bit gray/RGB/RGBA PNG.
Output is deterministic (same array ⇒ same bytes).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

_SIG = b"\x89PNG\r\n\x1a\n"
_COLOR = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type
_CHANNELS = {0: 1, 4: 2, 2: 3, 6: 4}


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def encode_png(array: np.ndarray, *, level: int = 6, srgb: bool = False) -> bytes:
    """PNG bytes of a (H, W), (H, W, C) uint8 or (H, W) uint16 array."""
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[:, :, None]
    h, w, c = a.shape
    if a.dtype == np.uint16:
        depth, raw = 16, a.astype(">u2")
    elif a.dtype == np.uint8:
        depth, raw = 8, a
    else:
        raise TypeError(f"encode_png: uint8 or uint16 expected, got {a.dtype}")
    rows = np.ascontiguousarray(raw).reshape(h, -1).view(np.uint8)
    data = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, depth, _COLOR[c], 0, 0, 0)
    out = _SIG + _chunk(b"IHDR", ihdr)
    if srgb:
        out += _chunk(b"sRGB", b"\x00")
    return out + _chunk(b"IDAT", zlib.compress(data, level)) + _chunk(b"IEND", b"")


def decode_png(data: bytes) -> np.ndarray:
    """(H, W, C) uint8/uint16 array of a PNG."""
    if data[:8] != _SIG:
        raise ValueError("not a PNG file")
    pos, idat = 8, []
    w = h = depth = ctype = 0
    while pos < len(data):
        (n,) = struct.unpack_from(">I", data, pos)
        tag = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + n]
        pos += 12 + n
        if tag == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if interlace or depth not in (8, 16) or ctype not in _CHANNELS:
                raise ValueError("unsupported PNG (interlaced, palette or < 8 bit)")
        elif tag == b"IDAT":
            idat.append(body)
        elif tag == b"IEND":
            break
    c = _CHANNELS[ctype]
    bpp = c * depth // 8
    stride = w * bpp
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(h, stride + 1)
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.uint8)
    for y in range(h):
        f, line = raw[y, 0], raw[y, 1:].copy()
        if f == 1:
            for x in range(bpp, stride, bpp):
                line[x : x + bpp] += line[x - bpp : x]
        elif f == 2:
            line += prev
        elif f == 3:
            for x in range(stride):
                left = int(line[x - bpp]) if x >= bpp else 0
                line[x] = (int(line[x]) + ((left + int(prev[x])) >> 1)) & 0xFF
        elif f == 4:
            for x in range(stride):
                left = int(line[x - bpp]) if x >= bpp else 0  # Paeth predictor on plain ints
                up = int(prev[x])
                up_left = int(prev[x - bpp]) if x >= bpp else 0
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
                line[x] = (int(line[x]) + pred) & 0xFF
        out[y] = line
        prev = line
    if depth == 16:
        return out.view(">u2").astype(np.uint16).reshape(h, w, c)
    return out.reshape(h, w, c)


def read_png(path: str | Path) -> np.ndarray:
    return decode_png(Path(path).read_bytes())


def linear_to_srgb8(rgb: np.ndarray) -> np.ndarray:
    """Linear float RGB to 8-bit sRGB (the 'Standard' view transform), rounded."""
    x = np.clip(np.asarray(rgb, dtype=np.float32), 0.0, 1.0)
    s = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055)
    return np.clip(np.round(s * 255.0), 0, 255).astype(np.uint8)


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    x = np.asarray(srgb, dtype=np.float32)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4)).astype(np.float32)
