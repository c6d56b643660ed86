"""One line that names the first problem of a pydantic ``ValidationError`` (for CLI errors and 4xx bodies)."""

from __future__ import annotations

from pydantic import ValidationError


def first_error(exc: ValidationError) -> str:
    """``"<field.path>: <message>"`` of the first error (``(root)`` when it has no location)."""
    errors = exc.errors()
    if not errors:
        return str(exc).splitlines()[0]
    first = errors[0]
    where = ".".join(str(x) for x in first.get("loc", ())) or "(root)"
    return f"{where}: {first.get('msg', '')}"
