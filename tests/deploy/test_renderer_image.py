"""What the renderer image contains, tested without a container engine: rebuild its file set from the COPY lines of
docker/renderer.Dockerfile, install the project the way its `pip install ".[render]"` does into a fresh venv (the
requirement closure of the extra is linked from the installed distributions, so no network is needed), then run
its entry point with `--refine-url` against a real refinement server."""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.live_server import identity_server

from .test_deploy_manifests import DOCKER, REPO, _dockerfile_instructions

pytestmark = pytest.mark.slow
DOCKERFILE = DOCKER / "renderer.Dockerfile"


def _copy_file_set(root: Path) -> str:
    """Copy what the Dockerfile's COPY lines copy into ``root`` (a stand-in for ``/``); returns the extra that its
    ``pip install ".[extra]"`` installs."""
    workdir, extra = "/", None
    for ins, args in _dockerfile_instructions(DOCKERFILE):
        if ins == "WORKDIR":
            workdir = args
        elif ins == "COPY":
            *sources, dest = args.split()
            target = Path(dest if dest.startswith("/") else os.path.join(workdir, dest))
            for src in sources:
                out = root / target.relative_to("/")
                out = out / Path(src).name if dest.endswith("/") else out
                out.parent.mkdir(parents=True, exist_ok=True)
                copy = shutil.copytree if (REPO / src).is_dir() else shutil.copy2
                copy(REPO / src, out)
        elif ins == "RUN" and (m := re.search(r'pip install --no-cache-dir "\.\[(\w+)\]"', args)):
            extra = m.group(1)
    assert extra, "the renderer image installs the project with an extra"
    return extra


def _closure(extra: str) -> set[str]:
    """Names of the distributions ``pip install ".[extra]"`` installs (markers evaluated for this platform)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    todo = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"][extra]]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        name = req.name.lower().replace("_", "-")
        if name in seen or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        todo += [Requirement(r) for r in md.requires(req.name) or []]
    return seen


def _install_closure(site: Path, names: set[str]) -> None:
    """Link every top-level file and folder of each installed distribution into ``site``."""
    for name in names:
        dist = md.distribution(name)
        for top in {Path(str(f)).parts[0] for f in dist.files or []} - {".."}:
            src = Path(dist.locate_file(top))
            if src.exists() and not (site / top).exists():
                (site / top).symlink_to(src)


def test_renderer_image_refines_through_a_real_server(tmp_path):
    root = tmp_path / "image"
    extra = _copy_file_set(root)
    venv = tmp_path / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python3.*/site-packages"))
    names = _closure(extra)
    assert "bpy" in names and "requests" in names and not {"torch", "fastapi", "uvicorn"} & names
    _install_closure(site, names)
    # the project itself, built from the image's file set like `pip install .` does
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(site),
            str(root / "app"),
        ],
        check=True,
    )
    py = venv / "bin" / "python"
    probe = "import importlib.util as u, sys; sys.exit(bool(u.find_spec('refine_server') or u.find_spec('torch')))"
    assert subprocess.run([str(py), "-c", probe], env={"PATH": os.environ["PATH"]}, cwd=tmp_path).returncode == 0
    entry = root / "usr/local/bin/entrypoint-renderer.sh"
    entry.write_text(entry.read_text().replace("/app/", f"{root / 'app'}/"))
    cfg = tmp_path / "cfg.json"
    from tests.scene.conftest import small_config

    cfg.write_text(small_config(res=64, samples=1, standing=(1, 1), sitting=(0, 0)).dump())
    out = tmp_path / "data"
    with identity_server(tmp_path / "server.log", token="image-token") as url:
        env = {
            "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "REFINE_TOKEN": "image-token",
            "OMP_NUM_THREADS": "1",
        }
        run = subprocess.run(
            [
                "sh",
                str(entry),
                "--config",
                str(cfg),
                "--count",
                "1",
                "--seed",
                "4",
                "--out",
                str(out),
                "--no-report",
                "--refine-url",
                url,
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=600,
        )
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    refined = list((out / "refined").glob("*.png"))
    assert [p.stem for p in refined] == ["000004_000000"] and refined[0].read_bytes().startswith(b"\x89PNG")
    assert "image-token" not in run.stdout + run.stderr
