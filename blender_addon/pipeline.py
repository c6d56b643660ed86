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
from shared_schema.client import RefineClient
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

from .batch_refine import (
    BATCH_CLIENT_BACKOFF_S,
    BATCH_CLIENT_RETRIES,
    BATCH_CONNECT_TIMEOUT_S,
    BatchRefiner,
    refine_stored,
)
from .core.annotate import PersonInfo, persons_from_render
from .core.placement import PlacedPerson, PlacementError
from .core.png import encode_png

__all__ = [
    "BatchResult",
    "PlacementError",
    "build_scene",
    "image_seed",
    "refine_stored",
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


def _person_info(k: int, handle, meta: PlacedPerson) -> PersonInfo:
    sampled = _jsonable(dict(handle.sampled))
    phenotype = sampled.pop("phenotype")
    appearance = sampled.pop("appearance", {})
    pose = {
        "yaw_deg": meta.yaw_deg,
        "seat": meta.seat,
        "seat_height": meta.seat_height,
        "placement_tries": meta.placement_tries,
        "mesh_checks": meta.mesh_checks,
        **sampled.pop("pose", {}),
    }
    appearance = {**(appearance or {}), **sampled}  # the body's other sampled values (seed, height, ...)
    return PersonInfo(
        instance_id=k,
        posture=meta.posture,
        position=meta.position,
        head_3d=tuple(float(v) for v in handle.head_3d),
        keypoints_3d=[tuple(float(v) for v in p) for p in handle.keypoints_3d],
        pose=_jsonable(pose),
        phenotype=phenotype or {},
        appearance=appearance or {},
    )


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
        image_id=image_id,
        width=built.camera.width,
        height=built.camera.height,
        seed=built.seed,
        camera=built.camera,
        persons=persons,
        obstacles=[
            Obstacle(
                name=o.name,
                kind=o.kind,
                polygon=[(round(x, 6), round(y, 6)) for x, y in o.polygon],
                height=o.height,
                seat_height=o.seat_height,
            )
            for o in built.obstacles
        ],
        lighting=Lighting(**built.lighting),
        background=Background(**_jsonable(built.background)),
        render=RenderInfo(
            samples=built.samples,
            denoise=built.denoise,
            motion_blur=bool(cfg.render.motion_blur),
            device=built.device,
            blender_version=bver,
            frame=built.frame,
        ),
        generator=GeneratorInfo(version=SCHEMA_PKG_VERSION, config_name=cfg.name, config_sha256=config_sha256(cfg)),
        sampled=_jsonable(built.sampled),
    )


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
    refine_gave_up: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Every image of the shard rendered (refinement aside: see :attr:`refine_failed`)."""
        return not self.failed

    def summary(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "images": len(self.ids),
            "rendered": len(self.rendered),
            "skipped": len(self.skipped),
            "failed": self.failed,
            "refined": len(self.refined),
            "refine_failed": self.refine_failed,
            "refine_gave_up": self.refine_gave_up,
            "seconds": round(self.seconds, 2),
        }


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


def make_refine_client(url: str, token: str | None = None) -> RefineClient:
    """The client a batch uses: few retries, so a dead server costs seconds per image, not minutes."""
    return RefineClient(
        url,
        token=token,
        retries=BATCH_CLIENT_RETRIES,
        backoff=BATCH_CLIENT_BACKOFF_S,
        connect_timeout=BATCH_CONNECT_TIMEOUT_S,
    )


def _render_one(
    config,
    seed: int,
    index: int,
    paths: DatasetPaths,
    res: BatchResult,
    *,
    resume: bool,
    resolution: int | None,
    samples: int | None,
) -> str:
    """Render (or skip) one image of the batch; records the outcome in ``res`` and returns its status text."""
    if resume and paths.is_complete():
        res.skipped.append(paths.image_id)
        return "skipped"
    try:
        built = build_scene(config, image_seed(seed, index), index=index, resolution=resolution, samples=samples)
        ann = render_and_annotate(built, paths.root, paths.image_id)
    except Exception as exc:
        res.failed[paths.image_id] = f"{type(exc).__name__}: {exc}"
        return f"FAILED {type(exc).__name__}: {exc}"
    res.rendered.append(paths.image_id)
    return f"rendered {len(ann.persons)} people"


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
    refine_rounds: int = 1,
    refine_client=None,
    refine_backoff: float = 2.0,
) -> BatchResult:
    """Render the images of this shard; skip complete ids (resume); refine when ``refine_url`` is set.

    A failed image (e.g. people that cannot be placed) is recorded and the batch goes on. Refinement goes
    through a :class:`~blender_addon.batch_refine.BatchRefiner`: bounded retries, a circuit breaker that stops
    calling a dead server for the rest of the run, every render kept, the unrefined ids in ``refine_failed``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(out)
    t_start = time.perf_counter()
    res = BatchResult(out=out)
    indices = shard_indices(count, shard)
    client = refine_client or (make_refine_client(refine_url, token) if refine_url else None)
    refiner = BatchRefiner(client, retry_rounds=refine_rounds, retry_backoff_s=refine_backoff) if client else None
    times: list[float] = []
    for n, index in enumerate(indices, start=1):
        paths = DatasetPaths(out, image_id_for(seed, index))
        res.ids.append(paths.image_id)
        t0, rendered_before = time.perf_counter(), len(res.rendered)
        status = _render_one(config, seed, index, paths, res, resume=resume, resolution=resolution, samples=samples)
        if len(res.rendered) > rendered_before:
            times.append(time.perf_counter() - t0)
        if refiner is not None and paths.is_complete() and not paths.refined.is_file():
            status += ", " + refiner.offer(paths)
        if progress is not None:
            left = sum(1 for k in indices[n:] if not DatasetPaths(out, image_id_for(seed, k)).is_complete())
            mean = sum(times) / len(times) if times else 0.0
            progress(
                {
                    "done": n,
                    "total": len(indices),
                    "image_id": paths.image_id,
                    "status": status,
                    "seconds": round(time.perf_counter() - t0, 2),
                    "eta_s": round(mean * left, 1),
                }
            )
    if refiner is not None:
        refiner.finish()
        res.refined, res.refine_failed, res.refine_gave_up = refiner.refined, refiner.unrefined, refiner.open_reason
    write_indexes(out)
    if report:
        from .core.report import write_report

        write_report(out)
    res.seconds = time.perf_counter() - t_start
    return res


def dumps_summary(res: BatchResult) -> str:
    return json.dumps(res.summary(), sort_keys=True)
