"""FastAPI application: ``POST /v1/refine`` (crop → batched generator → reinsert), health, model card, metrics.

Response of ``POST /v1/refine``
-------------------------------
* ``Accept: application/json`` (default, also ``*/*``): a ``shared_schema.api.RefineResponse`` JSON object with
  the refined PNG base64-encoded in ``image_png_base64`` and ``annotations`` = the annotations part exactly as sent
  (its UTF-8 encoding is byte-identical to the request's part; ``annotations_sha256`` is its sha256).
* ``Accept: image/png``: the refined PNG as the body, with headers ``X-Model-Id``, ``X-Image-Id``,
  ``X-Persons-Refined`` (comma-separated ids), ``X-Annotations-SHA256`` and ``X-Timings`` (compact JSON of
  ``Timings``). The annotations are not echoed (the client already holds them; the sha256 proves which ones).
* Anything else: 406 ``not_acceptable``.

Every non-2xx body is a ``shared_schema.api.ErrorBody``. Auth (when a token is configured): ``Authorization:
Bearer <token>`` on ``/v1/*``, checked before the body is read; ``/healthz``, ``/readyz`` and ``/metrics`` stay
open for probes and scrapers.

Limits (``refine_server.settings``): body size (413), body read time (408), pixels per image (400), persons per
image (422), estimated working memory per request (422) and of all requests in flight (429 + Retry-After),
requests waiting for the generator (503 + Retry-After).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import time
from typing import Any

import numpy as np
import torch
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from shared_schema import __version__
from shared_schema.annotation import SceneAnnotation
from shared_schema.api import ErrorCode, ModelCardSummary, RefineOptions, RefineResponse, Timings
from shared_schema.validation import first_error

from .batcher import QueueFull
from .cost import RequestCost, Reservation
from .deps import RefineParts, negotiate, ready_state, refine_parts, require_token
from .errors import ERROR_RESPONSES, ApiError, install_error_handlers
from .guard import BodyGuard
from .imaging import ImageError, decode_instances, decode_rgb, encode_png, instance_pixel_counts, probe_size
from .model_card import ModelCard
from .openapi import refine_openapi
from .ops import router as ops_router
from .ops import server_state
from .refine import Finished, finish, plan_and_crop, scope_of
from .settings import Settings
from .state import ServerState, cpu_cores, release_free_memory, resolve_device, resolve_model_path

__all__ = ["ApiError", "ServerState", "cpu_cores", "create_app", "resolve_device", "resolve_model_path"]

TRIM_AFTER_BYTES = 64 * 1024 * 1024  # hand freed memory back to the OS after requests estimated above this


# -- decode, validate, admit by cost -----------------------------------------------------------------------------
def _parse_annotations(annotations: bytes) -> SceneAnnotation:
    try:
        return SceneAnnotation.model_validate_json(annotations)
    except ValidationError as e:
        msg = f"annotations are not a valid SceneAnnotation: {first_error(e)}"
        raise ApiError(ErrorCode.INVALID_ANNOTATIONS, msg, "annotations") from e


def _check_cost(state: ServerState, cost: RequestCost, what: str) -> None:
    limit = state.settings.max_request_mib
    if cost.mib > limit:
        raise ApiError(
            ErrorCode.REQUEST_TOO_COSTLY,
            f"{what}: estimated working memory {cost.mib:.0f} MiB ({cost.width}x{cost.height} image, "
            f"{cost.persons} persons, largest {cost.max_person_pixels} px) exceeds the per-request "
            f"limit of {limit:g} MiB",
            "image",
        )


def _over_capacity(state: ServerState) -> ApiError:
    used, limit = state.budget.used / 2**20, state.budget.limit / 2**20
    return ApiError(
        ErrorCode.OVER_CAPACITY,
        f"server busy: requests in flight use {used:.1f} of {limit:.1f} MiB of estimated working memory",
        headers={"Retry-After": str(state.settings.retry_after_s)},
    )


def _admit(
    state: ServerState, image: bytes, instances: bytes, ann: SceneAnnotation, options: RefineOptions
) -> Reservation:
    """Reserve the request's estimated memory from the image header and the annotated areas (nothing decoded)."""
    s, card = state.settings, state.card
    assert card is not None
    w, h = probe_size(image, s.max_pixels, "image")
    probe_size(instances, s.max_pixels, "instances", ("PNG",))
    wanted = set(options.persons) if options.persons is not None else None
    areas = [p.area for p in ann.persons if p.area > 0 and (wanted is None or p.instance_id in wanted)]
    areas = sorted(areas)[-s.max_persons :]
    cost = RequestCost(w, h, len(areas), max(areas, default=0), card.crop_size)
    _check_cost(state, cost, "annotated persons")
    reservation = state.budget.reserve(cost.nbytes)
    if reservation is None:
        raise _over_capacity(state)
    return reservation


