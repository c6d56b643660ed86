"""What one ``POST /v1/refine`` costs in working memory, and the budget shared by the requests in flight.

The estimate follows the pipeline's big arrays: per image pixel the decoded image and instance map, their
bincounts, the float copy the crops are sampled from, the output and the PNG encoder (``BYTES_PER_IMAGE_PIXEL``);
per person the reinsertion grid, padded to the largest refined person (``n * max_person_pixels *
BYTES_PER_GRID_PIXEL``); per crop its tensors at the model's input size. The constants are fitted with
``bench/server_limits.py``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

BYTES_PER_IMAGE_PIXEL = 24
BYTES_PER_GRID_PIXEL = 64
BYTES_PER_CROP_VALUE = 4 * 4  # float32 crops, generator output, refined copy, grid
MIB = 1024 * 1024


@dataclass(frozen=True)
class RequestCost:
    """The inputs of the estimate and the estimate itself."""

    width: int
    height: int
    persons: int
    max_person_pixels: int
    crop_size: int

    @property
    def nbytes(self) -> int:
        image = BYTES_PER_IMAGE_PIXEL * self.width * self.height
        grid = BYTES_PER_GRID_PIXEL * self.persons * self.max_person_pixels
        crops = BYTES_PER_CROP_VALUE * 3 * self.crop_size * self.crop_size * self.persons
        return image + grid + crops

    @property
    def mib(self) -> float:
        return self.nbytes / MIB


class MemoryBudget:
    """Estimated bytes of the requests in flight, bounded by ``limit_bytes`` (thread-safe).

    A request is always admitted when nothing else is in flight, so one request under the per-request bound can
    always run, and a larger budget only adds concurrency."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit = int(limit_bytes)
        self._used = 0
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        return self._used

    def reserve(self, nbytes: int) -> Reservation | None:
        """A reservation of ``nbytes``, or None when the budget is in use by others."""
        with self._lock:
            if self._used and self._used + nbytes > self.limit:
                return None
            self._used += nbytes
        return Reservation(self, nbytes)

    def _grow(self, reservation: Reservation, nbytes: int) -> bool:
        with self._lock:
            extra = nbytes - reservation.nbytes
            if extra <= 0:
                return True
            others = self._used - reservation.nbytes
            if others and self._used + extra > self.limit:
                return False
            self._used += extra
            reservation.nbytes = nbytes
            return True

    def _release(self, reservation: Reservation) -> None:
        with self._lock:
            self._used -= reservation.nbytes
            reservation.nbytes = 0


class Reservation:
    """A share of a :class:`MemoryBudget`; release it exactly once (``release`` is idempotent)."""

    def __init__(self, budget: MemoryBudget, nbytes: int) -> None:
        self.budget, self.nbytes = budget, nbytes

    def grow_to(self, nbytes: int) -> bool:
        """Raise the reservation to ``nbytes`` (False, unchanged, when that does not fit beside the others)."""
        return self.budget._grow(self, nbytes)

    def release(self) -> None:
        self.budget._release(self)
