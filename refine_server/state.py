"""The server's state: settings, loaded model, micro-batcher, thread pools, metrics and memory budget."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from .batcher import Batcher
from .checkpoint import CheckpointError, identity_model, load_card, load_model
from .cost import MIB, MemoryBudget
from .metrics import Metrics
from .model_card import ModelCard
from .settings import Settings

log = logging.getLogger("refine_server")

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models" / "default"


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_model_path(model: str) -> Path:
    """'default' → refine_server/models/default; errors name the path that is missing."""
    path = DEFAULT_MODEL_DIR if model == "default" else Path(model)
    card = path / "model_card.json" if path.is_dir() or not path.suffix else path
    if not card.is_file():
        hint = " (train one, pass --model PATH, or --model identity for plumbing tests)" if model == "default" else ""
        raise CheckpointError(f"no model checkpoint at {card}{hint}")
    return path


def load_any(model: str, device: torch.device) -> tuple[torch.nn.Module, ModelCard]:
    if model == "identity":
        gen, card = identity_model()
        return gen.to(device), card
    path = resolve_model_path(model)
    load_card(path)
    return load_model(path, device=device)


def cpu_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def plan_threads(settings: Settings, device: torch.device) -> tuple[int, int, int]:
    """(generator workers, torch threads per worker (0 = leave torch's default), io threads).

    CPU: independent workers with few intra-op threads each (no OpenMP barrier across cores, so another process
    on the machine slows one worker instead of stalling every layer), and as many io threads as cores."""
    cores = cpu_cores()
    if device.type == "cpu":
        workers = settings.workers or min(2, cores)
        threads = settings.torch_threads or max(1, cores // workers)
    else:
        workers = settings.workers or 1
        threads = settings.torch_threads
    io = settings.io_threads or cores
    return max(1, workers), max(0, threads), max(1, io)


def _single_torch_thread() -> None:
    torch.set_num_threads(1)  # small ops (grid_sample, casts): OpenMP fan-out costs more than it saves


def _libc_malloc_trim() -> ctypes._NamedFuncPointer | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None  # not glibc


_MALLOC_TRIM = _libc_malloc_trim()


def release_free_memory() -> None:
    """Hand freed heap pages back to the OS (glibc keeps them in its arenas after a big request)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


class ServerState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.model: torch.nn.Module | None = None
        self.card: ModelCard | None = None
        self.device = resolve_device(settings.device)
        self.batcher: Batcher | None = None
        self.budget = MemoryBudget(int(settings.memory_budget_mib * MIB))
        self.workers, self.torch_threads, self.io_threads = plan_threads(settings, self.device)
        self.io_pool = ThreadPoolExecutor(
            self.io_threads, thread_name_prefix="refine-io", initializer=_single_torch_thread
        )
        self.ready = False
        self.error: str | None = None

    def _make_batcher(self, model: torch.nn.Module) -> Batcher:
        s = self.settings
        alone = cpu_cores() if self.device.type == "cpu" and not s.torch_threads else 0
        return Batcher(
            model,
            self.device,
            max_batch_crops=s.max_batch_crops,
            max_wait_ms=s.max_batch_wait_ms,
            max_queue=s.max_queue_requests,
            metrics=self.metrics,
            workers=self.workers,
            threads_per_worker=self.torch_threads,
            threads_alone=alone,
        )

    def start(self, preloaded: tuple[torch.nn.Module, ModelCard] | None) -> None:
        """Load (unless preloaded), start the workers, warm up. Runs in a thread."""
        s = self.settings
        try:
            model, card = preloaded if preloaded is not None else load_any(s.model, self.device)
            model = model.to(self.device).eval()
            self.model, self.card = model, card
            self.batcher = self._make_batcher(model)
            if s.warmup:  # every worker runs a full-size batch once (allocator, oneDNN primitives)
                x = torch.zeros((min(2, s.max_batch_crops), 3, card.crop_size, card.crop_size))
                futs = [self.batcher.submit(x) for _ in range(self.workers)]
                for f in futs:
                    f.result()
            self.ready = True
            self.metrics.ready = 1
            log.info(
                "model %s ready on %s (%d workers x %d torch threads, %d io threads)",
                card.model_id,
                self.device,
                self.workers,
                self.torch_threads,
                self.io_threads,
            )
        except Exception as e:
            self.error = f"{type(e).__name__}: {e}"
            log.error("model load failed: %s", self.error)