def _persons_to_refine(
    state: ServerState, imap: np.ndarray, ann: SceneAnnotation, options: RefineOptions, reservation: Reservation
) -> list[int]:
    """Validate instance map against annotations and options; the ids to refine, with their exact cost reserved."""
    s, card = state.settings, state.card
    assert card is not None
    counts = instance_pixel_counts(imap)
    present = [int(k) for k in np.flatnonzero(counts) if k != 0]
    known = {p.instance_id for p in ann.persons}
    unknown = [k for k in present if k not in known]
    if unknown:
        raise ApiError(
            ErrorCode.UNKNOWN_INSTANCE,
            f"instance ids {unknown[:20]} are in the instance map but not in annotations.persons",
            "instances",
        )
    absent = [
        p.instance_id
        for p in ann.persons
        if p.area > 0 and (p.instance_id >= counts.size or counts[p.instance_id] == 0)
    ]
    if absent:
        raise ApiError(
            ErrorCode.PERSON_NOT_IN_MASK,
            f"persons {absent[:20]} are annotated with area > 0 but have no pixel in the instance map",
            "instances",
        )
    wanted = present
    if options.persons is not None:
        bad = [k for k in options.persons if k not in known]
        if bad:
            raise ApiError(
                ErrorCode.UNKNOWN_INSTANCE, f"options.persons {bad[:20]} are not annotated persons", "options"
            )
        wanted = [k for k in present if k in set(options.persons)]
    if len(wanted) > s.max_persons:
        raise ApiError(
            ErrorCode.TOO_MANY_PERSONS, f"{len(wanted)} persons to refine; the limit is {s.max_persons}", "instances"
        )
    h, w = imap.shape
    cost = RequestCost(w, h, len(wanted), max((int(counts[k]) for k in wanted), default=0), card.crop_size)
    _check_cost(state, cost, "instance map")
    if not reservation.grow_to(cost.nbytes):
        raise _over_capacity(state)
    return wanted


def _decode(s: Settings, image: bytes, instances: bytes, ann: SceneAnnotation) -> tuple[np.ndarray, np.ndarray]:
    try:
        rgb = decode_rgb(image, s.max_pixels, "image")
        imap = decode_instances(instances, s.max_pixels, "instances")
    except ImageError as e:
        raise ApiError(e.code, e.message, e.field) from e
    h, w = rgb.shape[:2]
    if imap.shape != (h, w):
        raise ApiError(
            ErrorCode.SIZE_MISMATCH,
            f"instances are {imap.shape[1]}x{imap.shape[0]} but the image is {w}x{h}",
            "instances",
        )
    if (ann.width, ann.height) != (w, h):
        raise ApiError(
            ErrorCode.SIZE_MISMATCH, f"annotations say {ann.width}x{ann.height} but the image is {w}x{h}", "annotations"
        )
    return rgb, imap


