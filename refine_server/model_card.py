"""Model card: everything needed to rebuild and judge a checkpoint, stored as ``model_card.json`` beside the
safetensors weights."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared_schema import __version__

from .look import LookSpec

CARD_FILE = "model_card.json"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class ModelCard(BaseModel):
    """Architecture + hyper-parameters (enough for ``networks.build_generator``), crop geometry, provenance."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    model_id: str = Field(min_length=1, max_length=128, description="stable name, e.g. 'resnet-ngf32-b6-c128'")
    version: str = __version__
    architecture: str = Field(description="networks.GENERATORS key: resnet | simgan | identity")
    hyperparameters: dict[str, Any] = Field(default_factory=dict, description="kwargs of the generator class")
    crop_size: int = Field(ge=8, le=2048, description="model input side in pixels")
    normalization: str = "[-1,1]"
    margin: float = Field(0.15, ge=0.0, le=2.0, description="crop margin (fraction of the person extent)")
    training_data: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    created: str = Field(default_factory=_now)
    weights_file: str = "model.safetensors"
    sha256: str = Field("", description="sha256 of the weights file (filled by checkpoint.save_model)")
    license_notes: str = ""
    look: LookSpec | None = Field(None, description="camera look applied after reinsertion (None: no look)")
