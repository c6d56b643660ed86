#!/usr/bin/env bash
# Re-take docs/panel.png: a real Blender window (Debian's `blender` under Xvfb) showing the Render & Refine panel.
#
#   scripts/panel_screenshot.sh [OUT.png]        (default: docs/panel.png)
#
# Needs: blender (apt-get install -y blender python3-numpy), xvfb-run (apt-get install -y xvfb), and the venv's
# Python for the build step. Builds the add-on zip if dist/ has none, starts Blender with throw-away user folders
# (your own Blender settings are not touched) on a saved .blend (so no splash screen), and lets
# scripts/panel_screenshot.py install the zip the legacy way, open the sidebar tab and save the screenshot.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$(realpath -m "${1:-docs/panel.png}")"
PY="${PYTHON:-.venv/bin/python}"
BLENDER="${BLENDER:-blender}"
VERSION="$("$PY" -c 'import tomllib; print(tomllib.load(open("blender_addon/blender_manifest.toml","rb"))["version"])')"
ZIP="dist/render_and_refine-${VERSION}.zip"
if [[ ! -f "$ZIP" || -z "${NO_REBUILD:-}" ]]; then
  "$PY" scripts/build_addon.py
fi
ZIP="$(realpath "$ZIP")"

WORK="$(mktemp -d -t r2_screenshot.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export BLENDER_USER_CONFIG="$WORK/config" BLENDER_USER_SCRIPTS="$WORK/scripts" BLENDER_USER_DATAFILES="$WORK/datafiles"
export BLENDER_USER_RESOURCES="$WORK/resources"  # Blender 4.2+
mkdir -p "$BLENDER_USER_CONFIG" "$BLENDER_USER_SCRIPTS"

# A saved start file: Blender shows no splash screen when it opens a file given on the command line.
"$BLENDER" -b --factory-startup --python-expr \
  "import bpy; bpy.ops.wm.save_as_mainfile(filepath=r'$WORK/start.blend')" >"$WORK/start.log" 2>&1

xvfb-run -a -s "-screen 0 1600x900x24" \
  "$BLENDER" --factory-startup --enable-event-simulate --window-geometry 0 0 1600 900 "$WORK/start.blend" \
  --python-exit-code 1 -P scripts/panel_screenshot.py -- --zip "$ZIP" --out "$OUT" ${SCREENSHOT_ARGS:-} 2>&1 | tee "$WORK/gui.log" \
  | grep -E "panel_screenshot|Error|Traceback" || true
test -s "$OUT" || { echo "no screenshot written; log:"; tail -40 "$WORK/gui.log"; exit 1; }
echo "screenshot: $OUT"
