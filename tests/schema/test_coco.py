"""COCO export: RLE identical to pycocotools, and the export evaluates against itself with AP = 1."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from shared_schema.coco import coco_dataset, decode_rle, encode_rle, rotated_box_dataset
from shared_schema.dataset import DatasetPaths, atomic_write_text, complete_ids, write_indexes


@pytest.mark.parametrize("seed", range(6))
def test_rle_matches_pycocotools(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random((37, 53)) < rng.uniform(0.05, 0.95)
    mask[:, :3] = seed % 2 == 0  # start with a run of ones in some cases
    ours = encode_rle(mask)
    theirs = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert ours["counts"] == theirs["counts"].decode("ascii")
    assert ours["size"] == list(theirs["size"])
    np.testing.assert_array_equal(decode_rle(ours), mask)
    assert int(mask_utils.area(theirs)) == int(mask.sum())


def test_coco_export_loads_and_evaluates_to_ap_one(annotated_images, tmp_path) -> None:
    records = [(ann, f"images/{ann.image_id}.png") for ann, _ in annotated_images]
    coco = coco_dataset(records)
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(coco))
    n_persons = sum(1 for ann, _ in annotated_images for p in ann.persons if p.area > 0)
    assert len(coco["annotations"]) == n_persons
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        for ann in coco["annotations"]:
            ann_mask = gt.annToMask(ann)
            assert int(ann_mask.sum()) == ann["area"]
        for iou_type in ("segm", "bbox", "keypoints"):
            dets = [dict(a, score=1.0) for a in coco["annotations"]]
            dt = gt.loadRes(dets)
            ev = COCOeval(gt, dt, iou_type)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            assert ev.stats[0] == pytest.approx(1.0), iou_type


def test_bbox_in_export_is_the_mask_extent(annotated_images) -> None:
    for ann, inst in annotated_images:
        for person in ann.persons:
            rows, cols = np.nonzero(inst == person.instance_id)
            assert person.bbox == (cols.min(), rows.min(), cols.max() + 1 - cols.min(), rows.max() + 1 - rows.min())


def test_rotated_box_export(annotated_images) -> None:
    rb = rotated_box_dataset([(ann, f"{ann.image_id}.png") for ann, _ in annotated_images])
    for box in rb["annotations"]:
        _cx, _cy, w, h, angle = box["bbox"]
        assert h >= w and -90.0 <= angle < 90.0


def test_write_indexes_counts_only_complete_images(annotated_images, tmp_path) -> None:
    for ann, _ in annotated_images:
        paths = DatasetPaths(tmp_path, ann.image_id)
        atomic_write_text(paths.image, "png")
        atomic_write_text(paths.instances, "png")
        atomic_write_text(paths.annotation, ann.to_json())
    DatasetPaths(tmp_path, annotated_images[0][0].image_id).instances.unlink()  # incomplete image
    assert len(complete_ids(tmp_path)) == len(annotated_images) - 1
    counts = write_indexes(tmp_path)
    assert counts["images"] == len(annotated_images) - 1
    coco = json.loads((tmp_path / "coco.json").read_text())
    assert len({a["id"] for a in coco["annotations"]}) == len(coco["annotations"])
    assert not list(tmp_path.rglob("*.tmp"))
