"""On-disk dataset layout and crash-safe writes.

```
DIR/
  images/<id>.png        8-bit sRGB render
  instances/<id>.png     16-bit instance ids (0 = background, k = person k)
  annotations/<id>.json  SceneAnnotation (written last: its presence marks the image complete)
  refined/<id>.png       refined image (when a refinement server was used)
  coco.json              COCO person-keypoints export of every complete image
  rotated_boxes.json     CEPDOF-style rotated boxes
  report.html            visual contact sheet
```
Every file is written to a temporary name in the same folder and renamed into place, so a crash never leaves
a truncated file under a final name; an image counts as complete only once its annotation file exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .annotation import SceneAnnotation
from .coco import coco_dataset, rotated_box_dataset

IMAGES, INSTANCES, ANNOTATIONS, REFINED = "images", "instances", "annotations", "refined"
COCO_FILE, ROTATED_FILE, REPORT_FILE = "coco.json", "rotated_boxes.json", "report.html"


def _default_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


#: Fault-test seam: when set, called as ``hook(tmp, final)`` after the data is in the temporary file and before
#: it is fsynced and renamed (tests/scene/test_crash_safety.py pauses a writer here and SIGKILLs it). Never set
#: in production.
FAULT_HOOK: Callable[[Path, Path], None] | None = None


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsynced, given the usual file mode and renamed
    onto ``path``; on failure it is removed. Readers only ever see the old file or the complete new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if FAULT_HOOK is not None:
            FAULT_HOOK(tmp, path)
        if tmp.exists():
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            if tmp.stat().st_nlink == 1:  # not a hard link to someone else's file
                os.chmod(tmp, _default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, fsync, rename)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=False) + "\n")


@dataclass(frozen=True)
class DatasetPaths:
    """Paths of one image in a dataset folder."""

    root: Path
    image_id: str

    @property
    def image(self) -> Path:
        return self.root / IMAGES / f"{self.image_id}.png"

    @property
    def instances(self) -> Path:
        return self.root / INSTANCES / f"{self.image_id}.png"

    @property
    def annotation(self) -> Path:
        return self.root / ANNOTATIONS / f"{self.image_id}.json"

    @property
    def refined(self) -> Path:
        return self.root / REFINED / f"{self.image_id}.png"

    @property
    def render_files(self) -> tuple[Path, Path, Path]:
        """The three files one render writes: image, instances, annotation (written last)."""
        return (self.image, self.instances, self.annotation)

    def is_complete(self) -> bool:
        """True when the render's three files exist (the annotation is written last)."""
        return all(p.is_file() for p in self.render_files)


def image_id_for(seed: int, index: int) -> str:
    """Image id of the ``index``-th image of a run started with ``seed`` (the image's own seed is derived)."""
    return f"{seed:06d}_{index:06d}"


def complete_ids(root: str | Path) -> list[str]:
    """Sorted ids of the complete images in a dataset folder."""
    root = Path(root)
    folder = root / ANNOTATIONS
    if not folder.is_dir():
        return []
    ids = [p.stem for p in folder.glob("*.json") if not p.name.startswith(".")]
    return sorted(i for i in ids if DatasetPaths(root, i).is_complete())


def load_annotations(root: str | Path) -> list[SceneAnnotation]:
    """Every complete image's annotation, sorted by image id."""
    root = Path(root)
    return [
        SceneAnnotation.model_validate_json(DatasetPaths(root, i).annotation.read_bytes()) for i in complete_ids(root)
    ]


def write_indexes(root: str | Path) -> dict[str, int]:
    """(Re)write ``coco.json`` and ``rotated_boxes.json`` from the annotation files; returns counts."""
    root = Path(root)
    anns = load_annotations(root)
    records = [(a, f"{IMAGES}/{a.image_id}.png") for a in anns]
    coco = coco_dataset(records)
    atomic_write_json(root / COCO_FILE, coco)
    atomic_write_json(root / ROTATED_FILE, rotated_box_dataset(records))
    return {"images": len(coco["images"]), "annotations": len(coco["annotations"])}
