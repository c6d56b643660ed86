"""Finite numbers only: the base config of every contract model and a checked free-form JSON object.

NaN and ±Infinity are rejected everywhere (Python values and the JSON literals ``NaN`` / ``Infinity``): typed
``float`` fields through ``allow_inf_nan=False``, free-form ``dict[str, Any]`` fields through :data:`FiniteDict`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

#: Config of every shared_schema model: unknown fields and non-finite floats are validation errors.
STRICT_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)

_MAX_DEPTH = 64


def require_finite(value: Any, _depth: int = 0) -> Any:
    """``value`` unchanged if no float inside it (dicts, lists, tuples, nested) is NaN or infinite."""
    if _depth > _MAX_DEPTH:
        raise ValueError(f"nested deeper than {_MAX_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("Input should be a finite number")
    if isinstance(value, dict):
        for v in value.values():
            require_finite(v, _depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            require_finite(v, _depth + 1)
    return value


#: A free-form JSON object whose numbers must all be finite.
FiniteDict = Annotated[dict[str, Any], AfterValidator(require_finite)]


class StrictModel(BaseModel):
    """Base of the contract models: extra fields forbidden, NaN/Infinity rejected."""

    model_config = STRICT_CONFIG