def _prepare(
    state: ServerState, image: bytes, instances: bytes, annotations: bytes, options: RefineOptions
) -> dict[str, Any]:
    """Admit by cost, decode + validate + plan + crop (runs in a worker thread). The job holds the memory
    reservation; the caller releases it (here on error)."""
    card = state.card
    assert card is not None
    t0 = time.perf_counter()
    ann = _parse_annotations(annotations)
    try:
        reservation = _admit(state, image, instances, ann, options)
    except ImageError as e:
        raise ApiError(e.code, e.message, e.field) from e
    try:
        rgb, imap = _decode(state.settings, image, instances, ann)
        wanted = _persons_to_refine(state, imap, ann, options, reservation)
        t1 = time.perf_counter()
        specs, crops = plan_and_crop(rgb, imap, ann.camera.center, card.crop_size, card.margin, ids=wanted)
    except BaseException:
        reservation.release()
        raise
    t2 = time.perf_counter()
    return {
        "rgb": rgb,
        "imap": imap,
        "ann": ann,
        "specs": specs,
        "crops": crops,
        "reservation": reservation,
        "scope": scope_of(ann.background),
        "decode_ms": (t1 - t0) * 1e3,
        "crop_ms": (t2 - t1) * 1e3,
    }


def _finish(state: ServerState, job: dict[str, Any], refined: torch.Tensor | None) -> tuple[bytes, Finished, float]:
    """Reinsert + camera look (``refine.finish``) + PNG encode (runs in a worker thread)."""
    assert state.card is not None
    done = finish(
        job["rgb"],
        job["imap"],
        job["specs"],
        refined,
        scope=job["scope"],
        look=state.card.look,
        seed=job["ann"].seed,
        override=state.settings.look,
    )
    t1 = time.perf_counter()
    png = encode_png(done.image, state.settings.png_compress_level)
    return png, done, (time.perf_counter() - t1) * 1e3


# -- /v1 routes ---------------------------------------------------------------------------------------------------
def _busy(state: ServerState, message: str) -> ApiError:
    return ApiError(
        ErrorCode.QUEUE_FULL, f"server busy: {message}", headers={"Retry-After": str(state.settings.retry_after_s)}
    )


async def _prepare_job(state: ServerState, parts: RefineParts) -> dict[str, Any]:
    batcher = state.batcher
    assert batcher is not None
    if batcher.pending >= batcher.max_queue:
        raise _busy(state, f"{batcher.pending} requests waiting")
    batcher.announce()
    loop = asyncio.get_running_loop()
    try:
        job = await loop.run_in_executor(
            state.io_pool, _prepare, state, parts.image, parts.instances, parts.annotations, parts.options
        )
    except BaseException:
        batcher.withdraw()
        raise
    if job["crops"] is None:
        batcher.withdraw()
    return job


async def _generate(state: ServerState, job: dict[str, Any]) -> tuple[torch.Tensor | None, float, float]:
    """(refined crops or None, queue ms, generator ms)."""
    if job["crops"] is None:
        return None, 0.0, 0.0
    assert state.batcher is not None
    try:
        refined, queue_s, gen_s = await asyncio.wait_for(
            state.batcher.run(job["crops"], True), timeout=state.settings.request_timeout_s
        )
    except QueueFull as e:
        raise _busy(state, str(e)) from e
    return refined, queue_s * 1e3, gen_s * 1e3


def _respond(
    kind: str, state: ServerState, job: dict[str, Any], parts: RefineParts, png: bytes, done: Finished, timings: Timings
) -> Response:
    card = state.card
    assert card is not None
    persons = [s.instance_id for s in job["specs"]]
    sha = hashlib.sha256(parts.annotations).hexdigest()
    if kind == "png":
        headers = {
            "X-Model-Id": card.model_id,
            "X-Image-Id": job["ann"].image_id,
            "X-Persons-Refined": ",".join(map(str, persons)),
            "X-Annotations-SHA256": sha,
            "X-Scope": done.scope,
            "X-Look": done.look,
            "X-Timings": json.dumps(timings.model_dump(), separators=(",", ":")),
        }
        return Response(png, media_type="image/png", headers=headers)
    h, w = job["rgb"].shape[:2]
    resp = RefineResponse(
        image_id=job["ann"].image_id,
        model_id=card.model_id,
        persons_refined=persons,
        width=w,
        height=h,
        image_png_base64=base64.b64encode(png).decode("ascii"),
        annotations=parts.annotations_text,
        annotations_sha256=sha,
        timings=timings,
        scope=done.scope,
        look=done.look,
    )
    return JSONResponse(resp.model_dump(mode="json"))


