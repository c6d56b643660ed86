# syntax=docker/dockerfile:1
# Renderer image: Python 3.11 + the bpy wheel (Blender 4.5 LTS as a Python module, Cycles on the CPU) + the add-on.
# Build from the repository root:   docker build -f docker/renderer.Dockerfile -t render-refine/renderer:0.1.0 .
# Run one shard:
#   docker run --rm -v "$PWD/out:/data" render-refine/renderer:0.1.0 \
#       --config /app/shared_schema/examples/office.json --count 1000 --seed 7 --out /data/shard-0 --shard 0/4
# Arguments go to blender_addon/render_batch.py (the entry point adds the `--` separator; the refinement token is
# read from REFINE_TOKEN, never passed on the command line). Exit 3: every image rendered, some not refined (the
# server was down): run the same command again to refine only those. The merge tool runs from the same image:
#   docker run --rm -v "$PWD/out:/data" --entrypoint python render-refine/renderer:0.1.0 \
#       -m shared_schema.merge /data/shard-0 /data/shard-1 --out /data/merged --expect-count 1000 --seed 7
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Shared libraries the bpy wheel links against and does not bundle (X11 client libs, GL dispatch; no display is
# needed, rendering is headless). Distro versions float with security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libx11-6 libxrender1 libxfixes3 libxi6 libxext6 libxkbcommon0 libsm6 libice6 libgl1 libxxf86vm1 \
    && rm -rf /var/lib/apt/lists/*

# The project installed with its `render` extra (pyproject.toml: numpy, pydantic, bpy, requests; no torch, no
# fastapi): the dependencies come from pyproject.toml, not from a list kept here. The HTTP client that
# --refine-url uses is shared_schema.client. tests/deploy/test_renderer_image.py rebuilds this file set from the
# COPY lines and the extra below and refines through a real server with it.
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared_schema ./shared_schema
COPY blender_addon ./blender_addon
COPY docker/entrypoint-renderer.sh /usr/local/bin/entrypoint-renderer.sh
# The version constraints live in pyproject.toml (bpy==4.5.*, pydantic<3, ...), so DL3013 does not apply.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[render]" \
    && chmod 0755 /usr/local/bin/entrypoint-renderer.sh \
    && useradd --system --uid 10001 --create-home --home-dir /home/render --shell /usr/sbin/nologin render \
    && mkdir -p /data \
    && chown render:render /data

USER 10001:10001
# Named volumes mounted here inherit the folder's owner, so the non-root user can write the dataset.
VOLUME ["/data"]

# Cycles threads default to all cores of the container; limit the container's CPUs instead (--cpus / requests).
ENTRYPOINT ["/usr/local/bin/entrypoint-renderer.sh"]
CMD ["--help"]
