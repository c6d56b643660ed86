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
Bearer <token>`` on ``/v1/*``; ``/healthz``, ``/readyz`` and ``/metrics`` stay open for probes and scrapers.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared_schema.annotation import SceneAnnotation
from shared_schema.api import (
    ErrorBody,
    ErrorCode,
    ErrorDetail,
    Health,
    ModelCardSummary,
    RefineOptions,
    RefineResponse,
    Timings,
)

from .batcher import Batcher, QueueFull
from .checkpoint import CheckpointError, identity_model, load_card, load_model
from .imaging import ImageError, decode_instances, decode_rgb, encode_png
from .metrics import Metrics
from .model_card import ModelCard
from .refine import finish, plan_and_crop, scope_of
from .settings import Settings

log = logging.getLogger("refine_server")

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models" / "default"
_STATUS = {
    ErrorCode.PAYLOAD_TOO_LARGE: 413, ErrorCode.INVALID_IMAGE: 400, ErrorCode.DECOMPRESSION_BOMB: 400,
    ErrorCode.MISSING_FIELD: 422, ErrorCode.INVALID_ANNOTATIONS: 422, ErrorCode.SIZE_MISMATCH: 422,
    ErrorCode.UNKNOWN_INSTANCE: 422, ErrorCode.TOO_MANY_PERSONS: 422, ErrorCode.TOO_MANY_PIXELS: 422,
    ErrorCode.UNAUTHORIZED: 401, ErrorCode.QUEUE_FULL: 503, ErrorCode.NOT_READY: 503,
    ErrorCode.NOT_ACCEPTABLE: 406, ErrorCode.NOT_FOUND: 404, ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.INTERNAL: 500,
}  # fmt: skip
_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody, "description": d}
    for s, d in [(400, "invalid image / decompression bomb"), (401, "missing or wrong bearer token"),
                 (406, "unsupported Accept"), (413, "body over the limit"),
                 (422, "missing field, invalid annotations, size mismatch, unknown instance, too many persons"),
                 (503, "queue full or model not ready (Retry-After)")]
}  # fmt: skip


class ApiError(Exception):
    def __init__(self, code: ErrorCode, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.code, self.message, self.field, self.headers = code, message, field, headers or {}


def error_response(code: ErrorCode, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:  # fmt: skip
    body = ErrorBody(error=ErrorDetail(code=code, message=message, field=field))
    return JSONResponse(body.model_dump(mode="json"), status_code=_STATUS[code], headers=headers)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_model_path(model: str) -> Path:
    """'default' → refine_server/models/default; errors name the path that is missing."""
    path = DEFAULT_MODEL_DIR if model == "default" else Path(model)
    card = path / "model_card.json" if path.is_dir() or not path.suffix else path
    if not card.is_file():
        hint = " (train one, pass --model PATH, or --model identity for plumbing tests)" if model == "default" else ""
        raise CheckpointError(f"no model checkpoint at {card}{hint}")
    return path


def load_any(model: str, device: torch.device) -> tuple[torch.nn.Module, ModelCard]:
    if model == "identity":
        gen, card = identity_model()
        return gen.to(device), card
    path = resolve_model_path(model)
    load_card(path)
    return load_model(path, device=device)


# -- ASGI middleware: body limit + request metrics ------------------------------------------------------------------
class _BodyTooLarge(Exception):
    pass


_KNOWN_PATHS = {"/v1/refine", "/v1/models", "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"}


class LimitAndCount:
    """Rejects bodies over ``max_body_bytes`` with 413 (by Content-Length, or while streaming) and counts responses."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, metrics: Metrics) -> None:
        self.app, self.limit, self.metrics = app, max_body_bytes, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        label = path if path in _KNOWN_PATHS else "other"
        status_holder = {"status": 500, "started": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
            await send(message)

        async def reject() -> None:
            resp = error_response(ErrorCode.PAYLOAD_TOO_LARGE, f"request body exceeds {self.limit} bytes")
            await resp(scope, receive, send_wrapper)

        try:
            for k, v in scope.get("headers", []):
                if k == b"content-length":
                    try:
                        too_big = int(v) > self.limit
                    except ValueError:
                        too_big = False
                    if too_big:
                        await reject()
                        return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                msg = await receive()
                if msg["type"] == "http.request":
                    received += len(msg.get("body", b""))
                    if received > self.limit:
                        raise _BodyTooLarge()
                return msg

            try:
                await self.app(scope, limited_receive, send_wrapper)
            except _BodyTooLarge:
                if not status_holder["started"]:
                    await reject()
        finally:
            self.metrics.count_request(label, int(status_holder["status"]))


# -- application ----------------------------------------------------------------------------------------------------
def cpu_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def plan_threads(settings: Settings, device: torch.device) -> tuple[int, int, int]:
    """(generator workers, torch threads per worker (0 = leave torch's default), io threads).

    CPU: independent workers with few intra-op threads each (no OpenMP barrier across cores, so another process
    on the machine slows one worker instead of stalling every layer), and as many io threads as cores."""
    cores = cpu_cores()
    if device.type == "cpu":
        workers = settings.workers or min(2, cores)
        threads = settings.torch_threads or max(1, cores // workers)
    else:
        workers = settings.workers or 1
        threads = settings.torch_threads
    io = settings.io_threads or cores
    return max(1, workers), max(0, threads), max(1, io)


def _single_torch_thread() -> None:
    torch.set_num_threads(1)  # small ops (grid_sample, casts): OpenMP fan-out costs more than it saves


class ServerState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.model: torch.nn.Module | None = None
        self.card: ModelCard | None = None
        self.device = resolve_device(settings.device)
        self.batcher: Batcher | None = None
        self.workers, self.torch_threads, self.io_threads = plan_threads(settings, self.device)
        self.io_pool = ThreadPoolExecutor(self.io_threads, thread_name_prefix="refine-io",
                                          initializer=_single_torch_thread)  # fmt: skip
        self.ready = False
        self.error: str | None = None

    def start(self, preloaded: tuple[torch.nn.Module, ModelCard] | None) -> None:
        """Load (unless preloaded), start the worker, warm up. Runs in a thread."""
        s = self.settings
        try:
            model, card = preloaded if preloaded is not None else load_any(s.model, self.device)
            model = model.to(self.device).eval()
            self.model, self.card = model, card
            self.batcher = Batcher(model, self.device, max_batch_crops=s.max_batch_crops,
                                   max_wait_ms=s.max_batch_wait_ms, max_queue=s.max_queue_requests,
                                   metrics=self.metrics, workers=self.workers,
                                   threads_per_worker=self.torch_threads,
                                   threads_alone=cpu_cores() if self.device.type == "cpu" and not s.torch_threads
                                   else 0)  # fmt: skip
            if s.warmup:  # every worker runs a full-size batch once (allocator, oneDNN primitives)
                x = torch.zeros((min(2, s.max_batch_crops), 3, card.crop_size, card.crop_size))
                futs = [self.batcher.submit(x) for _ in range(self.workers)]
                for f in futs:
                    f.result()
            self.ready = True
            self.metrics.ready = 1
            log.info("model %s ready on %s (%d workers x %d torch threads, %d io threads)", card.model_id,
                     self.device, self.workers, self.torch_threads, self.io_threads)  # fmt: skip
        except Exception as e:
            self.error = f"{type(e).__name__}: {e}"
            log.error("model load failed: %s", self.error)


def _check_auth(request: Request, token: str | None) -> None:
    if not token:
        return
    got = request.headers.get("authorization", "")
    scheme, _, value = got.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        raise ApiError(ErrorCode.UNAUTHORIZED, "missing or invalid bearer token",
                       headers={"WWW-Authenticate": "Bearer"})  # fmt: skip


def _negotiate(accept: str) -> str:
    if not accept.strip():
        return "json"
    for part in accept.split(","):
        mime = part.split(";")[0].strip().lower()
        if mime in ("application/json", "application/*", "*/*"):
            return "json"
        if mime in ("image/png", "image/*"):
            return "png"
    raise ApiError(ErrorCode.NOT_ACCEPTABLE, f"cannot produce {accept!r}; use application/json or image/png")


