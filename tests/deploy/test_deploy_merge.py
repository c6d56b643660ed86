"""shared_schema.merge: shard folders -> one dataset (fake shards: real SceneAnnotation JSON + tiny PNGs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shared_schema.annotation import Keypoint, Person, PoseSource, SceneAnnotation
from shared_schema.camera import CameraModel
from shared_schema.coco import encode_rle
from shared_schema.dataset import (
    DatasetPaths,
    atomic_write_bytes,
    atomic_write_text,
    complete_ids,
    image_id_for,
    load_annotations,
    write_indexes,
)
from shared_schema.merge import main, merge_shards

SIZE = 16
SEED = 7
REPO = Path(__file__).resolve().parents[2]


def _annotation(seed: int, index: int) -> SceneAnnotation:
    image_id = image_id_for(seed, index)
    persons = []
    for k in range(1, 1 + index % 3):  # 0, 1 or 2 persons
        mask = np.zeros((SIZE, SIZE), bool)
        mask[2 * k : 2 * k + 3, 3 : 3 + k + 2] = True
        persons.append(
            Person(
                instance_id=k,
                posture="standing" if k % 2 else "sitting",
                head_2d=(3.0 + k, 2.0 * k),
                head_3d=(0.1 * k, 0.2, 1.7),
                bbox=(3.0, 2.0 * k, k + 2.0, 3.0),
                rotated_box=(4.0, 2.0 * k + 1.5, 2.0, 3.0, 10.0 * k),
                keypoints=[Keypoint(x=3.0 + k, y=2.0 * k + i * 0.1, v=2) for i in range(17)],
                area=int(mask.sum()),
                segmentation=encode_rle(mask),
                visible_fraction=1.0,
                position=(0.1 * k, 0.2),
                pose=PoseSource(posture="standing" if k % 2 else "sitting"),
            )
        )
    return SceneAnnotation(
        image_id=image_id,
        width=SIZE,
        height=SIZE,
        seed=seed * 1000 + index,
        camera=CameraModel(width=SIZE, height=SIZE),
        persons=persons,
        generator={"version": "test"},
    )


def _png(value: int, mode: str = "RGB") -> bytes:
    import io

    if mode == "I;16":
        img = Image.fromarray(np.full((SIZE, SIZE), value, np.uint16))
    else:
        img = Image.fromarray(np.full((SIZE, SIZE, 3), value % 256, np.uint8))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _write_image(root: Path, seed: int, index: int, refined: bool = False) -> str:
    ann = _annotation(seed, index)
    paths = DatasetPaths(root, ann.image_id)
    atomic_write_bytes(paths.image, _png(index))
    atomic_write_bytes(paths.instances, _png(index % 3, "I;16"))
    if refined:
        atomic_write_bytes(paths.refined, _png(index + 100))
    atomic_write_text(paths.annotation, ann.to_json())
    return ann.image_id


def _shards(tmp: Path, count: int, n_shards: int, seed: int = SEED) -> list[Path]:
    dirs = []
    for k in range(n_shards):
        d = tmp / f"shard-{k}"
        d.mkdir()
        for i in range(k, count, n_shards):
            _write_image(d, seed, i, refined=(i % 2 == 0))
        write_indexes(d)
        dirs.append(d)
    return dirs


def test_merge_equals_single_run(tmp_path: Path) -> None:
    single = tmp_path / "single"
    for i in range(7):
        _write_image(single, SEED, i, refined=(i % 2 == 0))
    write_indexes(single)
    shards = _shards(tmp_path, 7, 3)

    report = merge_shards(shards, tmp_path / "merged", expect_count=7, seed=SEED)
    merged = tmp_path / "merged"
    assert report.complete and report.copied == 7
    assert complete_ids(merged) == [image_id_for(SEED, i) for i in range(7)]
    assert [a.to_json() for a in load_annotations(merged)] == [a.to_json() for a in load_annotations(single)]
    assert (merged / "coco.json").read_bytes() == (single / "coco.json").read_bytes()
    assert (merged / "rotated_boxes.json").read_bytes() == (single / "rotated_boxes.json").read_bytes()
    coco = json.loads((merged / "coco.json").read_text())
    assert len(coco["images"]) == 7
    assert len({a["id"] for a in coco["annotations"]}) == len(coco["annotations"]) > 0
    for i in range(7):
        iid = image_id_for(SEED, i)
        for sub in ("images", "instances"):
            assert (merged / sub / f"{iid}.png").read_bytes() == (single / sub / f"{iid}.png").read_bytes()
        assert (merged / "refined" / f"{iid}.png").is_file() == (i % 2 == 0)
    assert not list(merged.rglob("*.tmp"))

    # Idempotent: merging again copies nothing and changes nothing.
    again = merge_shards(shards, merged, expect_count=7, seed=SEED)
    assert again.copied == 0 and again.already_present == 7
    assert (merged / "coco.json").read_bytes() == (single / "coco.json").read_bytes()


def test_link_mode(tmp_path: Path) -> None:
    shards = _shards(tmp_path, 4, 2)
    merge_shards(shards, tmp_path / "m", link=True)
    iid = image_id_for(SEED, 0)
    assert (tmp_path / "m" / "images" / f"{iid}.png").samefile(shards[0] / "images" / f"{iid}.png")


def test_identical_duplicate_is_accepted(tmp_path: Path) -> None:
    shards = _shards(tmp_path, 4, 2)
    retry = tmp_path / "retry"
    _write_image(retry, SEED, 1, refined=False)  # shard 1 re-ran image 1 with the same result
    report = merge_shards([*shards, retry], tmp_path / "m", expect_count=4, seed=SEED)
    assert report.duplicates == 1 and report.complete


def test_conflicting_duplicate_is_refused_before_writing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    shards = _shards(tmp_path, 4, 2)
    other = tmp_path / "other"
    iid = _write_image(other, SEED, 1)
    atomic_write_bytes(DatasetPaths(other, iid).image, _png(200))
    out = tmp_path / "m"
    assert main([*map(str, shards), str(other), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"image id {iid}" in err and "different content" in err and "Traceback" not in err
    assert not out.exists()


def test_conflict_with_earlier_merge(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    shards = _shards(tmp_path, 4, 2)
    out = tmp_path / "m"
    assert main([*map(str, shards), "--out", str(out), "--quiet"]) == 0
    other = tmp_path / "other"
    iid = _write_image(other, SEED, 2)
    atomic_write_bytes(DatasetPaths(other, iid).instances, _png(9, "I;16"))
    assert main([str(other), "--out", str(out)]) == 2
    assert "already in" in capsys.readouterr().err


def test_missing_and_unexpected_ids_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    shards = _shards(tmp_path, 6, 3)
    DatasetPaths(shards[1], image_id_for(SEED, 4)).annotation.unlink()  # image 4 crashed before its annotation
    stray = tmp_path / "stray"
    _write_image(stray, SEED + 1, 0)
    out = tmp_path / "m"
    code = main([*map(str, shards), str(stray), "--out", str(out), "--expect-count", "6", "--seed", str(SEED)])
    err = capsys.readouterr().err
    assert code == 1
    assert "1 of 6 expected images missing" in err and image_id_for(SEED, 4) in err
    assert "incomplete image(s) skipped" in err
    assert "not of this run" in err and image_id_for(SEED + 1, 0) in err
    # What was complete is merged anyway, indexes included.
    assert len(complete_ids(out)) == 6
    assert len(json.loads((out / "coco.json").read_text())["images"]) == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}", "--out", "{out}"], "does not exist"),
        (["{empty}", "--out", "{out}"], "not a dataset folder"),
        (["{shard}", "--out", "{out}", "--expect-count", "3"], "go together"),
        (["{shard}", "{shard}", "--out", "{out}"], "given twice"),
        (["{shard}", "--out", "{shard}"], "output folder itself"),
        (["{bad}", "--out", "{out}"], "not a valid SceneAnnotation"),
        (["{renamed}", "--out", "{out}"], "file name says"),
    ],
)
def test_bad_input_gives_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], message: str):
    shard = _shards(tmp_path, 2, 1)[0]
    (tmp_path / "empty").mkdir()
    bad = tmp_path / "bad"
    iid = _write_image(bad, SEED, 0)
    DatasetPaths(bad, iid).annotation.write_text('{"image_id": 3}')
    renamed = tmp_path / "renamed"
    iid = _write_image(renamed, SEED, 0)
    for sub, suffix in (("images", "png"), ("instances", "png"), ("annotations", "json")):
        (renamed / sub / f"{iid}.{suffix}").rename(renamed / sub / f"{image_id_for(SEED, 5)}.{suffix}")
    names = {
        "missing": tmp_path / "nope",
        "empty": tmp_path / "empty",
        "out": tmp_path / "out",
        "shard": shard,
        "bad": bad,
        "renamed": renamed,
    }
    assert main([a.format(**names) for a in args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_cli_help_and_module_entry(tmp_path: Path) -> None:
    shards = _shards(tmp_path, 3, 3)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "shared_schema.merge",
            *map(str, shards),
            "--out",
            str(tmp_path / "m"),
            "--expect-count",
            "3",
            "--seed",
            str(SEED),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "3 images" in run.stdout
    helped = subprocess.run(
        [sys.executable, "-m", "shared_schema.merge", "--help"], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert helped.returncode == 0 and "--expect-count" in helped.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "shared_schema.merge", str(tmp_path / "x"), "--out", str(tmp_path / "y")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "merge: error:" in bad.stderr
