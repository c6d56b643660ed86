"""Orchestration shared by ``render_batch.py`` and the N-panel operators.

* :func:`build_scene` — a Blender scene from a SceneConfig and an image seed (collision-checked people).
* :func:`render_and_annotate` — one render ⇒ ``images/<id>.png``, ``instances/<id>.png``,
  ``annotations/<id>.json`` (each written atomically; the annotation last marks the image complete).
* :func:`run_batch` — many images, sharded by index, resumable, optionally refined by a server.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shared_schema import __version__ as SCHEMA_PKG_VERSION
from shared_schema.annotation import Background, GeneratorInfo, Lighting, Obstacle, RenderInfo, SceneAnnotation
from shared_schema.dataset import (
    ANNOTATIONS,
    IMAGES,
    INSTANCES,
    REFINED,
    DatasetPaths,
    atomic_write_bytes,
    image_id_for,
    write_indexes,
)
from shared_schema.distributions import rng_for

from .core.annotate import PersonInfo, persons_from_render
from .core.placement import PlacementError
from .scene.png import encode_png

#: After a failed refinement, finished renders are queued (not sent) for this long, then retried at the end.
REFINE_PAUSE_S = 60.0

__all__ = [
    "BatchResult",
    "PlacementError",
    "build_scene",
    "image_seed",
    "render_and_annotate",
    "run_batch",
    "shard_indices",
]


def image_seed(run_seed: int, index: int) -> int:
    """The seed of the ``index``-th image of a run: depends only on (run seed, index)."""
    return int(rng_for(run_seed, "image", index).integers(0, 2**31 - 1))


def shard_indices(count: int, shard: tuple[int, int]) -> list[int]:
    i, n = shard
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"bad shard {i}/{n}: need 0 <= i < N")
    return [k for k in range(count) if k % n == i]


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return round(v, 6) if math.isfinite(v) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    return str(x)


def config_sha256(config) -> str:
    return hashlib.sha256(config.dump().encode("utf-8")).hexdigest()


def build_scene(config, seed: int, *, index: int = 0, resolution: int | None = None, samples: int | None = None):
    """Build the scene of image ``index`` (it picks the background photo) from its ``seed`` (imports bpy).
    Returns a :class:`blender_addon.scene.builder.BuiltScene`."""
    import bpy  # noqa: F401  (must precede bmesh, which builder imports)

    from .scene.builder import build

    return build(config, seed, index=index, resolution=resolution, samples=samples)


def _person_info(k: int, handle, meta: dict) -> PersonInfo:
    sampled = _jsonable(dict(getattr(handle, "sampled", {}) or {}))
    phenotype = sampled.pop("phenotype", None)
    appearance = sampled.pop("appearance", {})
    pose_extra = sampled.pop("pose", {})
    if phenotype is None:
        phenotype, sampled = sampled, {}
    pose = {"yaw_deg": meta["yaw_deg"], "seat": meta["seat"], "seat_height": meta["seat_height"],
            "placement_tries": meta["placement_tries"], "mesh_checks": meta.get("mesh_checks", 1)}  # fmt: skip
    if isinstance(pose_extra, dict):
        pose.update(pose_extra)
    if sampled:
        appearance = {**(appearance or {}), **sampled}
    return PersonInfo(
        instance_id=k, posture=meta["posture"], position=meta["position"],
        head_3d=tuple(float(v) for v in handle.head_3d),
        keypoints_3d=[tuple(float(v) for v in p) for p in handle.keypoints_3d],
        pose=_jsonable(pose), phenotype=phenotype or {}, appearance=appearance or {},
    )  # fmt: skip


def annotate_built(built, inst: np.ndarray, image_id: str, areas: list[int] | None = None) -> SceneAnnotation:
    """The SceneAnnotation of a rendered built scene from its instance map (pure, no render)."""
    infos = []
    for k, (handle, meta) in enumerate(zip(built.persons, built.person_meta, strict=True), start=1):
        info = _person_info(k, handle, meta)
        if areas is not None:
            info.unoccluded_area = int(areas[k - 1])
        infos.append(info)
    persons = persons_from_render(built.camera, inst, infos)
    cfg = built.config
    try:
        import bpy

        bver = bpy.app.version_string
    except Exception:  # pragma: no cover
        bver = ""
    return SceneAnnotation(
        image_id=image_id, width=built.camera.width, height=built.camera.height, seed=built.seed,
        camera=built.camera, persons=persons,
        obstacles=[Obstacle(name=o.name, kind=o.kind, polygon=[(round(x, 6), round(y, 6)) for x, y in o.polygon],
                            height=o.height, seat_height=o.seat_height) for o in built.obstacles],
        lighting=Lighting(**built.lighting),
        background=Background(**_jsonable(built.background)),
        render=RenderInfo(samples=built.samples, denoise=built.denoise, motion_blur=bool(cfg.render.motion_blur),
                          device=built.device, blender_version=bver, frame=built.frame),
        generator=GeneratorInfo(version=SCHEMA_PKG_VERSION, config_name=cfg.name, config_sha256=config_sha256(cfg)),
        sampled=_jsonable(built.sampled),
    )  # fmt: skip


def render_and_annotate(built, out_dir: str | Path, image_id: str) -> SceneAnnotation:
    """Render ``built`` once, write image, instance map and annotation atomically, return the annotation."""
    from .scene.render import composite, instance_map, render_passes, unoccluded_areas

    paths = DatasetPaths(Path(out_dir), image_id)
    passes = render_passes(built)
    t0 = time.perf_counter()
    rgb = composite(built, passes)
    inst = instance_map(built, passes)
    areas = unoccluded_areas(built)
    ann = annotate_built(built, inst, image_id, areas)
    atomic_write_bytes(paths.image, encode_png(rgb, srgb=True))
    atomic_write_bytes(paths.instances, encode_png(inst))
    atomic_write_bytes(paths.annotation, ann.to_json().encode("utf-8"))
    built.timings["annotation_s"] = time.perf_counter() - t0 + built.timings.get("read_passes_s", 0.0)
    return ann


@dataclass
class BatchResult:
    out: Path
    ids: list[str] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    refined: list[str] = field(default_factory=list)
    refine_failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> dict[str, Any]:
        return {"out": str(self.out), "images": len(self.ids), "rendered": len(self.rendered),
                "skipped": len(self.skipped), "failed": self.failed, "refined": len(self.refined),
                "refine_failed": self.refine_failed, "seconds": round(self.seconds, 2)}  # fmt: skip


#: A temporary file older than this is a leftover of a killed run (a write takes milliseconds); younger ones may
#: belong to another shard writing into the same folder right now.
STALE_TEMP_S = 120.0


def clean_stale_temps(out: Path, older_than_s: float = STALE_TEMP_S) -> int:
    """Remove temporary files a killed run left behind (``.<name>.*.tmp``); returns how many.
    They never count as outputs (hidden names; an image is complete only once its annotation exists)."""
    n = 0
    now = time.time()
    for sub in (IMAGES, INSTANCES, ANNOTATIONS, REFINED, ""):
        folder = out / sub if sub else out
        if folder.is_dir():
            for p in folder.glob(".*.tmp"):
                try:
                    if now - p.stat().st_mtime >= older_than_s:
                        p.unlink()
                        n += 1
                except FileNotFoundError:
                    pass
    return n


def refine_stored(client, paths: DatasetPaths):
    """POST one stored render (image, instances, annotations) and write ``refined/<id>.png``; returns the client's
    result. The synthetic files are only read; a server answer with different annotations writes nothing."""
    for p in paths.render_files:
        if not p.is_file():
            raise FileNotFoundError(f"missing render output {p}")
    annotations = paths.annotation.read_bytes()
    res = client.refine(paths.image.read_bytes(), paths.instances.read_bytes(), annotations)
    if res.annotations != annotations:
        raise RuntimeError("the server returned different annotations; refined image not written")
    atomic_write_bytes(paths.refined, res.image_png)
    return res


def make_refine_client(url: str, token: str | None = None):
    try:
        from refine_server.client import RefineClient
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            f"--refine-url needs refine_server.client (and requests) importable in this Python: {exc}"
        ) from exc
    return RefineClient(url, token=token)


def run_batch(
    config,
    count: int,
    seed: int,
    out: str | Path,
    shard: tuple[int, int] = (0, 1),
    refine_url: str | None = None,
    token: str | None = None,
    resume: bool = True,
    progress: Callable[[dict[str, Any]], None] | None = None,
    *,
    resolution: int | None = None,
    samples: int | None = None,
    report: bool = True,
    refine_rounds: int = 3,
    refine_client=None,
    refine_backoff: float = 2.0,
) -> BatchResult:
    """Render the images of this shard; skip complete ids (resume); refine when ``refine_url`` is set.

    A failed image (e.g. people that cannot be placed) is recorded and the batch goes on; a failed refinement
    keeps the render and is retried at the end (``refine_rounds`` rounds with backoff).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(out)
    t_start = time.perf_counter()
    res = BatchResult(out=out)
    indices = shard_indices(count, shard)
    client = refine_client or (make_refine_client(refine_url, token) if refine_url else None)
    todo_refine: list[DatasetPaths] = []
    server_down_until = 0.0
    times: list[float] = []
    for n, index in enumerate(indices, start=1):
        image_id = image_id_for(seed, index)
        res.ids.append(image_id)
        paths = DatasetPaths(out, image_id)
        status = "skipped"
        t0 = time.perf_counter()
        if resume and paths.is_complete():
            res.skipped.append(image_id)
        else:
            try:
                built = build_scene(config, image_seed(seed, index), index=index, resolution=resolution,
                                    samples=samples)
                ann = render_and_annotate(built, out, image_id)
                res.rendered.append(image_id)
                status = f"rendered {len(ann.persons)} people"
                times.append(time.perf_counter() - t0)
            except Exception as exc:
                res.failed[image_id] = f"{type(exc).__name__}: {exc}"
                status = f"FAILED {type(exc).__name__}: {exc}"
        if client is not None and paths.is_complete() and not paths.refined.is_file():
            if time.monotonic() < server_down_until:
                todo_refine.append(paths)
                res.refine_failed[image_id] = "deferred: refinement server unavailable"
                status += ", refine deferred (server down)"
            else:
                try:
                    refine_stored(client, paths)
                    res.refined.append(image_id)
                    status += ", refined"
                except Exception as exc:
                    todo_refine.append(paths)
                    res.refine_failed[image_id] = f"{type(exc).__name__}: {exc}"
                    status += f", refine failed ({type(exc).__name__}), will retry"
                    # do not stall the renders on a dead server: defer refinement for a while
                    server_down_until = time.monotonic() + REFINE_PAUSE_S
        if progress is not None:
            mean = sum(times) / len(times) if times else 0.0
            progress({"done": n, "total": len(indices), "image_id": image_id, "status": status,
                      "seconds": round(time.perf_counter() - t0, 2),
                      "eta_s": round(mean * sum(1 for k in indices[n:] if not DatasetPaths(
                          out, image_id_for(seed, k)).is_complete()), 1)})  # fmt: skip
    for round_ in range(refine_rounds):
        if not todo_refine or client is None:
            break
        time.sleep(min(30.0, refine_backoff * 2**round_))
        still = []
        for paths in todo_refine:
            try:
                refine_stored(client, paths)
                res.refined.append(paths.image_id)
                res.refine_failed.pop(paths.image_id, None)
            except Exception as exc:
                res.refine_failed[paths.image_id] = f"{type(exc).__name__}: {exc}"
                still.append(paths)
        todo_refine = still
    write_indexes(out)
    if report:
        from .core.report import write_report

        write_report(out)
    res.seconds = time.perf_counter() - t_start
    return res


def dumps_summary(res: BatchResult) -> str:
    return json.dumps(res.summary(), sort_keys=True)