async def _part_bytes(form: Any, name: str) -> bytes:
    v = form.get(name)
    if v is None:
        raise ApiError(ErrorCode.MISSING_FIELD, f"multipart field {name!r} is required", name)
    if isinstance(v, UploadFile):
        return await v.read()
    return str(v).encode("utf-8")


def _prepare(state: ServerState, image: bytes, instances: bytes, annotations: bytes,
             options: RefineOptions) -> dict[str, Any]:  # fmt: skip
    """Decode + validate + plan + crop (runs in a worker thread)."""
    s = state.settings
    card = state.card
    assert card is not None
    t0 = time.perf_counter()
    try:
        rgb = decode_rgb(image, s.max_pixels, "image")
        imap = decode_instances(instances, s.max_pixels, "instances")
    except ImageError as e:
        raise ApiError(e.code, e.message, e.field) from e
    try:
        ann = SceneAnnotation.model_validate_json(annotations)
    except ValidationError as e:
        first: Mapping[str, Any] = e.errors()[0] if e.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        msg = f"annotations are not a valid SceneAnnotation: {where}: {first.get('msg', str(e))}"
        raise ApiError(ErrorCode.INVALID_ANNOTATIONS, msg, "annotations") from e
    h, w = rgb.shape[:2]
    if imap.shape != (h, w):
        raise ApiError(ErrorCode.SIZE_MISMATCH,
                       f"instances are {imap.shape[1]}x{imap.shape[0]} but the image is {w}x{h}", "instances")
    if (ann.width, ann.height) != (w, h):
        raise ApiError(ErrorCode.SIZE_MISMATCH,
                       f"annotations say {ann.width}x{ann.height} but the image is {w}x{h}", "annotations")
    known = {p.instance_id for p in ann.persons}
    present = [int(k) for k in np.flatnonzero(np.bincount(imap.ravel())) if k != 0]
    unknown = [k for k in present if k not in known]
    if unknown:
        raise ApiError(ErrorCode.UNKNOWN_INSTANCE,
                       f"instance ids {unknown[:20]} are in the instance map but not in annotations.persons",
                       "instances")  # fmt: skip
    wanted = present
    if options.persons is not None:
        bad = [k for k in options.persons if k not in known]
        if bad:
            raise ApiError(ErrorCode.UNKNOWN_INSTANCE, f"options.persons {bad[:20]} are not annotated persons",
                           "options")  # fmt: skip
        wanted = [k for k in present if k in set(options.persons)]
    if len(wanted) > s.max_persons:
        raise ApiError(ErrorCode.TOO_MANY_PERSONS, f"{len(wanted)} persons to refine; the limit is {s.max_persons}",
                       "instances")  # fmt: skip
    t1 = time.perf_counter()
    specs, crops = plan_and_crop(rgb, imap, ann.camera.center, card.crop_size, card.margin, ids=wanted)
    t2 = time.perf_counter()
    return {"rgb": rgb, "imap": imap, "ann": ann, "specs": specs, "crops": crops, "scope": scope_of(ann.background),
            "decode_ms": (t1 - t0) * 1e3, "crop_ms": (t2 - t1) * 1e3}  # fmt: skip


