"""Refinement inside a batch: bounded retries, a circuit breaker, and a list of what stayed unrefined.

No bpy. The batch offers each finished render to :class:`BatchRefiner`; the client already retries each call a
bounded number of times (backoff, ``Retry-After``). After ``max_unreachable`` consecutive calls that could not
reach the server, or one 401, the breaker opens: the server is not called again for the rest of the run, the
renders go on, and every image not refined is named in :attr:`BatchRefiner.unrefined` (a re-run with the server
up refines exactly those, since it skips complete ids and refines only ids without ``refined/<id>.png``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from shared_schema.client import AuthError, RequestRejected, ServerUnavailable
from shared_schema.dataset import DatasetPaths, atomic_write_bytes

#: Consecutive unreachable-server calls (each after the client's own retries) that open the breaker.
MAX_UNREACHABLE = 3
#: Retries of the client inside a batch: 3 attempts, 0.5 s + 1 s of backoff (longer when ``Retry-After`` says so).
BATCH_CLIENT_RETRIES = 2
BATCH_CLIENT_BACKOFF_S = 0.5
#: Seconds a batch waits for a connection (a host that drops packets costs this per attempt, not the read timeout).
BATCH_CONNECT_TIMEOUT_S = 5.0


def refine_stored(client: Any, paths: DatasetPaths) -> Any:
    """POST one stored render (image, instances, annotations) and write ``refined/<id>.png``; returns the client's
    result. The synthetic files are only read; a server answer with different annotations writes nothing."""
    for p in paths.render_files:
        if not p.is_file():
            raise FileNotFoundError(f"missing render output {p}")
    annotations = paths.annotation.read_bytes()
    res = client.refine(paths.image.read_bytes(), paths.instances.read_bytes(), annotations)
    if res.annotations != annotations:
        raise RuntimeError("the server returned different annotations; refined image not written")
    atomic_write_bytes(paths.refined, res.image_png)
    return res


def _unreachable(exc: BaseException) -> bool:
    if isinstance(exc, ServerUnavailable):
        return exc.unreachable
    return isinstance(exc, ConnectionError | TimeoutError)


@dataclass
class BatchRefiner:
    """Refines the renders of one batch run; never raises for a refinement failure."""

    client: Any
    max_unreachable: int = MAX_UNREACHABLE
    retry_rounds: int = 1
    retry_backoff_s: float = 2.0
    refined: list[str] = field(default_factory=list)
    unrefined: dict[str, str] = field(default_factory=dict)
    open_reason: str | None = None
    _pending: list[DatasetPaths] = field(default_factory=list)
    _unreachable_in_a_row: int = 0

    @property
    def is_open(self) -> bool:
        return self.open_reason is not None

    def offer(self, paths: DatasetPaths) -> str:
        """Refine one render now (or record why not); returns a short status for the progress line."""
        if self.is_open:
            self.unrefined[paths.image_id] = f"not sent: {self.open_reason}"
            return "not refined (server given up)"
        return self._attempt(paths, retry_later=True)

    def _attempt(self, paths: DatasetPaths, *, retry_later: bool) -> str:
        try:
            refine_stored(self.client, paths)
        except Exception as exc:
            return self._failed(paths, exc, retry_later=retry_later)
        self._unreachable_in_a_row = 0
        self.refined.append(paths.image_id)
        self.unrefined.pop(paths.image_id, None)
        return "refined"

    def _failed(self, paths: DatasetPaths, exc: Exception, *, retry_later: bool) -> str:
        why = f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"[:300]
        self.unrefined[paths.image_id] = why
        if isinstance(exc, AuthError):
            self.open_reason = f"the server refused the token ({why})"
        elif _unreachable(exc):
            self._unreachable_in_a_row += 1
            if self._unreachable_in_a_row >= self.max_unreachable:
                self.open_reason = f"server unreachable {self._unreachable_in_a_row} times in a row ({why})"
        else:
            self._unreachable_in_a_row = 0
        if retry_later and not isinstance(exc, RequestRejected):
            self._pending.append(paths)
        if self.is_open:
            return f"refine failed ({type(exc).__name__}); server given up for this run"
        return f"refine failed ({type(exc).__name__})"

    def finish(self) -> None:
        """Retry the transient failures (``retry_rounds`` rounds with backoff) unless the breaker is open."""
        for round_ in range(self.retry_rounds):
            if not self._pending or self.is_open:
                break
            time.sleep(min(30.0, self.retry_backoff_s * 2**round_))
            todo, self._pending = self._pending, []
            for paths in todo:
                if self.is_open:
                    break
                self._attempt(paths, retry_later=True)
        self._pending = []
