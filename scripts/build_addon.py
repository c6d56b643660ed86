#!/usr/bin/env python3
"""Build the installable Blender add-on zip: ``dist/render_and_refine-<version>.zip``.

The zip holds one folder, ``render_and_refine/``, so the same file installs

* as an extension in Blender 4.2+ (Preferences > Get Extensions > Install from Disk, or
  ``bpy.ops.extensions.package_install_files``): Blender reads ``blender_manifest.toml`` and installs the wheels
  listed in its ``wheels = [...]`` (only those matching the user's platform and Python);
* as a legacy add-on (Blender < 4.2, ``bpy.ops.preferences.addon_install``): ``bl_info`` in ``__init__.py``, and
  ``bundled_wheels.ensure_dependencies`` puts the wheels on ``sys.path`` at register time.

Contents: the ``blender_addon`` package (minus tests, caches) and ``wheels/``: ``shared_schema`` built from this
repo (the contracts and the HTTP client, ``shared_schema.client``), plus
pydantic, pydantic_core (per platform), annotated_types, typing_extensions, typing_inspection and the requests
stack (requests, urllib3, idna, certifi: official Blender ships them, distribution builds may not) downloaded
with ``pip download`` at the versions installed here (never committed; cached in ``build/wheel_cache``).

    python scripts/build_addon.py                      # all platforms, Python 3.11 and 3.13
    python scripts/build_addon.py --platforms linux-x64 --python-versions 3.11   # quick local build
    python scripts/build_addon.py --offline            # only the wheel cache, no network
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ADDON_SRC = REPO / "blender_addon"
PACKAGE_NAME = "render_and_refine"  # folder inside the zip = legacy module name = manifest id

# Blender's platform names (manifest ``platforms``) → pip ``--platform`` tags.
PLATFORMS: dict[str, list[str]] = {
    "linux-x64": ["manylinux_2_17_x86_64", "manylinux2014_x86_64"],
    "windows-x64": ["win_amd64"],
    "macos-arm64": ["macosx_11_0_arm64"],
    "macos-x64": ["macosx_10_13_x86_64"],
}
PLATFORM_GLOBS = {
    "linux-x64": "*manylinux*x86_64*",
    "windows-x64": "win_amd64",
    "macos-arm64": "macosx_*arm64",
    "macos-x64": "macosx_*x86_64",
}
DEFAULT_PYTHONS = ["3.11", "3.13"]  # Blender 4.2–5.0 ship 3.11, 5.1+ ship 3.13
PURE_WHEELS = ["pydantic", "annotated_types", "typing_extensions", "typing_inspection"]
# The HTTP client's requests stack: Blender 4.2+ ships it, Linux distributions' Blender builds may not.
# (charset_normalizer is optional for requests and has no pure-Python wheel: left out.)
PURE_WHEELS += ["requests", "urllib3", "idna", "certifi"]
BINARY_WHEELS = ["pydantic_core"]

EXCLUDE_DIRS = {"__pycache__", "tests", ".pytest_cache", ".ruff_cache", ".wheels_cache", "wheels"}
EXCLUDE_SUFFIXES = {".pyc", ".pyo", ".blend1", ".orig", ".rej"}
ZIP_DATE = (2024, 1, 1, 0, 0, 0)


def log(msg: str) -> None:
    print(f"[build_addon] {msg}", flush=True)


def manifest_version() -> str:
    data = tomllib.loads((ADDON_SRC / "blender_manifest.toml").read_text(encoding="utf-8"))
    return str(data["version"])


def project_version() -> str:
    """``shared_schema.__version__``, the one place the version is written (read without importing)."""
    found = re.search(r'^__version__\s*=\s*"([^"]+)"', (REPO / "shared_schema" / "__init__.py").read_text(), re.M)
    if not found:
        raise SystemExit("shared_schema/__init__.py has no __version__")
    return found.group(1)


# -- staging -----------------------------------------------------------------------------------------------------
def stage_addon(stage: Path) -> Path:
    dst = stage / PACKAGE_NAME
    if stage.exists():
        shutil.rmtree(stage)

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {
            n
            for n in names
            if n in EXCLUDE_DIRS
            or Path(n).suffix in EXCLUDE_SUFFIXES
            or (n.startswith(".") and n != ".gitkeep")
            or (n.startswith("test_") and n.endswith(".py"))
        }

    shutil.copytree(ADDON_SRC, dst, ignore=ignore)
    return dst


# -- wheels ------------------------------------------------------------------------------------------------------
def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_pure_wheel(src_pkg: Path, dist_name: str, version: str, out_dir: Path, requires: list[str]) -> Path:
    """A ``py3-none-any`` wheel of one pure-Python package folder (the repo's pyproject builds one big
    distribution; the add-on needs only ``shared_schema`` from it)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    whl = out_dir / f"{dist_name}-{version}-py3-none-any.whl"
    info = f"{dist_name}-{version}.dist-info"
    files: list[tuple[str, bytes]] = []
    for path in sorted(src_pkg.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix in EXCLUDE_SUFFIXES:
            continue
        files.append((f"{src_pkg.name}/{path.relative_to(src_pkg).as_posix()}", path.read_bytes()))
    metadata = f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires
    )
    wheel_meta = (
        "Wheel-Version: 1.0\nGenerator: render_and_refine build_addon\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files += [(f"{info}/METADATA", metadata.encode()), (f"{info}/WHEEL", wheel_meta.encode())]
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files) + f"{info}/RECORD,,\n"
    files.append((f"{info}/RECORD", record.encode()))
    with zipfile.ZipFile(whl, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files:
            zi = zipfile.ZipInfo(name, ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zf.writestr(zi, data)
    return whl


def pinned(dist: str) -> str:
    return f"{dist}=={importlib.metadata.version(dist)}"


def pip_download(
    requirement: str, dest: Path, *, platform: list[str] | None, python: str | None, offline: bool
) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest", str(dest)]
    if platform:
        for p in platform:
            cmd += ["--platform", p]
        cmd += ["--implementation", "cp"]
    if python:
        cmd += ["--python-version", python]
    if offline:
        cmd += ["--no-index", "--find-links", str(dest)]
    cmd.append(requirement)
    log(" ".join(cmd[3:]))
    subprocess.run(cmd, check=True)


def collect_wheels(wheel_dir: Path, cache: Path, platforms: list[str], pythons: list[str], offline: bool) -> list[Path]:
    cache.mkdir(parents=True, exist_ok=True)
    wheel_dir.mkdir(parents=True, exist_ok=True)
    wanted: list[Path] = []

    def newest(pattern: str) -> list[Path]:
        return sorted(cache.glob(pattern))

    for dist in PURE_WHEELS:
        req = pinned(dist)
        version = req.split("==")[1]
        pattern = f"{dist}-{version}-*none-any.whl"
        if not newest(pattern):
            # --platform any selects the pure-Python wheel even where binary ones exist.
            pip_download(req, cache, platform=["any"], python=min(pythons), offline=offline)
        found = newest(pattern)
        if not found:
            raise SystemExit(f"no wheel for {req} in {cache}")
        wanted.append(found[-1])
    for dist in BINARY_WHEELS:
        req = pinned(dist)
        version = req.split("==")[1]
        for plat in platforms:
            for py in pythons:
                cp = "cp" + py.replace(".", "")
                pattern = f"{dist}-{version}-{cp}-{cp}-{PLATFORM_GLOBS[plat]}.whl"
                if not newest(pattern):
                    pip_download(req, cache, platform=PLATFORMS[plat], python=py, offline=offline)
                found = newest(pattern)
                if not found:
                    raise SystemExit(f"no {plat} wheel for {req} (Python {py}) in {cache}")
                wanted.append(found[-1])
    out = []
    for whl in dict.fromkeys(wanted):
        target = wheel_dir / whl.name
        shutil.copy2(whl, target)
        out.append(target)
    return out


# -- manifest and zip --------------------------------------------------------------------------------------------
def write_manifest(pkg: Path, wheels: list[Path], platforms: list[str] | None) -> None:
    text = (ADDON_SRC / "blender_manifest.toml").read_text(encoding="utf-8")
    lines = []
    if platforms:
        lines.append("platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]")
    if wheels:
        lines.append("wheels = [")
        lines += [f'  "./wheels/{w.name}",' for w in sorted(wheels)]
        lines.append("]")
    block = "\n# Written by scripts/build_addon.py\n" + "\n".join(lines) + "\n\n"
    head, sep, tail = text.partition("[permissions]")  # top-level keys must precede the first table
    (pkg / "blender_manifest.toml").write_text(head.rstrip() + "\n" + block + sep + tail, encoding="utf-8")
    tomllib.loads((pkg / "blender_manifest.toml").read_text(encoding="utf-8"))  # still valid TOML


def make_zip(stage: Path, zip_path: Path) -> None:
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = zip_path.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(stage.rglob("*")):
            if path.is_dir():
                continue
            zi = zipfile.ZipInfo(path.relative_to(stage).as_posix(), ZIP_DATE)
            zi.compress_type = zipfile.ZIP_STORED if path.suffix in (".whl", ".gz", ".xz") else zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zf.writestr(zi, path.read_bytes())
    tmp.replace(zip_path)


def build(
    out_dir: Path,
    *,
    platforms: list[str],
    pythons: list[str],
    wheels: bool = True,
    offline: bool = False,
    cache: Path | None = None,
    stage: Path | None = None,
) -> Path:
    version = manifest_version()
    if version != project_version():
        raise SystemExit(f"blender_manifest.toml says {version}, shared_schema.__version__ {project_version()}")
    stage = stage or out_dir / ".addon_stage"
    pkg = stage_addon(stage)
    wheel_files: list[Path] = []
    if wheels:
        requires = ["pydantic>=2.6,<3", "numpy"]
        wheel_files.append(build_pure_wheel(REPO / "shared_schema", "shared_schema", version, pkg / "wheels", requires))
        wheel_files += collect_wheels(
            pkg / "wheels", cache or REPO / "build" / "wheel_cache", platforms, pythons, offline
        )
    write_manifest(pkg, wheel_files, platforms if wheels else None)
    zip_path = out_dir / f"{PACKAGE_NAME}-{version}.zip"
    make_zip(stage, zip_path)
    shutil.rmtree(stage, ignore_errors=True)
    size = zip_path.stat().st_size / 1e6
    log(f"wrote {zip_path} ({size:.1f} MB, {len(wheel_files)} wheels)")
    return zip_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build dist/render_and_refine-<version>.zip (Blender extension + legacy add-on).",
    )
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="output folder (default: dist/)")
    parser.add_argument(
        "--platforms",
        nargs="+",
        default=list(PLATFORMS),
        choices=list(PLATFORMS),
        help="platforms to bundle pydantic_core for (default: all)",
    )
    parser.add_argument(
        "--python-versions", nargs="+", default=DEFAULT_PYTHONS, help="Blender Python versions (default: 3.11 3.13)"
    )
    parser.add_argument("--no-wheels", action="store_true", help="no wheels/ (the target Blender must provide them)")
    parser.add_argument("--offline", action="store_true", help="use only wheels already in the cache")
    parser.add_argument("--cache", type=Path, default=None, help="wheel download cache (default: build/wheel_cache)")
    args = parser.parse_args(argv)
    build(
        args.out,
        platforms=args.platforms,
        pythons=args.python_versions,
        wheels=not args.no_wheels,
        offline=args.offline,
        cache=args.cache,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
