"""A batch whose refinement server is down, side by side in one run: prints one JSON line.

    .venv/bin/python bench/dead_server_batch.py [--count 3] [--resolution 64] [--samples 1] [--before DIR]

Runs ``render_batch.py`` of this checkout three ways on the same tiny config: without ``--refine-url`` (the render
time alone), with ``--refine-url`` pointing at a port nothing listens on, and, with ``--before DIR`` (another
checkout, e.g. ``git archive <commit> | tar -x -C DIR``), that checkout's script against the same dead port.
Fields: wall seconds and exit code of each, and the dead-server overhead over rendering alone.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # closed again: nothing listens there


def _write_config(repo: Path, path: Path, resolution: int, samples: int) -> None:
    """The tiny test scene, written by ``repo``'s own schema (an older checkout may not read a newer config)."""
    code = (
        "import sys; from tests.scene.conftest import small_config; open(sys.argv[1], 'w').write(small_config("
        "res=int(sys.argv[2]), samples=int(sys.argv[3]), standing=(1, 1), sitting=(1, 1)).dump())"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(path), str(resolution), str(samples)],
        check=True,
        cwd=repo,
        env=dict(os.environ, PYTHONPATH=str(repo)),
    )


def _run(repo: Path, args: list[str]) -> tuple[float, int]:
    env = dict(os.environ, PYTHONPATH=str(repo), OMP_NUM_THREADS="1")
    env.pop("REFINE_TOKEN", None)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(repo / "blender_addon" / "render_batch.py"), "--", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
    )
    return round(time.perf_counter() - t0, 2), proc.returncode


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--samples", type=int, default=1)
    p.add_argument("--before", type=Path, default=None, help="another checkout to run against the dead server too")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:

        def args(out: str, *extra: str, repo: Path = REPO) -> list[str]:
            cfg = Path(tmp) / f"cfg_{out}.json"
            _write_config(repo, cfg, a.resolution, a.samples)
            return [
                "--config",
                str(cfg),
                "--count",
                str(a.count),
                "--seed",
                "1",
                "--out",
                str(Path(tmp) / out),
                "--no-report",
                *extra,
            ]

        result: dict[str, object] = {"count": a.count, "resolution": a.resolution, "samples": a.samples}
        result["render_only_s"], result["render_only_exit"] = _run(REPO, args("plain"))
        result["dead_server_s"], result["dead_server_exit"] = _run(REPO, args("dead", "--refine-url", _dead_url()))
        if a.before:
            before = a.before.resolve()
            result["before_dead_server_s"], result["before_dead_server_exit"] = _run(
                before, args("before", "--refine-url", _dead_url(), repo=before)
            )
    result["dead_server_overhead_s"] = round(float(result["dead_server_s"]) - float(result["render_only_s"]), 2)
    if a.before:
        result["before_overhead_s"] = round(float(result["before_dead_server_s"]) - float(result["render_only_s"]), 2)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
