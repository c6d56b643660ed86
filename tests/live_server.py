"""A real refinement server in a subprocess (``python -m refine_server serve --model identity``) for the tests of
the render side (add-on, batch, container contents)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from refine_server.local_server import free_port as free_port
from refine_server.local_server import serve_local

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def identity_server(log: Path, *, token: str | None = None) -> Iterator[str]:
    """Serve the identity model on 127.0.0.1 until the block ends; yields the base URL. Skips the test when
    ``refine_server`` (torch, fastapi) is not importable; fails it when the server does not get ready."""
    try:
        import refine_server.serve_cli  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"refine_server not available: {exc}")
    from shared_schema.client import ServerUnavailable

    env = dict(os.environ, OMP_NUM_THREADS="1")
    if token:
        env["REFINE_TOKEN"] = token
    args = ["--model", "identity", "--device", "cpu", "--torch-threads", "1", "--log-level", "warning"]
    with log.open("w") as fh, contextlib.ExitStack() as stack:
        serving = serve_local(
            args, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT, ready_timeout_s=90, ready_interval_s=0.3
        )
        try:
            server = stack.enter_context(serving)
        except ServerUnavailable as exc:
            pytest.fail(f"{exc}: {log.read_text()[-2000:]}")
        yield server.url
