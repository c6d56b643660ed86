"""``python -m refine_server serve``: run the HTTP server with uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("serve", help="serve POST /v1/refine (FastAPI + uvicorn; docs at /docs)")
    p.add_argument("--model", default=os.environ.get("REFINE_MODEL", "default"),
                   help="checkpoint directory or model_card.json; 'default' = refine_server/models/default; "
                        "'identity' = no-op model for plumbing tests")  # fmt: skip
    p.add_argument("--device", default=os.environ.get("REFINE_DEVICE", "auto"), help="auto | cpu | cuda | cuda:N")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--token", default=None, help="bearer token required on /v1/* (or env REFINE_TOKEN)")
    p.add_argument("--max-body-bytes", type=int, default=None)
    p.add_argument("--max-pixels", type=int, default=None)
    p.add_argument("--max-persons", type=int, default=None)
    p.add_argument("--max-batch-crops", type=int, default=None, help="B: crops per generator call")
    p.add_argument("--max-batch-wait-ms", type=float, default=None, help="T: batching window")
    p.add_argument("--max-queue-requests", type=int, default=None, help="queue limit before 503")
    p.add_argument("--workers", type=int, default=None, help="generator worker threads (0 = auto)")
    p.add_argument("--torch-threads", type=int, default=None, help="intra-op threads per worker (0 = auto)")
    p.add_argument("--io-threads", type=int, default=None, help="decode/crop/encode threads (0 = auto)")
    p.add_argument("--png-compress-level", type=int, default=None, choices=range(10), metavar="0-9",
                   help="zlib level of the response PNG (lossless at every level)")
    p.add_argument("--look", default=None, choices=["auto", "harmonize", "fitted", "both", "off"],
                   help="camera look after reinsertion: auto = the model card's choice; harmonize / fitted / both "
                        "= the look over real-photo backgrounds; off = none")  # fmt: skip
    p.add_argument("--log-level", default="info")
    return p


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app, resolve_device, resolve_model_path
    from .checkpoint import CheckpointError, load_card
    from .settings import Settings

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    token = args.token or os.environ.get("REFINE_TOKEN") or None
    settings = Settings.from_env(
        model=args.model, device=args.device, token=token, max_body_bytes=args.max_body_bytes,
        max_pixels=args.max_pixels, max_persons=args.max_persons, max_batch_crops=args.max_batch_crops,
        max_batch_wait_ms=args.max_batch_wait_ms, max_queue_requests=args.max_queue_requests,
        torch_threads=args.torch_threads, workers=args.workers, io_threads=args.io_threads,
        png_compress_level=args.png_compress_level, look=args.look,
    )  # fmt: skip
    from .refine import LOOK_OVERRIDES

    if settings.look not in LOOK_OVERRIDES:
        print(f"error: look must be one of {', '.join(LOOK_OVERRIDES)}, got {settings.look!r}", file=sys.stderr)
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
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0
