"""Micro-batching: one worker thread owns the model; crops from concurrent requests are batched up to
``max_batch_crops`` crops or ``max_batch_wait_ms`` after the first waiting job, and never run on the event loop.

The window is adaptive: the worker waits for more crops only while other admitted requests are still being
decoded / cropped (``announce``), so a lone request is dispatched at once and adds no batching latency.

On CPU the default is ``workers`` independent worker threads, each with its own model call and
``threads_per_worker`` intra-op threads (1 on a 2-core box); batches larger than ``max_batch_crops`` are cut into
chunks of that size (why: ``bench/serve.py``)."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import torch
from torch import nn

from .metrics import Metrics

log = logging.getLogger("refine_server.batcher")


class QueueFull(RuntimeError):
    """Too many requests waiting for the generator."""


@dataclass
class _Job:
    crops: torch.Tensor  # (n, 3, S, S) float in [-1, 1], CPU
    future: Future
    enqueued: float = field(default_factory=time.perf_counter)
    started: float = 0.0
    generator_s: float = 0.0


class Batcher:
    """Thread-safe front of the model. ``submit`` returns a concurrent Future of ``(refined, queue_s, gen_s)``."""

    def __init__(
        self,
        model: nn.Module,
        device: torch.device,
        *,
        max_batch_crops: int = 16,
        max_wait_ms: float = 5.0,
        max_queue: int = 32,
        metrics: Metrics | None = None,
        workers: int = 1,
        threads_per_worker: int = 0,
        threads_alone: int = 0,
    ) -> None:
        self.model = model
        self.device = device
        self.max_batch = max(1, int(max_batch_crops))
        self.max_wait = max(0.0, float(max_wait_ms)) / 1000.0
        self.max_queue = max(1, int(max_queue))
        self.metrics = metrics or Metrics()
        self._q: queue.Queue[_Job | None] = queue.Queue()
        self._pending = 0
        self._announced = 0  # admitted requests still decoding / cropping (they will submit soon)
        self._lock = threading.Lock()
        self.workers = max(1, int(workers))
        self.threads_per_worker = max(0, int(threads_per_worker))  # 0 = leave torch's setting alone
        # intra-op threads for a batch that runs alone (no other batch running, queued or announced): a lone
        # request may then use every core; 0 = always threads_per_worker
        self.threads_alone = max(0, int(threads_alone))
        self._busy = 0  # workers inside the generator
        self._stopped = False
        self._threads = [
            threading.Thread(target=self._run, name=f"refine-batcher-{i}", daemon=True) for i in range(self.workers)
        ]
        for t in self._threads:
            t.start()

    # -- public ----------------------------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        return self._pending

    def announce(self) -> None:
        """A request was admitted and will submit crops soon (lets the worker wait for it)."""
        with self._lock:
            self._announced += 1

    def withdraw(self) -> None:
        """An announced request will not submit (error, or no person to refine)."""
        with self._lock:
            self._announced = max(0, self._announced - 1)

    def submit(self, crops: torch.Tensor, announced: bool = False) -> Future:
        with self._lock:
            if announced:
                self._announced = max(0, self._announced - 1)
            if self._stopped:
                raise RuntimeError("batcher stopped")
            if self._pending >= self.max_queue:
                raise QueueFull(f"{self._pending} requests already waiting (limit {self.max_queue})")
            self._pending += 1
            self.metrics.set_queue_depth(self._pending)
        job = _Job(crops, Future())
        self._q.put(job)
        return job.future

    async def run(self, crops: torch.Tensor, announced: bool = False) -> tuple[torch.Tensor, float, float]:
        """Await the refined crops from the event loop (the work itself runs in the worker thread)."""
        return await asyncio.wrap_future(self.submit(crops, announced))

    def run_sync(self, crops: torch.Tensor) -> torch.Tensor:
        return self.submit(crops).result()[0]

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        for _ in self._threads:
            self._q.put(None)
        for t in self._threads:
            t.join(timeout=10)

    # -- worker ----------------------------------------------------------------------------------------------
    def _done(self, job: _Job) -> None:
        with self._lock:
            self._pending -= 1
            self.metrics.set_queue_depth(self._pending)

    def _run(self) -> None:
        if self.threads_per_worker:
            torch.set_num_threads(self.threads_per_worker)  # per OS thread with the OpenMP backend
        carry: _Job | None = None
        while True:
            first = carry if carry is not None else self._q.get()
            carry = None
            if first is None:
                return
            jobs = [first]
            n = first.crops.shape[0]
            deadline = time.perf_counter() + self.max_wait
            while n < self.max_batch:
                if self._q.empty() and self._announced == 0:
                    break  # nobody else is on the way: do not wait
                timeout = deadline - time.perf_counter()
                try:
                    nxt = self._q.get(timeout=timeout) if timeout > 0 else self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._q.put(None)
                    break
                if n + nxt.crops.shape[0] > self.max_batch:
                    carry = nxt  # starts the next batch
                    break
                jobs.append(nxt)
                n += nxt.crops.shape[0]
            self._process(jobs)

    def _process(self, jobs: list[_Job]) -> None:
        start = time.perf_counter()
        with self._lock:
            alone = self._busy == 0 and self._q.empty() and self._announced == 0
            self._busy += 1
        if self.threads_alone and self.threads_per_worker:
            torch.set_num_threads(self.threads_alone if alone else self.threads_per_worker)
        try:
            x = torch.cat([j.crops for j in jobs], dim=0)
            outs = []
            with torch.inference_mode():
                for i in range(0, x.shape[0], self.max_batch):  # one oversize request is split into chunks
                    chunk = x[i : i + self.max_batch].to(self.device, non_blocking=True)
                    outs.append(self.model(chunk).float().cpu())
            y = torch.cat(outs, dim=0) if outs else x
            gen_s = time.perf_counter() - start
            self.metrics.observe_batch(int(x.shape[0]), len(jobs), gen_s)
            i = 0
            for j in jobs:
                k = j.crops.shape[0]
                self._done(j)
                j.future.set_result((y[i : i + k], start - j.enqueued, gen_s))
                i += k
        except Exception as e:  # never kill the worker
            log.exception("generator batch failed")
            for j in jobs:
                if not j.future.done():
                    self._done(j)
                    j.future.set_exception(e)
        finally:
            with self._lock:
                self._busy -= 1
