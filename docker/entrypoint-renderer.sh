#!/bin/sh
# Run blender_addon/render_batch.py with the container's arguments. The refinement token comes from the
# environment (REFINE_TOKEN) so that it is not written into compose files or Job manifests.
set -eu
if [ -n "${REFINE_TOKEN:-}" ]; then
    set -- "$@" --token "$REFINE_TOKEN"
fi
exec python /app/blender_addon/render_batch.py -- "$@"
