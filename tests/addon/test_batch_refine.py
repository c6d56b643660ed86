"""blender_addon.batch_refine (no bpy): the circuit breaker, what is retried, and the unrefined ids."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from blender_addon.batch_refine import BatchRefiner
from shared_schema.client import AuthError, RequestRejected, ServerUnavailable
from shared_schema.dataset import DatasetPaths


def _renders(root: Path, n: int) -> list[DatasetPaths]:
    out = []
    for k in range(n):
        paths = DatasetPaths(root, f"000000_{k:06d}")
        for p, data in zip(paths.render_files, (b"IMG", b"INST", b'{"a": 1}'), strict=True):
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        out.append(paths)
    return out


class _Client:
    """Raises the queued exceptions one per call, then echoes (annotations back as sent)."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def refine(self, image_png: bytes, instances_png: bytes, annotations_json: bytes):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return SimpleNamespace(image_png=b"REFINED", annotations=annotations_json, model_id="m", timings={})


def _down() -> ServerUnavailable:
    return ServerUnavailable("refused")


def test_breaker_opens_after_consecutive_unreachable_calls(tmp_path):
    renders = _renders(tmp_path, 5)
    client = _Client(*[_down() for _ in range(10)])
    refiner = BatchRefiner(client, max_unreachable=3, retry_backoff_s=0)
    statuses = [refiner.offer(p) for p in renders]
    refiner.finish()
    assert client.calls == 3  # images 4 and 5 were never sent, and nothing is retried at the end
    assert refiner.is_open and "3 times in a row" in refiner.open_reason
    assert "given up" in statuses[2] and statuses[3] == statuses[4] == "not refined (server given up)"
    assert sorted(refiner.unrefined) == [p.image_id for p in renders] and not refiner.refined
    assert all(p.is_complete() and not p.refined.exists() for p in renders)


def test_a_success_resets_the_count_and_transient_failures_are_retried(tmp_path):
    renders = _renders(tmp_path, 4)
    client = _Client(_down(), _down(), ServerUnavailable("503 queue_full: busy", status=503))
    refiner = BatchRefiner(client, max_unreachable=2, retry_backoff_s=0)
    refiner.offer(renders[0])  # unreachable 1
    refiner.offer(renders[1])  # unreachable 2 -> opens
    assert refiner.is_open
    fresh = BatchRefiner(_Client(_down(), ServerUnavailable("busy", status=503)), max_unreachable=2, retry_backoff_s=0)
    fresh.offer(renders[2])  # unreachable 1
    fresh.offer(renders[3])  # 503 (reachable): the count restarts
    assert not fresh.is_open and set(fresh.unrefined) == {renders[2].image_id, renders[3].image_id}
    fresh.finish()  # both retried once, and succeed
    assert fresh.refined == [renders[2].image_id, renders[3].image_id] and not fresh.unrefined
    assert renders[3].refined.read_bytes() == b"REFINED"


def test_refused_token_opens_at_once_and_rejections_are_not_retried(tmp_path):
    renders = _renders(tmp_path, 3)
    refiner = BatchRefiner(_Client(AuthError("401 unauthorized", status=401)), retry_backoff_s=0)
    refiner.offer(renders[0])
    assert refiner.is_open and "token" in refiner.open_reason
    client = _Client(RequestRejected("422 invalid_annotations: bad", status=422))
    other = BatchRefiner(client, retry_backoff_s=0)
    other.offer(renders[1])
    other.offer(renders[2])
    other.finish()
    assert client.calls == 2 and not other.is_open  # the rejected image is not sent again
    assert list(other.unrefined) == [renders[1].image_id] and other.refined == [renders[2].image_id]


@pytest.mark.parametrize("exc", [ConnectionError("down"), TimeoutError("slow")])
def test_plain_connection_errors_count_as_unreachable(tmp_path, exc):
    (paths,) = _renders(tmp_path, 1)
    refiner = BatchRefiner(_Client(exc), max_unreachable=1, retry_backoff_s=0)
    refiner.offer(paths)
    assert refiner.is_open