def _started() -> float:
    return time.perf_counter()


async def refine(
    t_start: float = Depends(_started),
    kind: str = Depends(negotiate),
    state: ServerState = Depends(ready_state),
    parts: RefineParts = Depends(refine_parts),
) -> Any:
    """Refine every person of one rendered image; background pixels and annotations come back unchanged."""
    job = await _prepare_job(state, parts)
    reservation: Reservation = job["reservation"]
    try:
        refined, queue_ms, gen_ms = await _generate(state, job)
        loop = asyncio.get_running_loop()
        png, done, encode_ms = await loop.run_in_executor(state.io_pool, _finish, state, job, refined)
        timings = Timings(
            decode_ms=job["decode_ms"],
            queue_ms=queue_ms,
            crop_ms=job["crop_ms"],
            generator_ms=gen_ms,
            reinsert_ms=done.reinsert_ms,
            look_ms=done.look_ms,
            encode_ms=encode_ms,
            total_ms=(time.perf_counter() - t_start) * 1e3,
        )
        response = _respond(kind, state, job, parts, png, done, timings)
    finally:
        big = reservation.nbytes > TRIM_AFTER_BYTES
        reservation.release()
        job.clear()  # drop the big arrays before handing their pages back
        if big:
            await asyncio.get_running_loop().run_in_executor(state.io_pool, release_free_memory)
    state.metrics.observe_request(time.perf_counter() - t_start)
    return response


async def models(state: ServerState = Depends(server_state)) -> Any:
    """The loaded model's card."""
    if state.card is None:
        raise ApiError(ErrorCode.NOT_READY, "model not loaded yet", headers={"Retry-After": "1"})
    c = state.card
    return ModelCardSummary(
        model_id=c.model_id,
        architecture=c.architecture,
        crop_size=c.crop_size,
        device=str(state.device),
        card=c.model_dump(mode="json"),
    )


def v1_router(settings: Settings) -> APIRouter:
    """The /v1 routes (bearer auth first); the refine body's OpenAPI states this server's limits."""
    router = APIRouter(prefix="/v1", tags=["refine"], dependencies=[Depends(require_token)], responses=ERROR_RESPONSES)
    router.add_api_route(
        "/refine", refine, methods=["POST"], response_model=RefineResponse, openapi_extra=refine_openapi(settings)
    )
    router.add_api_route("/models", models, methods=["GET"], response_model=ModelCardSummary)
    return router


# -- application --------------------------------------------------------------------------------------------------
def create_app(settings: Settings | None = None, model: tuple[torch.nn.Module, ModelCard] | None = None) -> FastAPI:
    """Build the app. ``model`` = a preloaded (generator, card); otherwise ``settings.model`` is loaded at startup
    in a background thread (``/readyz`` turns 200 once it is loaded and warmed up)."""
    settings = settings or Settings()
    state = ServerState(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        task = asyncio.create_task(asyncio.to_thread(state.start, model))
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=60)
            if state.batcher is not None:
                await asyncio.to_thread(state.batcher.stop)
            state.io_pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="Render & Refine — refinement service", version=__version__, lifespan=lifespan, description=__doc__
    )
    app.state.refine = state
    install_error_handlers(app)
    app.include_router(ops_router)
    app.include_router(v1_router(settings))
    app.add_middleware(
        BodyGuard,
        max_body_bytes=settings.max_body_bytes,
        idle_timeout_s=settings.body_idle_timeout_s,
        total_timeout_s=settings.body_timeout_s,
        metrics=state.metrics,
    )
    return app
