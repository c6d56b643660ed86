"""An empty-room background ("clean plate") by a per-pixel temporal median: the pure-numpy implementation lives in
:mod:`shared_schema.clean_plate` (the refiner's trainer uses it too); this module keeps the add-on's import path."""

from __future__ import annotations

from shared_schema.clean_plate import (
    MAX_STACK_BYTES,
    ROW_BLOCK,
    ThinningBuffer,
    check_frames,
    even_indices,
    temporal_median,
)

__all__ = ["MAX_STACK_BYTES", "ROW_BLOCK", "ThinningBuffer", "check_frames", "even_indices", "temporal_median"]
