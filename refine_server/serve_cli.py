"""``python -m refine_server serve``: run the HTTP server with uvicorn.

Every setting is a flag here or a ``REFINE_<NAME>`` environment variable (``refine_server.settings``). The bearer
token comes from ``REFINE_TOKEN`` or ``--token-file`` only, never from the command line (visible in ``ps``). A
server without a token refuses a non-loopback ``--host`` unless ``--allow-anonymous`` (or
``REFINE_ALLOW_ANONYMOUS=1``) asks for it; every open server logs a warning.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from pathlib import Path
from typing import Any

import uvicorn

log = logging.getLogger("refine_server")

_FLAGS: list[tuple[str, type, str]] = [
    ("max-body-bytes", int, "whole request body, bytes (413 above)"),
    ("max-pixels", int, "pixels per image (400 above)"),
    ("max-persons", int, "persons to refine per image (422 above)"),
    ("max-request-mib", float, "estimated working memory of one request, MiB (422 above)"),
    ("memory-budget-mib", float, "estimated working memory of all requests in flight, MiB (429 above)"),
    ("header-timeout-s", float, "request line + headers must arrive within this (408, closed)"),
    ("body-idle-timeout-s", float, "longest pause while the body is read (408)"),
    ("body-timeout-s", float, "the whole body must arrive within this (408)"),
    ("max-batch-crops", int, "B: crops per generator call"),
    ("max-batch-wait-ms", float, "T: batching window"),
    ("max-queue-requests", int, "requests waiting for the generator (503 above)"),
    ("workers", int, "generator worker threads (0 = auto)"),
    ("torch-threads", int, "intra-op threads per worker (0 = auto)"),
    ("io-threads", int, "decode/crop/encode threads (0 = auto)"),
]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "serve",
        help="serve POST /v1/refine (FastAPI + uvicorn; docs at /docs)",
        description=__doc__,
        allow_abbrev=False,
    )
    model_help = (
        "checkpoint directory or model_card.json; 'default' = refine_server/models/default; "
        "'identity' = no-op model for plumbing tests (env REFINE_MODEL)"
    )
    p.add_argument("--model", default=None, help=model_help)
    p.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N (env REFINE_DEVICE)")
    p.add_argument("--host", default=None, help="interface (default 127.0.0.1, env REFINE_HOST)")
    p.add_argument("--port", type=int, default=None, help="TCP port (default 8000, env REFINE_PORT)")
    p.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help="file holding the bearer token required on /v1/* (or env REFINE_TOKEN)",
    )
    p.add_argument(
        "--allow-anonymous",
        action="store_true",
        default=None,
        help="serve /v1/* without a token on a non-loopback host (REFINE_ALLOW_ANONYMOUS=1)",
    )
    for name, kind, help_ in _FLAGS:
        p.add_argument(f"--{name}", type=kind, default=None, help=help_)
    p.add_argument(
        "--png-compress-level",
        type=int,
        default=None,
        choices=range(10),
        metavar="0-9",
        help="zlib level of the response PNG (lossless at every level)",
    )
    p.add_argument(
        "--look",
        default=None,
        choices=["auto", "harmonize", "fitted", "both", "off"],
        help="camera look after reinsertion: auto = the model card's choice; harmonize / fitted / both "
        "= the look over real-photo backgrounds; off = none (env REFINE_LOOK)",
    )
    p.add_argument("--log-level", default="info")
    return p


def read_token_file(path: Path) -> str:
    """The token in ``path`` (surrounding whitespace stripped); ValueError when it is empty or unreadable."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read --token-file {path}: {e}") from e
    if not token:
        raise ValueError(f"--token-file {path} is empty")
    return token


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def settings_from_args(args: argparse.Namespace) -> Any:
    """Settings from the environment, overridden by the flags that were given."""
    from .settings import Settings

    names = ["model", "device", "host", "port", "allow_anonymous", "png_compress_level", "look"]
    names += [name.replace("-", "_") for name, _, _ in _FLAGS]
    overrides: dict[str, Any] = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    if args.token_file is not None:
        overrides["token"] = read_token_file(args.token_file)
    return Settings(**overrides)


def check_access(settings: Any) -> str | None:
    """An error message when this server must not start open; logs a warning for every open server."""
    if settings.token_value:
        return None
    if not is_loopback(settings.host) and not settings.allow_anonymous:
        return (
            f"refusing to serve /v1/* without a token on {settings.host}: set REFINE_TOKEN or --token-file, "
            "or pass --allow-anonymous (REFINE_ALLOW_ANONYMOUS=1) to accept anonymous requests"
        )
    log.warning("no token: /v1/* accepts anonymous requests on %s:%s", settings.host, settings.port)
    return None


def uvicorn_config(app: Any, settings: Any, **kwargs: Any) -> uvicorn.Config:
    """uvicorn's config for ``app``: host, port and the header timeout of ``settings``."""
    from .protocol import with_header_timeout

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=with_header_timeout(settings.header_timeout_s),
        access_log=False,
        **kwargs,
    )


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from shared_schema.validation import first_error

    from .app import create_app, resolve_device, resolve_model_path
    from .checkpoint import CheckpointError, load_card

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_from_args(args)
    except ValidationError as e:
        print(f"error: invalid setting {first_error(e)}", file=sys.stderr)
        return 2
    if (problem := check_access(settings)) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if settings.model != "identity":
        try:
            load_card(resolve_model_path(settings.model))
        except CheckpointError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    try:
        resolve_device(settings.device)
    except (RuntimeError, ValueError) as e:
        print(f"error: bad --device {settings.device!r}: {e}", file=sys.stderr)
        return 2
    uvicorn.Server(uvicorn_config(create_app(settings), settings, log_level=args.log_level)).run()
    return 0
