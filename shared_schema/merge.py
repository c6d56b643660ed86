"""Merge shard outputs of a sharded render run into one dataset.

A run with seed ``S`` and ``--count N`` rendered as ``--shard k/K`` writes image index ``i`` (``i % K == k``) under
the id ``image_id_for(S, i)``, so the shards hold disjoint ids and merge by id::

    python -m shared_schema.merge out/shard-* --out out/merged --expect-count 1000 --seed 7

Every complete image of every shard (its annotation file exists, see :mod:`shared_schema.dataset`) is copied (or
hard-linked with ``--link``) into ``--out``, each file through a temporary name and a rename, the annotation last,
so a crashed merge never leaves a half-copied image that counts as complete. An id found in two places (two shards,
or a shard and an earlier merge in ``--out``) must have byte-identical files, otherwise the merge refuses before
writing anything. Then ``coco.json`` and ``rotated_boxes.json`` are rewritten from all annotations of ``--out``.

With ``--expect-count N --seed S`` the ids ``image_id_for(S, i)`` for ``i < N`` are expected: missing ones (and ids
outside that set) are listed and the exit status is 1, after the images that are there have been merged.

Exit status: 0 merged and complete; 1 merged but ids are missing or unexpected; 2 bad input, nothing written.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from .annotation import SceneAnnotation
from .dataset import (
    ANNOTATIONS,
    COCO_FILE,
    IMAGES,
    INSTANCES,
    REFINED,
    DatasetPaths,
    atomic_path,
    complete_ids,
    image_id_for,
    write_indexes,
)
from .validation import first_error

#: Per-image sub-folders in copy order; the annotation goes last (its presence marks the image complete).
_PARTS: tuple[str, ...] = (IMAGES, INSTANCES, REFINED, ANNOTATIONS)
_SUFFIX = {IMAGES: ".png", INSTANCES: ".png", REFINED: ".png", ANNOTATIONS: ".json"}


class MergeError(Exception):
    """Bad input or a conflict; the message is meant for the user (no traceback)."""


@dataclass
class MergeReport:
    merged: list[str] = field(default_factory=list)  # every complete id now in --out, sorted
    copied: int = 0  # images copied/linked by this call
    already_present: int = 0  # ids already in --out with identical files
    duplicates: int = 0  # ids found identically in more than one shard
    incomplete: dict[str, list[str]] = field(default_factory=dict)  # shard -> ids with files but no annotation
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # from write_indexes

    @property
    def complete(self) -> bool:
        return not self.missing and not self.unexpected


def _files(root: Path, image_id: str) -> dict[str, Path]:
    """The files of one image that exist in ``root`` (sub-folder name -> path)."""
    paths = {part: root / part / f"{image_id}{_SUFFIX[part]}" for part in _PARTS}
    return {part: p for part, p in paths.items() if p.is_file()}


def _same_files(a: dict[str, Path], b: dict[str, Path]) -> tuple[bool, str]:
    """Whether two images' file sets are byte-identical; else the first differing part."""
    for part in _PARTS:
        pa, pb = a.get(part), b.get(part)
        if pa is None and pb is None:
            continue
        if pa is None or pb is None:
            return False, f"{part}/ present in only one"
        if not filecmp.cmp(pa, pb, shallow=False):
            return False, f"{part}/ differs"
    return True, ""


def _incomplete_ids(root: Path) -> list[str]:
    """Ids with an image file but no annotation (a shard that crashed or is still running)."""
    folder = root / IMAGES
    if not folder.is_dir():
        return []
    done = set(complete_ids(root))
    return sorted(p.stem for p in folder.glob("*.png") if not p.name.startswith(".") and p.stem not in done)


