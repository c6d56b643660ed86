"""A real ``python -m refine_server serve`` subprocess on 127.0.0.1 for the demo, the benchmarks and the tests.

``local_server`` yields the base URL; ``serve_local`` yields a :class:`LocalServer` (URL and process, e.g. for
``/proc/<pid>``). Both pick a free port, wait until ``/readyz`` answers, and stop the server when the block ends.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from shared_schema.client import RefineClient

Output = IO[str] | int | None  # what ``subprocess.Popen`` takes for stdout / stderr


@dataclass(frozen=True)
class LocalServer:
    """A running local server: its base URL and its process."""

    url: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_local(
    serve_args: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdout: Output = None,
    stderr: Output = None,
    ready_timeout_s: float = 180.0,
    ready_interval_s: float = 0.5,
) -> Iterator[LocalServer]:
    """Start ``serve --host 127.0.0.1 --port <free> *serve_args``, wait until ready, yield it, stop it.

    ``env`` replaces the environment (pass ``{**os.environ, ...}`` to extend it); ``stdout`` / ``stderr`` go to
    ``subprocess.Popen`` (e.g. a log file and ``subprocess.STDOUT``). Raises
    ``shared_schema.client.ServerUnavailable`` when it dies or is not ready in ``ready_timeout_s``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "refine_server", "serve", "--host", "127.0.0.1", "--port", str(port), *serve_args]
    proc = subprocess.Popen(cmd, cwd=cwd, env=dict(env) if env is not None else None, stdout=stdout, stderr=stderr)
    try:
        RefineClient(url, timeout=2).wait_ready(
            timeout=ready_timeout_s, interval=ready_interval_s, alive=lambda: proc.poll() is None
        )
        yield LocalServer(url, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def local_server(
    serve_args: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdout: Output = None,
    ready_timeout_s: float = 180.0,
) -> Iterator[str]:
    """:func:`serve_local`, yielding only the base URL."""
    with serve_local(serve_args, cwd=cwd, env=env, stdout=stdout, ready_timeout_s=ready_timeout_s) as server:
        yield server.url
