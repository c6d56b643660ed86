"""The camera look's parameters: a plain, validated record (JSON in the model card), described in plain words.

Conventions: intensities in [0, 1] (linear in the 8-bit code values, i.e. on the display-encoded image, as footage
is stored); the image circle radius is normalised to 1 at ``circle_radius`` (fraction of half the shorter side).
The pipeline, in order: colour matrix → per-channel tone curve → Gaussian PSF blur → radial vignetting →
Poisson–Gaussian noise → JPEG.
"""

from __future__ import annotations

import itertools
import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["CURVE_KNOTS", "IDENTITY_MATRIX", "LookParams"]

CURVE_KNOTS = 17
IDENTITY_MATRIX = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


def _identity_curve() -> list[float]:
    return [i / (CURVE_KNOTS - 1) for i in range(CURVE_KNOTS)]


class LookParams(BaseModel):
    """Every parameter of the camera look (identity by default). Finite values only (NaN/Infinity rejected)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    color_matrix: list[list[float]] = Field(
        default_factory=lambda: [r[:] for r in IDENTITY_MATRIX], description="3x3, out = M @ rgb"
    )
    tone_curves: list[list[float]] = Field(
        default_factory=lambda: [_identity_curve() for _ in range(3)],
        description=f"per channel R, G, B: {CURVE_KNOTS} output values at inputs 0, 1/16, ..., 1 (non-decreasing)",
    )
    vignetting: tuple[float, float] = Field((0.0, 0.0), description="gain(r) = 1 + k2 r^2 + k4 r^4")
    circle_radius: float = Field(1.0, gt=0.1, le=2.0, description="image circle radius / half the shorter side")
    blur_sigma: float = Field(0.0, ge=0.0, le=4.0, description="Gaussian PSF sigma in pixels")
    noise_a: float = Field(0.0, ge=0.0, le=0.05, description="signal-dependent (Poisson) variance per unit intensity")
    noise_b: float = Field(0.0, ge=0.0, le=0.01, description="signal-independent (Gaussian) variance")
    jpeg_quality: int | None = Field(None, ge=5, le=100, description="JPEG quality applied last; None = off")
    fitted_at: int | None = Field(None, ge=16, le=16384, description="frame size (px) the look was fitted at")
    notes: dict[str, str] = Field(default_factory=dict, description="how each part was estimated")

    @field_validator("color_matrix")
    @classmethod
    def _matrix(cls, v: list[list[float]]) -> list[list[float]]:
        if len(v) != 3 or any(len(r) != 3 for r in v) or any(abs(x) > 4 for r in v for x in r):
            raise ValueError("color_matrix must be 3x3 with |entries| <= 4")
        return v

    @field_validator("tone_curves")
    @classmethod
    def _curves(cls, v: list[list[float]]) -> list[list[float]]:
        if len(v) != 3 or any(len(c) != CURVE_KNOTS for c in v):
            raise ValueError(f"tone_curves must be 3 lists of {CURVE_KNOTS} values")
        for c in v:
            if any(not 0.0 <= x <= 1.0 for x in c) or any(b < a - 1e-9 for a, b in itertools.pairwise(c)):
                raise ValueError("tone curve values must be non-decreasing within [0, 1]")
        return v

    def noise_sigma(self, intensity: float) -> float:
        """Noise standard deviation (0-1 units) at an intensity in [0, 1]."""
        return math.sqrt(max(self.noise_a * intensity + self.noise_b, 0.0))

    def gains_at_mid_grey(self) -> tuple[float, float, float]:
        """What the colour stage does to mid-grey, per channel (white-balance gains)."""
        from .module import colour_tone_numpy

        out = colour_tone_numpy([[0.5, 0.5, 0.5]], self)[0]
        return (float(out[0] / 0.5), float(out[1] / 0.5), float(out[2] / 0.5))

    def describe(self) -> str:
        """One plain-words sentence, e.g. for the model card."""
        g = self.gains_at_mid_grey()
        k2, k4 = self.vignetting
        corner = 1 + k2 + k4
        jpeg = f"JPEG q ≈ {self.jpeg_quality}" if self.jpeg_quality else "no JPEG"
        at = f" (fitted at {self.fitted_at} px frames)" if self.fitted_at else ""
        noise = (
            f"noise σ ≈ {255 * self.noise_sigma(0.5):.1f}/255 at mid-grey ({255 * self.noise_sigma(0.1):.1f}/255 "
            "at 10 % grey)"
            if self.noise_a > 0 or self.noise_b > 0
            else "no sensor noise"
        )
        return (
            f"{noise}, {jpeg}, white-balance gains at mid-grey R×{g[0]:.3f} G×{g[1]:.3f} B×{g[2]:.3f}, "
            f"PSF blur σ ≈ {self.blur_sigma:.2f} px, vignetting {100 * (corner - 1):+.0f} % at the image "
            f"circle's edge{at}"
        )
