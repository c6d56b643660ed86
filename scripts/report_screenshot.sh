#!/usr/bin/env bash
# Screenshot a dataset's report.html with headless Chromium (Debian: apt-get install -y chromium).
#   scripts/report_screenshot.sh [DATASET_DIR=out/demo] [PNG=docs/report_example.png]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-out/demo}
png=${2:-docs/report_example.png}
[ -f "$dir/report.html" ] || { echo "error: $dir/report.html not found (run: make demo)" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars \
  --window-size=820,800 --screenshot="$png" "file://$PWD/$dir/report.html" 2>/dev/null
echo "wrote $png"
