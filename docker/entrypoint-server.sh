#!/bin/sh
# Start the refinement server from REFINE_* environment variables; extra arguments go to `serve`.
# The token and limits are read by refine_server.settings from the environment (REFINE_TOKEN, REFINE_MAX_*),
# so the token never appears on a command line.
set -eu
exec python -m refine_server serve \
    --model "${REFINE_MODEL:-default}" \
    --device "${REFINE_DEVICE:-auto}" \
    --host "${REFINE_HOST:-0.0.0.0}" \
    --port "${REFINE_PORT:-8000}" \
    "$@"