def _check_annotation(root: Path, image_id: str) -> None:
    path = DatasetPaths(root, image_id).annotation
    try:
        ann = SceneAnnotation.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise MergeError(
            f"{path}: not a valid SceneAnnotation ({exc.error_count()} error(s); {first_error(exc)})"
        ) from None
    if ann.image_id != image_id:
        raise MergeError(f"{path}: annotation says image_id {ann.image_id!r}, file name says {image_id!r}")


def _place(src: Path, dst: Path, link: bool) -> None:
    """Copy (or hard-link) ``src`` to ``dst`` through a temporary name in ``dst``'s folder and a rename."""
    with atomic_path(dst) as tmp:
        if link:
            tmp.unlink()
            try:
                os.link(src, tmp)
                return
            except OSError:  # other file system, or links not supported: fall back to a copy
                pass
        shutil.copyfile(src, tmp)


def _short(ids: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f", ... ({len(ids) - limit} more)" if len(ids) > limit else "")


def _check_inputs(shard_dirs: list[Path], out: Path, expect_count: int | None, seed: int | None) -> None:
    """Raise :class:`MergeError` for bad arguments or folders (before anything is read or written)."""
    if (expect_count is None) != (seed is None):
        raise MergeError("--expect-count and --seed go together (expected ids are image_id_for(seed, i), i < count)")
    if expect_count is not None and expect_count < 0:
        raise MergeError("--expect-count must be >= 0")
    if seed is not None and seed < 0:
        raise MergeError("--seed must be >= 0")
    if not shard_dirs:
        raise MergeError("no shard folders given")
    if out.exists() and not out.is_dir():
        raise MergeError(f"--out {out} exists and is not a folder")
    seen_dirs: set[Path] = set()
    for s in shard_dirs:
        if not s.is_dir():
            raise MergeError(f"shard folder {s} does not exist or is not a folder")
        resolved = s.resolve()
        if out.exists() and resolved == out.resolve():
            raise MergeError(f"shard folder {s} is the output folder itself")
        if resolved in seen_dirs:
            raise MergeError(f"shard folder {s} given twice")
        seen_dirs.add(resolved)
        if not (s / ANNOTATIONS).is_dir() and not (s / IMAGES).is_dir():
            raise MergeError(f"{s} is not a dataset folder (no {ANNOTATIONS}/ or {IMAGES}/ inside)")


def _collect_sources(shard_dirs: list[Path], report: MergeReport) -> dict[str, tuple[Path, dict[str, Path]]]:
    """id -> (shard, files) of its first complete occurrence; later occurrences must be identical."""
    sources: dict[str, tuple[Path, dict[str, Path]]] = {}
    for s in shard_dirs:
        incomplete = _incomplete_ids(s)
        if incomplete:
            report.incomplete[str(s)] = incomplete
        for image_id in complete_ids(s):
            _check_annotation(s, image_id)
            files = _files(s, image_id)
            if image_id in sources:
                first, first_files = sources[image_id]
                same, why = _same_files(first_files, files)
                if not same:
                    raise MergeError(
                        f"image id {image_id} is in both {first} and {s} with different content "
                        f"({why}); nothing was written"
                    )
                report.duplicates += 1
                continue
            sources[image_id] = (s, files)
    return sources


def _plan_copies(
    sources: dict[str, tuple[Path, dict[str, Path]]], out: Path, report: MergeReport
) -> list[tuple[str, dict[str, Path]]]:
    """The (id, files) not yet in ``out``; ids already merged into ``out`` earlier must agree."""
    to_copy: list[tuple[str, dict[str, Path]]] = []
    for image_id, (s, files) in sorted(sources.items()):
        existing = _files(out, image_id) if out.is_dir() else {}
        if ANNOTATIONS in existing:
            same, why = _same_files(existing, files)
            if not same:
                raise MergeError(
                    f"image id {image_id} from {s} is already in {out} with different content "
                    f"({why}); nothing was written"
                )
            report.already_present += 1
            continue
        to_copy.append((image_id, files))
    return to_copy


