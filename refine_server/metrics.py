"""Minimal thread-safe Prometheus metrics (text exposition format 0.0.4), no extra dependency."""

from __future__ import annotations

import threading
from collections import defaultdict

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"


class Histogram:
    def __init__(self, name: str, help_: str, buckets: tuple[float, ...]) -> None:
        self.name, self.help, self.buckets = name, help_, buckets
        self.counts = [0] * len(buckets)
        self.sum = 0.0
        self.count = 0

    def observe(self, v: float) -> None:
        for i, b in enumerate(self.buckets):
            if v <= b:
                self.counts[i] += 1
        self.sum += v
        self.count += 1

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for b, c in zip(self.buckets, self.counts, strict=True):
            out.append(f'{self.name}_bucket{{le="{b}"}} {c}')
        out += [
            f'{self.name}_bucket{{le="+Inf"}} {self.count}',
            f"{self.name}_sum {self.sum:.6f}",
            f"{self.name}_count {self.count}",
        ]
        return out


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[tuple[str, str], ...], int] = defaultdict(int)
        self.request_latency = Histogram("refine_request_latency_seconds", "POST /v1/refine wall time", LATENCY_BUCKETS)
        self.generator_latency = Histogram(
            "refine_generator_batch_seconds", "generator time per batch", LATENCY_BUCKETS
        )
        self.batch_crops = Histogram("refine_batch_crops", "crops per generator batch", BATCH_BUCKETS)
        self.batch_requests = Histogram("refine_batch_requests", "requests per generator batch", BATCH_BUCKETS)
        self.crops_total = 0
        self.queue_depth = 0  # requests waiting for / inside the generator
        self.ready = 0

    def count_request(self, path: str, status: int) -> None:
        with self._lock:
            self.requests[(("path", path), ("status", str(status)))] += 1

    def observe_request(self, seconds: float) -> None:
        with self._lock:
            self.request_latency.observe(seconds)

    def observe_batch(self, n_crops: int, n_requests: int, seconds: float) -> None:
        with self._lock:
            self.batch_crops.observe(n_crops)
            self.batch_requests.observe(n_requests)
            self.generator_latency.observe(seconds)
            self.crops_total += n_crops

    def set_queue_depth(self, n: int) -> None:
        with self._lock:
            self.queue_depth = n

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP refine_requests_total HTTP requests by path and status",
                "# TYPE refine_requests_total counter",
            ]
            for labels, v in sorted(self.requests.items()):
                lines.append(f"refine_requests_total{_labels(labels)} {v}")
            lines += [
                "# HELP refine_queue_depth requests waiting for or in the generator",
                "# TYPE refine_queue_depth gauge",
                f"refine_queue_depth {self.queue_depth}",
                "# HELP refine_ready 1 when the model is loaded and warmed up",
                "# TYPE refine_ready gauge",
                f"refine_ready {self.ready}",
                "# HELP refine_crops_total crops refined",
                "# TYPE refine_crops_total counter",
                f"refine_crops_total {self.crops_total}",
            ]
            for h in (self.request_latency, self.generator_latency, self.batch_crops, self.batch_requests):
                lines += h.render()
            return "\n".join(lines) + "\n"
