"""Which background photo an image uses, and the obstacles drawn for that photo (pure, no bpy).

``background.photos`` is a folder (its image files sorted by name) or a list; image ``index`` uses photo
``index mod N``. A photo may carry a :class:`shared_schema.config.PhotoLayout` beside it, as
``<name>.<ext>.json`` or ``<name>.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared_schema.config import BackgroundConfig, PhotoLayout

PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".exr", ".tif", ".tiff", ".bmp", ".webp")
#: A layout file larger than this is refused (it holds a few polygons).
MAX_LAYOUT_BYTES = 1 << 20


@dataclass(frozen=True)
class PhotoChoice:
    """The photo of one image, its position in the cycle and its layout file (None when there is none)."""

    path: str
    index: int
    count: int
    layout_path: str | None
    layout: PhotoLayout | None


def list_photos(photos: str | list[str]) -> list[str]:
    """The cycle of photos: a folder's image files sorted by name, or the list as given."""
    if isinstance(photos, list):
        return list(photos)
    folder = Path(photos)
    if not folder.is_dir():
        raise FileNotFoundError(f"background.photos: {photos} is not a folder")
    found = sorted(str(p) for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    if not found:
        raise FileNotFoundError(f"background.photos: no image files ({', '.join(PHOTO_SUFFIXES)}) in {photos}")
    return found


def layout_file(photo: str) -> Path | None:
    p = Path(photo)
    for cand in (p.with_name(p.name + ".json"), p.with_suffix(".json")):
        if cand.is_file():
            return cand
    return None


def load_layout(path: Path) -> PhotoLayout:
    if path.stat().st_size > MAX_LAYOUT_BYTES:
        raise ValueError(f"{path}: photo layout larger than {MAX_LAYOUT_BYTES} bytes")
    try:
        return PhotoLayout.model_validate_json(path.read_bytes())
    except ValueError as exc:
        raise ValueError(f"{path}: bad photo layout: {exc}") from exc


def choose_photo(background: BackgroundConfig, index: int) -> PhotoChoice | None:
    """The photo image ``index`` uses (photo mode), with its layout; None in procedural mode."""
    if background.mode != "photo":
        return None
    cycle = [background.photo] if background.photo else list_photos(background.photos)  # type: ignore[arg-type]
    k = int(index) % len(cycle)
    lf = layout_file(cycle[k])
    return PhotoChoice(
        path=str(cycle[k]),
        index=k,
        count=len(cycle),
        layout_path=str(lf) if lf else None,
        layout=load_layout(lf) if lf else None,
    )
