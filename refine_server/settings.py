"""Server settings: every limit configurable (CLI flag or ``REFINE_*`` environment variable), safe defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields


def _env(name: str, default, cast):  # type: ignore[no-untyped-def]
    raw = os.environ.get(f"REFINE_{name.upper()}")
    if raw is None or raw == "":
        return default
    if cast is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return cast(raw)


@dataclass
class Settings:
    """Defaults are safe for a public-facing replica; override with ``Settings.from_env(**overrides)``."""

    model: str = "default"  # checkpoint dir / card path, "default" (refine_server/models/default) or "identity"
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    token: str | None = field(default=None, repr=False)  # bearer token for /v1/*; None = no auth
    max_body_bytes: int = 64 * 1024 * 1024  # whole request body → 413 above
    max_pixels: int = 4096 * 4096  # per image; decompression-bomb guard → 400 above (header check)
    max_persons: int = 64  # refined persons per image → 422 above
    max_annotations_bytes: int = 8 * 1024 * 1024
    max_batch_crops: int = 12  # B: crops per generator call (bigger batches are cut; see bench/serve.py table)
    max_batch_wait_ms: float = 50.0  # T: wait for more crops (only while other requests are being cropped)
    max_queue_requests: int = 32  # requests waiting for the generator → 503 + Retry-After above
    retry_after_s: int = 1
    workers: int = 0  # generator worker threads; 0 = auto (CPU: min(2, cores), CUDA: 1)
    torch_threads: int = 0  # intra-op threads per generator worker; 0 = auto (CPU: cores // workers, CUDA: default)
    io_threads: int = 0  # decode / crop / reinsert / encode threads (1 torch thread each); 0 = auto (cores)
    png_compress_level: int = 1  # zlib level of the response PNG (lossless at every level; 1 = fast)
    warmup: bool = True
    request_timeout_s: float = 120.0  # waiting for the generator
    look: str = "auto"  # camera look: auto (model card) | harmonize | fitted | both (person scope) | off

    @classmethod
    def from_env(cls, **overrides) -> Settings:  # type: ignore[no-untyped-def]
        kw = {}
        for f in fields(cls):
            cast = {"int": int, "float": float, "bool": bool}.get(str(f.type).split(" ")[0], str)
            default = f.default
            kw[f.name] = _env(f.name, default, cast)
        kw.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**kw)
