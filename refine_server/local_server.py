"""A real ``python -m refine_server serve`` subprocess on 127.0.0.1 for the demo and the benchmarks."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from shared_schema.client import RefineClient


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_server(
    serve_args: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdout: IO[str] | None = None,
    ready_timeout_s: float = 180.0,
) -> Iterator[str]:
    """Start ``serve --host 127.0.0.1 --port <free> *serve_args``, wait until ready, yield its URL, stop it.

    Raises ``shared_schema.client.ServerUnavailable`` when it dies or is not ready in ``ready_timeout_s``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "refine_server", "serve", "--host", "127.0.0.1", "--port", str(port), *serve_args]
    proc = subprocess.Popen(cmd, cwd=cwd, env=dict(env) if env is not None else None, stdout=stdout)
    try:
        RefineClient(url, timeout=2).wait_ready(
            timeout=ready_timeout_s, interval=0.5, alive=lambda: proc.poll() is None
        )
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
