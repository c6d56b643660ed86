"""Multi-worker batcher: every job gets its own crops back, batches are capped, workers stop cleanly."""

from __future__ import annotations

from concurrent.futures import wait

import torch
from torch import nn

from refine_server.batcher import Batcher


class _Double(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2


def test_two_workers_return_each_jobs_own_crops_and_cap_batches() -> None:
    b = Batcher(
        _Double(),
        torch.device("cpu"),
        max_batch_crops=4,
        max_wait_ms=1,
        workers=2,
        threads_per_worker=1,
        threads_alone=2,
    )
    try:
        assert len(b._threads) == 2
        jobs = [torch.full((n, 3, 8, 8), float(i)) for i, n in enumerate([1, 3, 6, 2, 4, 1, 9])]
        futs = [b.submit(x) for x in jobs]
        wait(futs, timeout=30)
        for x, f in zip(jobs, futs, strict=True):
            y, queue_s, gen_s = f.result()
            assert torch.equal(y, x * 2) and queue_s >= 0 and gen_s >= 0
        text = b.metrics.render()
        assert "refine_batch_crops_count" in text
        assert b.metrics.crops_total == sum(x.shape[0] for x in jobs)
        assert b.pending == 0
    finally:
        b.stop()
    assert not any(t.is_alive() for t in b._threads)
