"""Safe image decoding / encoding with limits (never trusts the client's bytes)."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageFile

from shared_schema.api import ErrorCode

ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageError(ValueError):
    """Decoding failed: ``code`` is the ErrorCode, ``field`` the request part."""

    def __init__(self, code: ErrorCode, message: str, field: str) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_bit_depth(data: bytes) -> int | None:
    """Bits per sample from a PNG's IHDR chunk (None when ``data`` is not a PNG with one)."""
    if data[:8] == _PNG_SIGNATURE and data[12:16] == b"IHDR" and len(data) >= 26:
        return data[24]
    return None


def _unsupported(field: str, what: str) -> ImageError:
    return ImageError(ErrorCode.UNSUPPORTED_IMAGE, f"{field}: {what}", field)


def _open_header(data: bytes, field: str, formats: tuple[str, ...], max_pixels: int) -> Image.Image:
    """Open without decoding pixels; the size from the header is checked against ``max_pixels``."""
    if not data:
        raise ImageError(ErrorCode.INVALID_IMAGE, f"{field}: empty file", field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=list(formats))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(ErrorCode.DECOMPRESSION_BOMB, f"{field}: decompression bomb ({e})", field) from e
    except Image.UnidentifiedImageError as e:
        raise ImageError(ErrorCode.INVALID_IMAGE, f"{field}: not a {'/'.join(formats)} image", field) from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(ErrorCode.INVALID_IMAGE, f"{field}: corrupt or truncated image ({e})", field) from e
    w, h = img.size
    if w <= 0 or h <= 0 or w * h > max_pixels:
        raise ImageError(
            ErrorCode.DECOMPRESSION_BOMB, f"{field}: {w}x{h} = {w * h} pixels exceeds the limit of {max_pixels}", field
        )
    return img


def probe_size(data: bytes, max_pixels: int, field: str, formats: tuple[str, ...] = ("PNG", "JPEG")) -> tuple[int, int]:
    """(width, height) from the header alone: a cheap check before any pixel is decompressed."""
    return _open_header(data, field, formats, max_pixels).size


def _open(data: bytes, field: str, formats: tuple[str, ...], max_pixels: int) -> Image.Image:
    img = _open_header(data, field, formats, max_pixels)
    try:
        img.load()
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(ErrorCode.INVALID_IMAGE, f"{field}: corrupt or truncated image ({e})", field) from e
    return img


def decode_rgb(data: bytes, max_pixels: int, field: str = "image") -> np.ndarray:
    """PNG/JPEG → uint8 (H, W, 3). RGBA drops its alpha. 16-bit PNGs and other modes (palette, grey, CMYK) are
    rejected with ``unsupported_image`` (422): the server never cuts 16 bits to 8 behind the client's back."""
    if _png_bit_depth(data) == 16:
        raise _unsupported(field, "16-bit PNG not supported (send 8 bits per channel, RGB or RGBA)")
    img = _open(data, field, ("PNG", "JPEG"), max_pixels)
    if img.mode == "RGBA":
        img = img.convert("RGB")
    if img.mode != "RGB":
        raise _unsupported(field, f"mode {img.mode} not supported (RGB or RGBA, 8-bit)")
    return np.array(img, dtype=np.uint8)


def decode_instances(data: bytes, max_pixels: int, field: str = "instances") -> np.ndarray:
    """Instance PNG (8-bit L or 16-bit I;16, 0 = background) → uint16 (H, W)."""
    img = _open(data, field, ("PNG",), max_pixels)
    if img.mode in ("L", "I;16", "I;16B", "I;16L"):
        arr = np.asarray(img)
    elif img.mode == "I":
        arr = np.asarray(img)
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise ImageError(ErrorCode.INVALID_IMAGE, f"{field}: instance ids must be in 0..65535", field)
    else:
        raise _unsupported(field, f"mode {img.mode} not supported (8-bit L or 16-bit grayscale PNG)")
    return arr.astype(np.uint16)


def instance_pixel_counts(imap: np.ndarray, chunk: int = 1 << 20) -> np.ndarray:
    """Pixels per instance id (index = id), counted in chunks (no full-size int64 copy of the map)."""
    flat = np.asarray(imap).reshape(-1)
    counts = np.zeros(1, np.int64)
    for i in range(0, flat.size, chunk):
        part = np.bincount(flat[i : i + chunk])
        if part.size > counts.size:
            part[: counts.size] += counts
            counts = part
        else:
            counts[: part.size] += part
    return counts


def encode_png(rgb: np.ndarray, compress_level: int = 1) -> bytes:
    """uint8 (H, W, 3) → PNG bytes (fast zlib level: lossless either way)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def encode_instances_png(imap: np.ndarray) -> bytes:
    """uint16 (H, W) → 16-bit grayscale PNG (tests, tools)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(imap, dtype=np.uint16)).save(buf, format="PNG")
    return buf.getvalue()
