"""Re-export of :mod:`shared_schema.client` (the HTTP client lives beside the contracts it speaks)."""

from shared_schema.client import *  # noqa: F403
from shared_schema.client import __all__  # noqa: F401
