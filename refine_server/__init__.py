"""Refinement service: crop people from fisheye renders, refine them with a GAN generator, reinsert them.

Modules: ``crops`` (geometry), ``networks`` (generators), ``checkpoint`` / ``model_card`` (safetensors + JSON),
``app`` (FastAPI server), ``batcher`` (micro-batching worker), ``client`` (requests-only HTTP client).
Heavy modules are not imported here, so ``import refine_server.client`` stays light (Blender's Python).
"""

from shared_schema import __version__ as __version__
