"""Server settings: every limit is a field, set by ``serve`` flags or ``REFINE_<FIELD>`` environment variables.

Memory (estimates by ``refine_server.cost``): ``max_request_mib`` refuses a single request whose estimate is
larger (422, before any pixel is decoded when the annotated areas already say so); ``memory_budget_mib`` bounds
the sum of the estimates of the requests being served (429 + Retry-After above it; one request is always
admitted). What the defaults allow is measured by ``bench/server_limits.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Defaults suit one replica behind a load balancer; ``Settings(**overrides)`` also reads ``REFINE_*``."""

    model_config = SettingsConfigDict(env_prefix="REFINE_", extra="forbid", validate_default=True)

    model: str = "default"  # checkpoint dir / card path, "default" (refine_server/models/default) or "identity"
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    host: str = "127.0.0.1"  # serve: interface to listen on
    port: int = Field(8000, ge=0, le=65535)  # serve: TCP port
    token: SecretStr | None = Field(None, repr=False)  # bearer token for /v1/*; unset = anonymous (see serve)
    allow_anonymous: bool = False  # serve: start without a token on a non-loopback host
    max_body_bytes: int = Field(64 * 1024 * 1024, ge=1)  # whole request body → 413 above
    max_pixels: int = Field(4096 * 4096, ge=1)  # per image, from the header before decoding → 400 above
    max_persons: int = Field(64, ge=1)  # refined persons per image → 422 above
    max_annotations_bytes: int = Field(8 * 1024 * 1024, ge=1)
    max_request_mib: float = Field(1024.0, gt=0)  # estimated working memory of one request → 422 above
    memory_budget_mib: float = Field(1024.0, gt=0)  # estimated memory of the requests in flight → 429 above
    header_timeout_s: float = Field(10.0, gt=0)  # request line + headers must arrive within this → closed
    body_idle_timeout_s: float = Field(10.0, gt=0)  # longest pause between body chunks → 408
    body_timeout_s: float = Field(60.0, gt=0)  # whole body must arrive within this → 408
    max_batch_crops: int = Field(12, ge=1)  # B: crops per generator call (bigger batches are cut)
    max_batch_wait_ms: float = Field(50.0, ge=0)  # T: wait for more crops (only while others are being cropped)
    max_queue_requests: int = Field(32, ge=1)  # requests waiting for the generator → 503 + Retry-After above
    retry_after_s: int = Field(1, ge=0)
    workers: int = Field(0, ge=0)  # generator worker threads; 0 = auto (CPU: min(2, cores), CUDA: 1)
    torch_threads: int = Field(0, ge=0)  # intra-op threads per worker; 0 = auto (CPU: cores // workers)
    io_threads: int = Field(0, ge=0)  # decode / crop / reinsert / encode threads; 0 = auto (cores)
    png_compress_level: int = Field(1, ge=0, le=9)  # zlib level of the response PNG (lossless at every level)
    warmup: bool = True
    request_timeout_s: float = Field(120.0, gt=0)  # waiting for the generator
    look: Literal["auto", "harmonize", "fitted", "both", "off"] = "auto"  # camera look (auto = model card)

    @property
    def token_value(self) -> str | None:
        """The bearer token, or None when anonymous (an empty token counts as none)."""
        return self.token.get_secret_value() or None if self.token is not None else None