def merge_shards(
    shards: Iterable[str | Path],
    out: str | Path,
    *,
    expect_count: int | None = None,
    seed: int | None = None,
    link: bool = False,
) -> MergeReport:
    """Merge the complete images of ``shards`` into ``out`` and rewrite its indexes (see the module docstring).

    Raises :class:`MergeError` on bad input or conflicting duplicates, before anything is written.
    """
    out = Path(out)
    shard_dirs = [Path(s) for s in shards]
    _check_inputs(shard_dirs, out, expect_count, seed)
    report = MergeReport()
    to_copy = _plan_copies(_collect_sources(shard_dirs, report), out, report)
    out.mkdir(parents=True, exist_ok=True)
    for image_id, files in to_copy:
        for part in _PARTS:  # annotation last
            if part in files:
                _place(files[part], out / part / f"{image_id}{_SUFFIX[part]}", link)
        report.copied += 1
    report.counts = write_indexes(out)
    report.merged = complete_ids(out)
    _check_coco_ids(out)
    if expect_count is not None and seed is not None:
        expected = {image_id_for(seed, i) for i in range(expect_count)}
        have = set(report.merged)
        report.missing = sorted(expected - have)
        report.unexpected = sorted(have - expected)
    return report


def _check_coco_ids(out: Path) -> None:
    """The written coco.json must have unique image and annotation ids (a dataset, not a concatenation)."""
    import json

    coco = json.loads((out / COCO_FILE).read_text(encoding="utf-8"))
    for key in ("images", "annotations"):
        ids = [item["id"] for item in coco.get(key, [])]
        if len(ids) != len(set(ids)):
            dup = sorted({i for i in ids if ids.count(i) > 1})[:10]
            raise MergeError(f"{out / COCO_FILE}: duplicate {key} ids {dup}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m shared_schema.merge",
        description="Merge the shard folders of a sharded render run (--shard i/N) into one dataset with one "
        "coco.json. Exit status: 0 complete, 1 merged but ids missing/unexpected, 2 bad input (nothing written).",
    )
    p.add_argument("shards", nargs="+", metavar="SHARD_DIR", help="dataset folders written by render_batch shards")
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="merged dataset folder (created; may hold an earlier merge, whose images must then agree)",
    )
    p.add_argument("--expect-count", type=int, metavar="N", help="images the whole run rendered (its --count)")
    p.add_argument("--seed", type=int, metavar="S", help="the run's --seed (with --expect-count)")
    p.add_argument("--link", action="store_true", help="hard-link files instead of copying (same file system)")
    p.add_argument("--quiet", action="store_true", help="print errors only")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        report = merge_shards(args.shards, args.out, expect_count=args.expect_count, seed=args.seed, link=args.link)
    except MergeError as exc:
        print(f"merge: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"merge: error: {exc.strerror or exc} ({exc.filename or ''})", file=sys.stderr)
        return 2
    for shard, ids in report.incomplete.items():
        print(
            f"merge: warning: {shard}: {len(ids)} incomplete image(s) skipped (no annotation): {_short(ids)}",
            file=sys.stderr,
        )
    if not args.quiet:
        print(
            f"merge: {len(report.merged)} images in {args.out} ({report.copied} copied, {report.already_present} "
            f"already there, {report.duplicates} identical duplicates); coco.json: "
            f"{report.counts.get('images', 0)} images, {report.counts.get('annotations', 0)} annotations"
        )
    status = 0
    if report.missing:
        print(
            f"merge: error: {len(report.missing)} of {args.expect_count} expected images missing: "
            f"{_short(report.missing)} (re-run the shards that own them: index i is in shard i % N)",
            file=sys.stderr,
        )
        status = 1
    if report.unexpected:
        print(
            f"merge: error: {len(report.unexpected)} images not of this run (seed {args.seed}, count "
            f"{args.expect_count}): {_short(report.unexpected)}",
            file=sys.stderr,
        )
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
