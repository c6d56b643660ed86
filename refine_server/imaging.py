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


def _open(data: bytes, field: str, formats: tuple[str, ...], max_pixels: int) -> Image.Image:
    if not data:
        raise ImageError(ErrorCode.INVALID_IMAGE, f"{field}: empty file", field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=list(formats))
            w, h = img.size  # header only: checked before any pixel is decompressed
            if w <= 0 or h <= 0 or w * h > max_pixels:
                raise ImageError(ErrorCode.DECOMPRESSION_BOMB,
                                 f"{field}: {w}x{h} = {w * h} pixels exceeds the limit of {max_pixels}", field)
            img.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(ErrorCode.DECOMPRESSION_BOMB, f"{field}: decompression bomb ({e})", field) from e
    except Image.UnidentifiedImageError as e:
        raise ImageError(ErrorCode.INVALID_IMAGE, f"{field}: not a {'/'.join(formats)} image", field) from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(ErrorCode.INVALID_IMAGE, f"{field}: corrupt or truncated image ({e})", field) from e
    return img


def decode_rgb(data: bytes, max_pixels: int, field: str = "image") -> np.ndarray:
    """PNG/JPEG → uint8 (H, W, 3). RGBA drops its alpha; 16-bit or palette images are rejected."""
    img = _open(data, field, ("PNG", "JPEG"), max_pixels)
    if img.mode == "RGBA":
        img = img.convert("RGB")
    if img.mode != "RGB":
        raise ImageError(ErrorCode.INVALID_IMAGE, f"{field}: mode {img.mode} not supported (RGB or RGBA, 8-bit)",
                         field)
    return np.asarray(img, dtype=np.uint8).copy()


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
        raise ImageError(ErrorCode.INVALID_IMAGE,
                         f"{field}: mode {img.mode} not supported (8-bit L or 16-bit grayscale PNG)", field)
    return arr.astype(np.uint16)


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
