#!/bin/sh
# Run blender_addon/render_batch.py with the container's arguments. render_batch.py reads the refinement token
# from the environment (REFINE_TOKEN), so it is not written into compose files, Job manifests or process listings.
set -eu
exec python /app/blender_addon/render_batch.py -- "$@"
