"""A real refinement server in a subprocess (``python -m refine_server serve --model identity``) for the tests of
the render side (add-on, batch, container contents)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def identity_server(log: Path, *, token: str | None = None) -> Iterator[str]:
    """Serve the identity model on 127.0.0.1 until the block ends; yields the base URL. Skips the test when
    ``refine_server`` (torch, fastapi) is not importable; fails it when the server does not get ready."""
    try:
        import refine_server.serve_cli  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"refine_server not available: {exc}")
    from shared_schema.client import RefineClient, ServerUnavailable

    port = free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if token:
        env["REFINE_TOKEN"] = token
    cmd = [
        sys.executable,
        "-m",
        "refine_server",
        "serve",
        "--model",
        "identity",
        "--device",
        "cpu",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--torch-threads",
        "1",
        "--log-level",
        "warning",
    ]
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=str(REPO), env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            RefineClient(url, timeout=1).wait_ready(timeout=90, interval=0.3, alive=lambda: proc.poll() is None)
        except ServerUnavailable as exc:
            pytest.fail(f"{exc}: {log.read_text()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
