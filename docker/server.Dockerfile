# syntax=docker/dockerfile:1
# Refinement server image: CUDA runtime + the CUDA build of torch==2.13.0 + this package + its default model.
# Build from the repository root:   docker build -f docker/server.Dockerfile -t render-refine/server:0.1.0 .
# Run (GPU):  docker run --gpus all -p 8000:8000 -e REFINE_TOKEN=secret render-refine/server:0.1.0
# Run (CPU):  docker run -p 8000:8000 -e REFINE_DEVICE=cpu render-refine/server:0.1.0
# With REFINE_DEVICE=auto (default) the server uses the GPU when one is visible and falls back to the CPU otherwise.
FROM nvidia/cuda:12.8.1-runtime-ubuntu22.04

# CUDA wheel index matching the base image's CUDA 12.8 (the wheel brings its own CUDA libraries; the base image
# provides the NVIDIA_* variables the container toolkit uses to mount the driver).
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# Python 3.11 from Ubuntu 22.04 (the project pins Python 3.11). Distro versions float with security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3.11 python3.11-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && python3.11 -m venv /opt/venv

# Heavy, rarely changing layers first: torch from the CUDA index, then the runtime dependencies of
# pyproject.toml except bpy (the server never imports Blender). Separate layers on purpose (build cache).
RUN pip install --no-cache-dir "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX_URL}"
# hadolint ignore=DL3059
RUN pip install --no-cache-dir \
        "numpy>=1.24,<2" "pydantic>=2.6,<3" "pydantic-settings>=2.3,<3" "fastapi>=0.110" "uvicorn>=0.29" \
        "python-multipart>=0.0.9" \
        "pillow>=10" "pycocotools>=2.0.7" "OpenEXR>=3.2" "safetensors>=0.4" "requests>=2.31" "tqdm>=4.66"

# The package itself: shared_schema + refine_server with its default model (refine_server/models/default/);
# blender_addon is not needed in this image.
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared_schema ./shared_schema
COPY refine_server ./refine_server
COPY docker/entrypoint-server.sh /usr/local/bin/entrypoint-server.sh
RUN pip install --no-cache-dir --no-deps . \
    && chmod 0755 /usr/local/bin/entrypoint-server.sh \
    && useradd --system --uid 10001 --create-home --home-dir /home/refine --shell /usr/sbin/nologin refine

# Configuration by environment (names of refine_server.settings.Settings, prefix REFINE_). Limits left unset
# here keep the server's own defaults: REFINE_MAX_PIXELS, REFINE_MAX_PERSONS, REFINE_MAX_QUEUE_REQUESTS,
# REFINE_REQUEST_TIMEOUT_S, REFINE_TORCH_THREADS, REFINE_WARMUP. REFINE_TOKEN: set at run time (never bake it).
ENV REFINE_MODEL=default \
    REFINE_DEVICE=auto \
    REFINE_HOST=0.0.0.0 \
    REFINE_PORT=8000 \
    REFINE_MAX_BATCH_CROPS=16 \
    REFINE_MAX_BATCH_WAIT_MS=5 \
    REFINE_MAX_BODY_BYTES=67108864

USER 10001:10001
EXPOSE 8000

# Ready only once the model is loaded and warmed up; python's urllib, so no curl in the image.
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('REFINE_PORT', '8000'), timeout=4)"]

ENTRYPOINT ["/usr/local/bin/entrypoint-server.sh"]
CMD []
