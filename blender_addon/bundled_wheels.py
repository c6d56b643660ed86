"""Make the wheels bundled in ``<add-on>/wheels/`` importable on the legacy (``bl_info``) install path.

Blender 4.2+ installs an extension's wheels itself (``blender_manifest.toml`` → ``wheels = [...]``). An add-on
installed the legacy way (``Install…`` of the zip in Blender < 4.2, or ``preferences.addon_install``) gets no
such treatment, so :func:`ensure_dependencies` does it at register time: when ``pydantic`` v2 is not already
importable, the wheels compatible with this Python and platform are extracted into a cache folder that is
put on ``sys.path``. Pure Python, no bpy.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

__all__ = ["compatible_wheels", "dependencies_status", "ensure_dependencies", "wheel_is_compatible"]

# Top-level modules the add-on imports from the bundled wheels, checked in this order.
REQUIRED_MODULES = ("typing_extensions", "annotated_types", "pydantic_core", "pydantic", "shared_schema", "requests")


def _platform_ok(platform_tag: str, current: str) -> bool:
    if platform_tag in ("any", current):
        return True
    if current.startswith("linux_"):
        arch = current.partition("_")[2]
        return platform_tag.startswith("manylinux") and platform_tag.endswith("_" + arch)
    if current.startswith("macosx_"):
        arch = current.rpartition("_")[2]
        return platform_tag.startswith("macosx_") and (
            platform_tag.endswith("_" + arch) or platform_tag.endswith("_universal2")
        )
    return False


def wheel_is_compatible(filename: str, *, version: tuple[int, int] | None = None, platform: str | None = None) -> bool:
    """Whether a wheel file name fits this interpreter (the same rules Blender's extension manager uses)."""
    version = version or sys.version_info[:2]
    platform = platform or sysconfig.get_platform().replace("-", "_").replace(".", "_")
    name = Path(filename).name
    if not name.endswith(".whl"):
        return False
    parts = name[:-4].split("-")
    if not 5 <= len(parts) <= 6:
        return False
    python_tag, abi_tag, platform_tag = parts[-3:]
    if not any(_platform_ok(p, platform) for p in platform_tag.split(".")):
        return False
    cp = f"cp{version[0]}{version[1]}"
    for tag in python_tag.split("."):
        if tag in (f"py{version[0]}", f"py{version[0]}{version[1]}"):
            return True
        if tag == cp:
            return True
        if abi_tag == "abi3" and tag.startswith(f"cp{version[0]}"):
            try:
                return int(tag[3:] or 0) <= version[1]
            except ValueError:
                return False
    return False


def compatible_wheels(wheels_dir: Path) -> list[Path]:
    if not wheels_dir.is_dir():
        return []
    return sorted(p for p in wheels_dir.glob("*.whl") if wheel_is_compatible(p.name))


def _have_pydantic_v2() -> bool:
    try:
        pydantic = importlib.import_module("pydantic")
    except ImportError:
        return False
    return str(getattr(pydantic, "VERSION", "1")).split(".")[0] >= "2"


def _cache_root(addon_dir: Path) -> Path:
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}-{sysconfig.get_platform()}"
    for base in (addon_dir / ".wheels_cache", Path(tempfile.gettempdir()) / "render_and_refine_wheels"):
        target = base / tag
        try:
            target.mkdir(parents=True, exist_ok=True)
            probe = target / ".write_test"
            probe.write_text("ok", encoding="utf-8")
            probe.unlink()
            return target
        except OSError:
            continue
    raise OSError("no writable folder to extract the bundled wheels into")


def ensure_dependencies(addon_dir: str | Path, *, force: bool = False) -> list[str]:
    """Put the bundled wheels on ``sys.path`` when pydantic v2 (or shared_schema) is missing.

    Returns the paths added (empty when everything was importable already or no wheel was bundled).
    """
    addon_dir = Path(addon_dir)
    need = (
        force
        or not _have_pydantic_v2()
        or any(importlib.util.find_spec(m) is None for m in ("shared_schema", "requests"))
    )
    if not need:
        return []
    wheels = compatible_wheels(addon_dir / "wheels")
    if not wheels:
        return []
    root = _cache_root(addon_dir)
    for whl in wheels:
        stamp = root / f".{whl.name}.done"
        if stamp.exists() and stamp.stat().st_mtime >= whl.stat().st_mtime:
            continue
        with zipfile.ZipFile(whl) as zf:
            zf.extractall(root)
        stamp.write_text("ok", encoding="utf-8")
    added: list[str] = []
    if str(root) not in sys.path:
        # In front, so an old pydantic v1 of the host Python cannot shadow the bundled v2.
        sys.path.insert(0, str(root))
        added.append(str(root))
    for mod in [m for m in list(sys.modules) if m == "pydantic" or m.startswith("pydantic.")]:
        if not _have_pydantic_v2():
            sys.modules.pop(mod, None)
    importlib.invalidate_caches()
    return added


def dependencies_status() -> tuple[bool, str]:
    """(ok, message) about the modules the add-on needs, for the panel and the operators' errors."""
    missing = []
    for mod in REQUIRED_MODULES:
        try:
            importlib.import_module(mod)
        except Exception as exc:  # ImportError, or a binary module that fails to load
            missing.append(f"{mod} ({type(exc).__name__})")
    if missing:
        return False, "missing Python modules: " + ", ".join(missing) + (
            " — install the extension in Blender 4.2+ (it bundles them), or use a Blender whose Python is "
            f"{sys.version_info[0]}.{sys.version_info[1]} with the packaged zip"
        )
    if not _have_pydantic_v2():
        return False, "pydantic v2 is required (found v1)"
    return True, "dependencies ok"
