"""Open routes for probes and scrapers: ``/healthz`` (liveness), ``/readyz`` (readiness), ``/metrics``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from shared_schema.api import Health

from .state import ServerState

router = APIRouter(tags=["ops"])


def server_state(request: Request) -> ServerState:
    state = request.app.state.refine
    assert isinstance(state, ServerState)
    return state


@router.get("/healthz", response_model=Health)
async def healthz(request: Request) -> Health:
    """Liveness: the process serves HTTP."""
    card = server_state(request).card
    return Health(status="ok", model_id=card.model_id if card else None)


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
async def readyz(request: Request) -> Any:
    """Readiness: the model is loaded and warmed up."""
    state = server_state(request)
    if state.ready and state.card is not None:
        return Health(status="ready", model_id=state.card.model_id)
    body = Health(status="error" if state.error else "loading", detail=state.error)
    return JSONResponse(
        body.model_dump(mode="json"), status_code=503, headers={"Retry-After": str(state.settings.retry_after_s)}
    )


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request) -> PlainTextResponse:
    """Prometheus text format: requests by status, latency and batch-size histograms, queue depth."""
    return PlainTextResponse(server_state(request).metrics.render(), media_type="text/plain; version=0.0.4")
