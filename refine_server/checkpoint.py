"""Checkpoints = ``model.safetensors`` + ``model_card.json``. Never unpickles (no ``torch.load``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from shared_schema.dataset import atomic_path

from .model_card import CARD_FILE, ModelCard
from .networks import IdentityGenerator, build_generator

__all__ = ["CheckpointError", "identity_model", "load_model", "save_model", "sha256_file"]


class CheckpointError(RuntimeError):
    """Missing, corrupt or inconsistent checkpoint."""


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _atomic_write(path: Path, write) -> None:  # type: ignore[no-untyped-def]
    with atomic_path(path) as tmp:
        write(str(tmp))


def save_model(directory: Path, generator: nn.Module, card: ModelCard) -> Path:
    """Write ``model.safetensors`` then ``model_card.json`` (each via tmp + os.replace); returns the card path.

    The card's ``sha256`` is set to the weights' hash; the returned card on disk is the source of truth.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / card.weights_file
    state = {k: v.detach().cpu().contiguous().clone() for k, v in generator.state_dict().items()}
    meta = {"model_id": card.model_id, "architecture": card.architecture}
    _atomic_write(weights, lambda tmp: save_file(state, tmp, metadata=meta))
    card = card.model_copy(update={"sha256": sha256_file(weights)})
    card_path = directory / CARD_FILE
    text = json.dumps(card.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    _atomic_write(card_path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return card_path


def load_card(directory_or_card_path: Path) -> tuple[ModelCard, Path]:
    """Read the card; returns (card, directory)."""
    p = Path(directory_or_card_path)
    card_path = p / CARD_FILE if p.is_dir() else p
    if not card_path.is_file():
        raise CheckpointError(f"no model card at {card_path}")
    try:
        card = ModelCard.model_validate_json(card_path.read_text(encoding="utf-8"))
    except Exception as e:
        raise CheckpointError(f"invalid model card {card_path}: {e}") from e
    return card, card_path.parent


def load_model(directory_or_card_path: Path, device: str | torch.device = "cpu") -> tuple[nn.Module, ModelCard]:
    """Load a checkpoint directory (or its card path): verify the sha256, read safetensors, build, eval mode."""
    card, directory = load_card(directory_or_card_path)
    weights = directory / card.weights_file
    if Path(card.weights_file).name != card.weights_file or not weights.name.endswith(".safetensors"):
        raise CheckpointError(f"weights_file must be a plain *.safetensors file name, got {card.weights_file!r}")
    if not weights.is_file():
        raise CheckpointError(f"missing weights file {weights}")
    digest = sha256_file(weights)
    if not card.sha256 or digest != card.sha256:
        raise CheckpointError(f"sha256 mismatch for {weights}: card {card.sha256 or '(empty)'}, file {digest}")
    try:
        gen = build_generator(card.architecture, **card.hyperparameters)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"cannot build {card.architecture!r} from {card.hyperparameters}: {e}") from e
    state = load_file(str(weights), device="cpu")
    try:
        gen.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"weights do not match the card's architecture: {e}") from e
    gen.eval().requires_grad_(False)
    return gen.to(device), card


def identity_model(crop_size: int = 128, margin: float = 0.15) -> tuple[nn.Module, ModelCard]:
    """The explicit ``identity`` model (plumbing tests only): returns crops unchanged."""
    card = ModelCard(
        model_id="identity",
        architecture="identity",
        crop_size=crop_size,
        margin=margin,
        training_data={"note": "no training: identity mapping for plumbing tests"},
        sha256="",
    )
    return IdentityGenerator().eval(), card
