"""Generate the JSON Schema files in ``shared_schema/jsonschema/`` from the pydantic models.

``python -m shared_schema.jsonschema_export`` rewrites them; ``--check`` exits 1 when a file is out of date.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel

from .annotation import SceneAnnotation
from .api import ErrorBody, RefineOptions, RefineResponse
from .camera import CameraModel
from .config import SceneConfig

OUT_DIR = Path(__file__).resolve().parent / "jsonschema"
MODELS: dict[str, type[BaseModel]] = {
    "scene_config": SceneConfig,
    "scene_annotation": SceneAnnotation,
    "camera_model": CameraModel,
    "refine_options": RefineOptions,
    "refine_response": RefineResponse,
    "error_body": ErrorBody,
}


def render_schemas() -> dict[str, str]:
    """File name → JSON text of every schema."""
    return {
        f"{name}.schema.json": json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
        for name, model in MODELS.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check that the files are up to date")
    args = parser.parse_args(argv)
    stale = []
    for file_name, text in render_schemas().items():
        path = OUT_DIR / file_name
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(file_name)
        if not args.check:
            OUT_DIR.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run python -m shared_schema.jsonschema_export", file=sys.stderr)
        return 1
    print("up to date" if not stale else f"wrote {', '.join(stale)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
