"""Fixtures of the add-on tests: the packaged zip, fresh bpy processes, a real refinement server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the checkout's blender_addon, even if an old editable install maps it elsewhere
    sys.path.insert(0, str(REPO))

from tests.live_server import identity_server  # noqa: E402

CHECKS = Path(__file__).resolve().parent / "bpy_checks.py"


@pytest.fixture(scope="session")
def addon_zip(tmp_path_factory) -> Path:
    """dist zip built by scripts/build_addon.py (this platform's wheels only, to keep the test quick)."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import build_addon
    finally:
        sys.path.remove(str(REPO / "scripts"))
    out = tmp_path_factory.mktemp("dist")
    py = f"{sys.version_info[0]}.{sys.version_info[1]}"
    try:
        return build_addon.build(out, platforms=["linux-x64"], pythons=[py])
    except (subprocess.CalledProcessError, SystemExit) as exc:  # no network and no wheel cache
        pytest.skip(f"could not download the bundled wheels: {exc}")


def run_bpy(check: str, args: dict, user_dir: Path, timeout: float = 300) -> dict:
    """Run one check of bpy_checks.py in a fresh bpy process with its own Blender user folders."""
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(user_dir), PYTHONUNBUFFERED="1")
    env.pop("BLENDER_USER_CONFIG", None)
    env.pop("BLENDER_USER_SCRIPTS", None)
    proc = subprocess.run(
        [sys.executable, str(CHECKS), check, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=str(user_dir),
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("R2RESULT ")]
    assert lines, f"no result (rc {proc.returncode})\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    result = json.loads(lines[-1][len("R2RESULT ") :])
    assert "exception" not in result, result.get("exception")
    return result


@pytest.fixture(scope="session")
def refine_server_url(tmp_path_factory) -> Iterator[str]:
    """A real ``python -m refine_server serve --model identity`` on 127.0.0.1."""
    with identity_server(tmp_path_factory.mktemp("server") / "server.log") as url:
        yield url
