"""Schema version of every document this package reads and writes."""

from __future__ import annotations

SCHEMA_VERSION = "1.0"
SUPPORTED_MAJOR = 1


def check_schema_version(value: str) -> str:
    """Accept ``"1.x"``; reject another major version with a clear message."""
    try:
        major = int(str(value).split(".")[0])
    except ValueError as exc:
        raise ValueError(f"schema_version {value!r} is not of the form MAJOR.MINOR") from exc
    if major != SUPPORTED_MAJOR:
        raise ValueError(
            f"unsupported schema_version {value!r}: this build reads major version {SUPPORTED_MAJOR} "
            f"(current {SCHEMA_VERSION})"
        )
    return str(value)
