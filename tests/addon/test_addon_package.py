"""Packaging: the zip's layout and manifest; installing it into the bpy wheel as an extension and as a legacy
add-on; enable/disable with no leftover class."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO, run_bpy

pytestmark = pytest.mark.slow


def test_import_is_bpy_free():
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
        "import blender_addon, blender_addon.jobs, blender_addon.services, blender_addon.bundled_wheels\n"
        "assert 'bpy' not in sys.modules, 'importing blender_addon pulled in bpy'\n"
        "print(blender_addon.bl_info['name'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "Render & Refine"


def test_manifest_and_bl_info_agree():
    manifest = tomllib.loads((REPO / "blender_addon" / "blender_manifest.toml").read_text())
    tree = ast.parse((REPO / "blender_addon" / "__init__.py").read_text())
    bl_info = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "bl_info"
    )
    assert manifest["id"] == "render_and_refine"
    assert manifest["type"] == "add-on"
    assert manifest["blender_version_min"] == "4.2.0"
    assert set(manifest["permissions"]) == {"network", "files"}
    assert tuple(int(x) for x in manifest["version"].split(".")) == bl_info["version"]
    assert bl_info["blender"] < (4, 2, 0)  # the legacy path covers older Blender


def test_build_help():
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_addon.py"), "--help"], capture_output=True, text=True, check=True
    )
    assert "render_and_refine" in out.stdout and "--platforms" in out.stdout


def test_zip_layout(addon_zip: Path):
    assert addon_zip.name == "render_and_refine-0.1.0.zip"
    with zipfile.ZipFile(addon_zip) as zf:
        names = zf.namelist()
        manifest = tomllib.loads(zf.read("render_and_refine/blender_manifest.toml").decode())
    assert {n.split("/")[0] for n in names} == {"render_and_refine"}
    assert "render_and_refine/__init__.py" in names
    assert not [n for n in names if "_vendor" in n]  # the client comes with the shared_schema wheel
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/tests/" in n]
    wheels = manifest["wheels"]
    assert wheels, "the manifest lists the bundled wheels"
    for w in wheels:
        assert "render_and_refine/" + w.removeprefix("./") in names, w
    wheel_names = " ".join(wheels)
    for dist in (
        "pydantic-",
        "pydantic_core-",
        "annotated_types-",
        "typing_extensions-",
        "typing_inspection-",
        "shared_schema-",
        "requests-",
    ):
        assert dist in wheel_names, dist
    (shared,) = [w for w in wheels if "shared_schema-" in w]
    with zipfile.ZipFile(addon_zip) as zf, zipfile.ZipFile(io.BytesIO(zf.read("render_and_refine/" + shared[2:]))) as w:
        assert "shared_schema/client.py" in w.namelist()


def test_blender_validates_the_zip(addon_zip: Path):
    import importlib.util

    spec = importlib.util.find_spec("bpy")  # locate Blender's extension CLI inside the wheel, without importing
    root = Path(spec.origin).parent if spec and spec.origin else Path()
    cli = next(root.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"), None)
    if cli is None:
        pytest.skip("bl_pkg CLI not found in the bpy wheel")
    out = subprocess.run([sys.executable, str(cli), "validate", str(addon_zip)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Success" in out.stdout


def test_install_as_extension(addon_zip: Path, tmp_path: Path):
    res = run_bpy("install_extension", {"zip_path": str(addon_zip)}, tmp_path)
    assert res["enabled"]
    assert "RENDER_REFINE_PT_main" in res["registered"]
    assert "RENDER_REFINE_OT_render_refine" in res["registered"]
    assert res["panel_ok"]
    # Blender installed the wheels of this platform from the manifest.
    assert {"pydantic", "pydantic_core", "shared_schema", "annotated_types"} <= set(res["wheels_installed"])
    assert "/extensions/.local/" in res["shared_schema_from"]
    assert res["new_types_after_disable"] == []
    assert res["leftovers"] == {"classes": [], "scene_prop": False, "wm_prop": False, "operators": []}


def test_install_legacy_addon(addon_zip: Path, tmp_path: Path):
    res = run_bpy("install_legacy", {"zip_path": str(addon_zip)}, tmp_path)
    assert res["enabled"]
    assert "RENDER_REFINE_PT_main" in res["registered"]
    assert res["installed_at"].endswith("addons/render_and_refine")
    assert res["new_types_after_disable"] == []
    assert res["leftovers"] == {"classes": [], "scene_prop": False, "wm_prop": False, "operators": []}