def _finish(state: ServerState, job: dict[str, Any], refined: torch.Tensor | None) -> tuple[bytes, Any, float]:
    """Reinsert + look (``refine.finish``) + PNG encode (runs in a worker thread)."""
    assert state.card is not None
    done = finish(job["rgb"], job["imap"], job["specs"], refined, scope=job["scope"], look=state.card.look,
                  seed=job["ann"].seed, override=state.settings.look)  # fmt: skip
    t1 = time.perf_counter()
    png = encode_png(done.image, state.settings.png_compress_level)
    return png, done, (time.perf_counter() - t1) * 1e3


def create_app(settings: Settings | None = None,
               model: tuple[torch.nn.Module, ModelCard] | None = None) -> FastAPI:  # fmt: skip
    """Build the app. ``model`` = a preloaded (generator, card); otherwise ``settings.model`` is loaded at startup
    in a background thread (``/readyz`` turns 200 once it is loaded and warmed up)."""
    settings = settings or Settings.from_env()
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
        title="Render & Refine — refinement service",
        version="0.1.0",
        lifespan=lifespan,
        description=__doc__,
    )
    app.state.refine = state

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.code, exc.message, exc.field, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
            return error_response(ErrorCode.METHOD_NOT_ALLOWED, message)
        if exc.status_code == 404:
            return error_response(ErrorCode.NOT_FOUND, f"no route {request.url.path}; see /docs")
        body = ErrorBody(error=ErrorDetail(code=ErrorCode.INTERNAL, message=str(exc.detail)))
        return JSONResponse(body.model_dump(mode="json"), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(ErrorCode.INTERNAL, f"internal error: {type(exc).__name__}")

    @app.get("/healthz", response_model=Health, tags=["ops"])
    async def healthz() -> Health:
        """Liveness: the process serves HTTP."""
        return Health(status="ok", model_id=state.card.model_id if state.card else None)

    @app.get("/readyz", response_model=Health, responses={503: {"model": Health}}, tags=["ops"])
    async def readyz() -> Any:
        """Readiness: the model is loaded and warmed up."""
        if state.ready and state.card is not None:
            return Health(status="ready", model_id=state.card.model_id)
        body = Health(status="error" if state.error else "loading", detail=state.error)
        return JSONResponse(body.model_dump(mode="json"), status_code=503,
                            headers={"Retry-After": str(settings.retry_after_s)})  # fmt: skip

    @app.get("/metrics", response_class=PlainTextResponse, tags=["ops"])
    async def metrics() -> PlainTextResponse:
        """Prometheus text format: requests by status, latency and batch-size histograms, queue depth."""
        return PlainTextResponse(state.metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/v1/models", response_model=ModelCardSummary, responses=_ERROR_RESPONSES, tags=["refine"])
    async def models(request: Request) -> Any:
        """The loaded model's card."""
        _check_auth(request, settings.token)
        if state.card is None:
            raise ApiError(ErrorCode.NOT_READY, "model not loaded yet", headers={"Retry-After": "1"})
        c = state.card
        return ModelCardSummary(model_id=c.model_id, architecture=c.architecture, crop_size=c.crop_size,
                                device=str(state.device), card=c.model_dump(mode="json"))  # fmt: skip

    refine_body = {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["image", "instances", "annotations"],
            "properties": {
                "image": {"type": "string", "format": "binary", "description": "RGB PNG or JPEG (RGBA: alpha dropped)"},
                "instances": {"type": "string", "format": "binary",
                              "description": "instance PNG, 8-bit L or 16-bit, 0 = background, k = person k"},
                "annotations": {"type": "string", "format": "binary",
                                "description": "SceneAnnotation JSON (UTF-8); echoed byte-identical"},
                "options": {"type": "string", "description": "optional RefineOptions JSON"},
            }}}}},
        "responses": {"200": {"content": {"application/json": {"schema": {
                                              "$ref": "#/components/schemas/RefineResponse"}},
                                          "image/png": {"schema": {"type": "string", "format": "binary"}}},
                              "description": "refined image (JSON with base64 PNG, or raw PNG via Accept)"}},
    }  # fmt: skip

    @app.post("/v1/refine", response_model=RefineResponse, responses=_ERROR_RESPONSES, openapi_extra=refine_body,
              tags=["refine"])  # fmt: skip
    async def refine(request: Request) -> Any:
        """Refine every person of one rendered image; background pixels and annotations come back unchanged."""
        t_start = time.perf_counter()
        _check_auth(request, settings.token)
        kind = _negotiate(request.headers.get("accept", ""))
        if not state.ready or state.batcher is None or state.card is None:
            raise ApiError(ErrorCode.NOT_READY, "model is loading",
                           headers={"Retry-After": str(settings.retry_after_s)})  # fmt: skip
        ctype = request.headers.get("content-type", "")
        if not ctype.lower().startswith("multipart/form-data"):
            raise ApiError(ErrorCode.MISSING_FIELD, "body must be multipart/form-data with image, instances, "
                           "annotations")  # fmt: skip
        try:
            form = await request.form(max_files=8, max_fields=8, max_part_size=settings.max_annotations_bytes)
        except _BodyTooLarge:
            raise
        except Exception as e:
            raise ApiError(ErrorCode.MISSING_FIELD, f"malformed multipart body: {e}") from e
        try:
            image = await _part_bytes(form, "image")
            instances = await _part_bytes(form, "instances")
            annotations = await _part_bytes(form, "annotations")
            raw_options = form.get("options")
            options_b = await _part_bytes(form, "options") if raw_options is not None else None
        finally:
            await form.close()
        if len(annotations) > settings.max_annotations_bytes:
            raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE, "annotations part over the limit", "annotations")
        try:
            annotations_text = annotations.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ApiError(ErrorCode.INVALID_ANNOTATIONS, "annotations are not UTF-8", "annotations") from e
        try:
            options = RefineOptions.model_validate_json(options_b) if options_b else RefineOptions()
        except ValidationError as e:
            raise ApiError(ErrorCode.INVALID_ANNOTATIONS, f"invalid options: {e.errors()[0]['msg']}", "options") from e

        batcher = state.batcher
        if batcher.pending >= batcher.max_queue:
            raise ApiError(ErrorCode.QUEUE_FULL, f"server busy: {batcher.pending} requests waiting",
                           headers={"Retry-After": str(settings.retry_after_s)})  # fmt: skip
        batcher.announce()
        announced = True
        loop = asyncio.get_running_loop()
        try:
            job = await loop.run_in_executor(state.io_pool, _prepare, state, image, instances, annotations, options)
        except BaseException:
            batcher.withdraw()
            raise
        queue_ms = gen_ms = 0.0
        refined = None
        if job["crops"] is None:
            batcher.withdraw()
        else:
            try:
                refined, queue_s, gen_s = await asyncio.wait_for(batcher.run(job["crops"], announced),
                                                                 timeout=settings.request_timeout_s)
            except QueueFull as e:
                raise ApiError(ErrorCode.QUEUE_FULL, f"server busy: {e}",
                               headers={"Retry-After": str(settings.retry_after_s)}) from e
            queue_ms, gen_ms = queue_s * 1e3, gen_s * 1e3
        png, done, encode_ms = await loop.run_in_executor(state.io_pool, _finish, state, job, refined)
        card = state.card
        timings = Timings(decode_ms=job["decode_ms"], queue_ms=queue_ms, crop_ms=job["crop_ms"], generator_ms=gen_ms,
                          reinsert_ms=done.reinsert_ms, look_ms=done.look_ms, encode_ms=encode_ms,
                          total_ms=(time.perf_counter() - t_start) * 1e3)  # fmt: skip
        persons = [s.instance_id for s in job["specs"]]
        sha = hashlib.sha256(annotations).hexdigest()
        state.metrics.observe_request(time.perf_counter() - t_start)
        h, w = job["rgb"].shape[:2]
        if kind == "png":
            headers = {"X-Model-Id": card.model_id, "X-Image-Id": job["ann"].image_id,
                       "X-Persons-Refined": ",".join(map(str, persons)), "X-Annotations-SHA256": sha,
                       "X-Scope": done.scope, "X-Look": done.look,
                       "X-Timings": json.dumps(timings.model_dump(), separators=(",", ":"))}  # fmt: skip
            return Response(png, media_type="image/png", headers=headers)
        resp = RefineResponse(image_id=job["ann"].image_id, model_id=card.model_id, persons_refined=persons, width=w,
                              height=h, image_png_base64=base64.b64encode(png).decode("ascii"),
                              annotations=annotations_text, annotations_sha256=sha, timings=timings,
                              scope=done.scope, look=done.look)  # fmt: skip
        return JSONResponse(resp.model_dump(mode="json"))

    app.add_middleware(LimitAndCount, max_body_bytes=settings.max_body_bytes, metrics=state.metrics)
    return app
