"""Command line: ``python -m refine_server serve|train|evaluate ...``.

Each subcommand is a module exposing ``add_parser(subparsers)`` and ``run(args) -> int``; adding one is a line in
``SUBCOMMANDS``. Modules that are not installed yet (training, evaluation) are skipped.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from types import ModuleType

from .checkpoint import CheckpointError

SUBCOMMANDS: dict[str, str] = {
    "serve": "refine_server.serve_cli",
    "train": "refine_server.training.cli",
    "evaluate": "refine_server.evaluation.cli",
}


def _load(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and (module == e.name or module.startswith(e.name + ".")):
            return None  # the subcommand's package does not exist (yet)
        raise


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(prog="refine_server", description="Render & Refine refinement service")
    sub = parser.add_subparsers(dest="command", required=True)
    mods: dict[str, ModuleType] = {}
    for name, module in SUBCOMMANDS.items():
        mod = _load(module)
        if mod is not None:
            mod.add_parser(sub)
            mods[name] = mod
    return parser, mods


def main(argv: list[str] | None = None) -> int:
    parser, mods = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(mods[args.command].run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, CheckpointError) as exc:  # bad paths, invalid configs/cards: the user can fix these
        if os.environ.get("REFINE_DEBUG") == "1":
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
