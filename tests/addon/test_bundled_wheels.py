"""blender_addon.bundled_wheels (no bpy): the legacy install path's own wheel handling."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from blender_addon.bundled_wheels import (
    compatible_wheels,
    dependencies_status,
    ensure_dependencies,
    wheel_is_compatible,
)

LINUX = "linux_x86_64"


@pytest.mark.parametrize(
    ("name", "version", "platform", "ok"),
    [
        ("pydantic-2.14.3-py3-none-any.whl", (3, 11), LINUX, True),
        ("pydantic_core-2.50.4-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", (3, 11), LINUX, True),
        ("pydantic_core-2.50.4-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", (3, 11), LINUX, False),
        ("pydantic_core-2.50.4-cp311-cp311-win_amd64.whl", (3, 11), LINUX, False),
        ("pydantic_core-2.50.4-cp311-cp311-win_amd64.whl", (3, 11), "win_amd64", True),
        ("pydantic_core-2.50.4-cp313-cp313-macosx_11_0_arm64.whl", (3, 13), "macosx_14_0_arm64", True),
        ("pydantic_core-2.50.4-cp313-cp313-macosx_10_12_x86_64.whl", (3, 13), "macosx_14_0_arm64", False),
        ("thing-1.0-cp38-abi3-manylinux_2_17_x86_64.whl", (3, 11), LINUX, True),
        ("not-a-wheel.zip", (3, 11), LINUX, False),
    ],
)
def test_wheel_is_compatible(name, version, platform, ok):
    assert wheel_is_compatible(name, version=version, platform=platform) is ok


def _fake_wheel(folder: Path, module: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    whl = folder / f"{module}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr(f"{module}/__init__.py", "VALUE = 42\n")
        zf.writestr(f"{module}-1.0.dist-info/METADATA", f"Name: {module}\nVersion: 1.0\n")
    return whl


def test_ensure_dependencies_extracts_and_adds_to_sys_path(tmp_path: Path):
    addon = tmp_path / "render_and_refine"
    _fake_wheel(addon / "wheels", "r2_fake_dep")
    assert [p.name for p in compatible_wheels(addon / "wheels")] == ["r2_fake_dep-1.0-py3-none-any.whl"]
    added = ensure_dependencies(addon, force=True)
    try:
        assert added and Path(added[0]).is_dir()
        import r2_fake_dep

        assert r2_fake_dep.VALUE == 42
        assert ensure_dependencies(addon, force=True) == []  # already on sys.path, nothing re-added
    finally:
        for p in added:
            sys.path.remove(p)
        sys.modules.pop("r2_fake_dep", None)


def test_nothing_to_do_when_pydantic_is_present(tmp_path: Path):
    _fake_wheel(tmp_path / "wheels", "r2_other_dep")
    assert ensure_dependencies(tmp_path) == []  # this venv has pydantic v2 and shared_schema
    ok, msg = dependencies_status()
    assert ok, msg
