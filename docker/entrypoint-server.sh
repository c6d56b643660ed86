#!/bin/sh
# Start the refinement server; extra arguments go to `serve`. Every setting comes from REFINE_* environment
# variables (refine_server.settings: REFINE_MODEL, REFINE_DEVICE, REFINE_HOST, REFINE_PORT, REFINE_MAX_*, ...).
# The token is REFINE_TOKEN (never a command-line argument, so `ps` does not show it); without one the server
# refuses to listen on 0.0.0.0 unless REFINE_ALLOW_ANONYMOUS=1 asks for anonymous access explicitly.
set -eu
exec python -m refine_server serve "$@"
