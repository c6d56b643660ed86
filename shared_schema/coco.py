"""COCO and CEPDOF-style exports of a dataset of :class:`SceneAnnotation` records (numpy only).

RLE masks use pycocotools' compressed string format (column-major run lengths, LEB128-like text), written
here in pure Python so the export runs inside Blender's own Python too; tests check it against pycocotools.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .annotation import COCO_KEYPOINTS, COCO_SKELETON, SceneAnnotation

PERSON_CATEGORY: dict[str, Any] = {
    "id": 1,
    "name": "person",
    "supercategory": "person",
    "keypoints": list(COCO_KEYPOINTS),
    "skeleton": [list(edge) for edge in COCO_SKELETON],
}


def rle_counts(mask: np.ndarray) -> list[int]:
    """Column-major run lengths of a binary mask, starting with a (possibly empty) run of zeros."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    if flat.size == 0:
        return []
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat[0]:
        runs = [0, *runs]
    return [int(r) for r in runs]


def _counts_to_string(counts: list[int]) -> str:
    out: list[str] = []
    for i, count in enumerate(counts):
        x = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def _string_to_counts(text: str) -> list[int]:
    counts: list[int] = []
    p = 0
    while p < len(text):
        x = 0
        k = 0
        more = True
        while more:
            c = ord(text[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    """Compressed COCO RLE ``{"size": [h, w], "counts": str}`` of a binary mask."""
    h, w = mask.shape
    return {"size": [int(h), int(w)], "counts": _counts_to_string(rle_counts(mask))}


def decode_rle(rle: dict[str, Any]) -> np.ndarray:
    """Binary mask (h, w) of a compressed COCO RLE."""
    h, w = rle["size"]
    counts = _string_to_counts(rle["counts"]) if isinstance(rle["counts"], str) else list(rle["counts"])
    flat = np.zeros(h * w, dtype=bool)
    pos, value = 0, False
    for run in counts:
        if value:
            flat[pos : pos + run] = True
        pos += run
        value = not value
    return flat.reshape((h, w), order="F")


def coco_dataset(
    records: Iterable[tuple[SceneAnnotation, str]],
    *,
    description: str = "Render & Refine synthetic overhead-fisheye people",
) -> dict[str, Any]:
    """COCO person-keypoints dataset from ``(annotation, image file name)`` pairs.

    Image ids are assigned 1..N in the order given (sort records by ``image_id`` for stable output);
    annotation ids are ``image index * 1000 + instance id``, unique while an image has < 1000 persons.
    Persons with an empty visible mask are left out.
    """
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for index, (ann, file_name) in enumerate(records, start=1):
        images.append(
            {"id": index, "file_name": file_name, "width": ann.width, "height": ann.height, "r2_image_id": ann.image_id}
        )
        for person in ann.persons:
            if person.area <= 0 or person.segmentation is None:
                continue
            flat_kp: list[float] = []
            for kp in person.keypoints:
                flat_kp.extend([round(kp.x, 2), round(kp.y, 2), kp.v] if kp.v > 0 else [0, 0, 0])
            annotations.append(
                {
                    "id": index * 1000 + person.instance_id,
                    "image_id": index,
                    "category_id": 1,
                    "bbox": [round(v, 2) for v in person.bbox],
                    "area": int(person.area),
                    "segmentation": person.segmentation,
                    "iscrowd": 0,
                    "keypoints": flat_kp,
                    "num_keypoints": sum(1 for kp in person.keypoints if kp.v > 0),
                    "r2_instance_id": person.instance_id,
                }
            )
    return {
        "info": {"description": description, "version": "1.0"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [PERSON_CATEGORY],
    }


def rotated_box_dataset(records: Iterable[tuple[SceneAnnotation, str]]) -> dict[str, Any]:
    """CEPDOF-style JSON: ``bbox = [cx, cy, w, h, angle_deg]`` per person, plus the head point."""
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for index, (ann, file_name) in enumerate(records, start=1):
        images.append({"id": index, "file_name": file_name, "width": ann.width, "height": ann.height})
        for person in ann.persons:
            if person.area <= 0:
                continue
            annotations.append(
                {
                    "id": index * 1000 + person.instance_id,
                    "image_id": index,
                    "person_id": person.instance_id,
                    "bbox": [round(v, 3) for v in person.rotated_box],
                    "head": list(person.head_2d) if person.head_2d else None,
                }
            )
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}
