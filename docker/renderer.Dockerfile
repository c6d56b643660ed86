# syntax=docker/dockerfile:1
# Renderer image: Python 3.11 + the bpy wheel (Blender 4.5 LTS as a Python module, Cycles on the CPU) + the add-on.
# Build from the repository root:   docker build -f docker/renderer.Dockerfile -t render-refine/renderer:0.1.0 .
# Run one shard:
#   docker run --rm -v "$PWD/out:/data" render-refine/renderer:0.1.0 \
#       --config /app/shared_schema/examples/office.json --count 1000 --seed 7 --out /data/shard-0 --shard 0/4
# Arguments go to blender_addon/render_batch.py (the entry point adds the `--` separator, and `--token` from
# REFINE_TOKEN when set). The merge tool runs from the same image:
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

# The runtime dependencies of pyproject.toml that the renderer uses: no torch/fastapi/uvicorn (server side).
RUN pip install --no-cache-dir "bpy==4.5.*" "numpy>=1.24,<2" "pydantic>=2.6,<3" "pillow>=10" \
        "pycocotools>=2.0.7" "OpenEXR>=3.2" "requests>=2.31" "tqdm>=4.66"

WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared_schema ./shared_schema
COPY blender_addon ./blender_addon
COPY docker/entrypoint-renderer.sh /usr/local/bin/entrypoint-renderer.sh
RUN pip install --no-cache-dir --no-deps . \
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
