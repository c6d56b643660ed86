"""The camera look: what a real camera does to an image (colour, tone, vignetting, blur, noise, JPEG), as an
explicit small model (``module``), its estimators (``estimate``), a statistics-matching fit to unlabeled footage
(``fit``) and request-time harmonization to a real photo (``harmonize``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .params import LookParams

__all__ = ["PHOTO_MODES", "LookParams", "LookSpec"]

PhotoMode = Literal["harmonize", "fitted", "both", "off"]
PHOTO_MODES: tuple[str, ...] = ("harmonize", "fitted", "both", "off")


class LookSpec(BaseModel):
    """The model card's ``look`` section: fitted parameters and how the server uses them in each scope."""

    model_config = ConfigDict(extra="forbid")

    params: LookParams | None = Field(None, description="the fitted camera look (None: none fitted)")
    photo_mode: PhotoMode = Field("harmonize", description="person scope (real photo background)")
    frame_mode: Literal["fitted", "off"] = Field("fitted", description="frame scope (rendered background)")
    description: str = Field("", description="the fitted parameters in plain words")
    fitted_on: dict[str, object] = Field(default_factory=dict, description="data the look was fitted on")
