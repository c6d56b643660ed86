"""What the panel's operators do, minus Blender: configs, output paths, the refinement round-trip, messages.

No bpy here (MPFB2-style services vs UI split): the operators call these functions and only handle Blender's
context, reports and images. pydantic and the HTTP client are imported lazily, so the panel still draws (and
says what is missing) in a Blender whose Python lacks them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DependencyMissing",
    "RefineOutcome",
    "friendly_refine_error",
    "load_scene_config",
    "make_client",
    "output_paths",
    "refine_files",
]


class DependencyMissing(RuntimeError):
    """pydantic / shared_schema / the pipeline could not be imported in this Blender."""


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception as exc:
        from .bundled_wheels import dependencies_status

        ok, why = dependencies_status()
        detail = why if not ok else f"{type(exc).__name__}: {exc}"
        raise DependencyMissing(f"cannot import {name}: {detail}") from exc


def pipeline_module() -> Any:
    """``<package>.pipeline`` (the scene engineer's build/render API), imported on first use."""
    return _import(f"{__package__}.pipeline")


def output_paths(root: str | Path, image_id: str) -> Any:
    """``shared_schema.dataset.DatasetPaths`` of one image (imported here: needs pydantic)."""
    if not image_id or any(c in image_id for c in "/\\") or image_id in (".", ".."):
        raise ValueError(f"invalid image id {image_id!r}")
    return _import("shared_schema.dataset").DatasetPaths(Path(root), image_id)


def load_scene_config(
    *,
    source: str = "EXAMPLE",
    example: str = "office",
    path: str | Path | None = None,
    people: dict[str, tuple[int, int]] | None = None,
) -> Any:
    """A validated ``shared_schema.SceneConfig``; ``people`` = {"standing": (lo, hi), "sitting": (lo, hi)}
    overrides the config's counts."""
    shared_schema = _import("shared_schema")
    if source == "FILE":
        if not path:
            raise ValueError("choose a scene config file (or switch to a built-in example)")
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"scene config not found: {p}")
        config = shared_schema.SceneConfig.load(p)
    else:
        config = shared_schema.example_config(example or "office")
    if people:
        data = config.model_dump(mode="json")
        for kind, (lo, hi) in people.items():
            lo, hi = int(lo), int(hi)
            if hi < lo:
                raise ValueError(f"{kind}: max ({hi}) is below min ({lo})")
            data["people"][kind] = {"low": lo, "high": hi}
        config = shared_schema.SceneConfig.model_validate(data)
    return config


def client_module() -> Any:
    """``shared_schema.client`` (the HTTP client beside the contracts; imported on first use)."""
    return _import("shared_schema.client")


def make_client(base_url: str, token: str | None = None, *, timeout: float = 60.0, retries: int = 2) -> Any:
    mod = client_module()
    return mod.RefineClient(base_url, token=token or None, timeout=timeout, retries=retries, backoff=0.5)


@dataclass
class RefineOutcome:
    refined: Path
    model_id: str
    timings: dict[str, float] = field(default_factory=dict)


def refine_files(paths: Any, client: Any) -> RefineOutcome:
    """POST the render's image, instances and annotations; write ``refined/<id>.png``.

    The annotations file is only read: the server's copy must be byte-identical (the client checks it) and the
    synthetic files are never touched, whatever the server answers.
    """
    result = _import(f"{__package__}.batch_refine").refine_stored(client, paths)
    return RefineOutcome(paths.refined, result.model_id, dict(result.timings or {}))


def friendly_refine_error(exc: BaseException, base_url: str) -> str:
    """One line for the panel and the status bar; never contains the token."""
    client = client_module()
    msg = str(getattr(exc, "message", None) or exc)
    if isinstance(exc, client.ServerUnavailable):
        return (
            f"Refinement server at {base_url} is not reachable or busy ({msg}); the synthetic render is kept. "
            "Start it (python -m refine_server serve) or check the URL in the add-on preferences"
        )
    if isinstance(exc, client.AuthError):
        return f"Refinement server at {base_url} refused the token (401); check the token in the preferences"
    if isinstance(exc, client.RequestRejected):
        return f"Refinement server rejected the request: {msg}"
    if isinstance(exc, client.RefineError):
        return f"Refinement failed: {msg}; the synthetic render is kept"
    return f"Refinement failed ({type(exc).__name__}: {msg}); the synthetic render is kept"
