"""Light colour, photo light estimation, camera-side white balance and exposure (pure numpy, no bpy).

* :func:`kelvin_to_rgb` / :func:`rgb_to_kelvin`: black-body colour in linear sRGB and back (McCamy's CCT).
* :func:`estimate_photo_light`: colour temperature and brightness of the light in a photo (grey world over the
  image circle, clipped and black pixels excluded) — the target camera's look that photo-mode lights follow.
* :func:`environment_from_photo`: an equirectangular environment whose lower hemisphere is the photo seen
  from the camera (what surrounds a person) and whose upper hemisphere is the photo's light colour.
* :func:`white_balance_gains` / :func:`auto_exposure_ev`: what a camera does to a procedural frame so it is not
  globally warm or dark.
* :func:`panel_grid`: ceiling panel positions in a grid over the floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from shared_schema.geometry import point_in_polygon

#: Rec. 709 / sRGB luminance weights of linear RGB.
LUMA = np.array([0.2126, 0.7152, 0.0722])
#: linear sRGB (D65) -> CIE XYZ.
_RGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
KELVIN_RANGE = (1500.0, 15000.0)


def kelvin_to_rgb(kelvin: float) -> tuple[float, float, float]:
    """Linear RGB of a black body (Tanner Helland's fit, then sRGB -> linear), max component 1."""
    t = kelvin / 100.0
    r = 255.0 if t <= 66 else 329.698727446 * ((t - 60) ** -0.1332047592)
    g = 99.4708025861 * math.log(t) - 161.1195681661 if t <= 66 else 288.1221695283 * ((t - 60) ** -0.0755148492)
    b = 255.0 if t >= 66 else (0.0 if t <= 19 else 138.5177312231 * math.log(t - 10) - 305.0447927307)
    srgb = [min(255.0, max(0.0, c)) / 255.0 for c in (r, g, b)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in srgb]
    m = max(lin)
    return (lin[0] / m, lin[1] / m, lin[2] / m)


def rgb_to_kelvin(rgb) -> float:
    """Correlated colour temperature of a linear sRGB colour (McCamy's formula), clipped to KELVIN_RANGE."""
    xyz = _RGB_TO_XYZ @ np.asarray(rgb, dtype=np.float64)
    s = float(xyz.sum())
    if s <= 0 or not math.isfinite(s):
        raise ValueError("rgb_to_kelvin: the colour has no light")
    x, y = xyz[0] / s, xyz[1] / s
    n = (x - 0.3320) / (0.1858 - y)
    cct = 449.0 * n**3 + 3525.0 * n**2 + 6823.3 * n + 5520.33
    return float(np.clip(cct, *KELVIN_RANGE))


def luminance(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb, dtype=np.float64)[..., :3] @ LUMA


@dataclass(frozen=True)
class PhotoLight:
    """The light of a photo: colour temperature, mean colour (max 1) and median luminance (linear)."""

    color_temperature_k: float
    color: tuple[float, float, float]
    luminance: float
    pixels: int


def estimate_photo_light(photo_linear: np.ndarray, valid: np.ndarray | None = None) -> PhotoLight:
    """Grey-world estimate of a photo's light from its linear RGB (H, W, 3): pixels outside ``valid`` (default:
    non-black), clipped ones (a channel >= 0.99), the darkest 5 % and the brightest 2 % are left out."""
    img = np.asarray(photo_linear, dtype=np.float64)
    if img.ndim != 3 or img.shape[2] < 3 or not np.isfinite(img).all():
        raise ValueError("estimate_photo_light: need a finite (H, W, 3) linear image")
    rgb = img[..., :3].reshape(-1, 3)
    lum = rgb @ LUMA
    keep = (lum > 1e-4) if valid is None else np.asarray(valid, dtype=bool).reshape(-1) & (lum > 1e-6)
    keep &= rgb.max(axis=1) < 0.99
    if keep.sum() < 16:
        raise ValueError("estimate_photo_light: the photo is (almost) black")
    lo, hi = np.quantile(lum[keep], [0.05, 0.98])
    keep &= (lum >= lo) & (lum <= hi)
    mean = rgb[keep].mean(axis=0) if keep.sum() >= 16 else rgb[lum > 0].mean(axis=0)
    color = tuple(float(c) for c in mean / mean.max())
    return PhotoLight(
        color_temperature_k=round(rgb_to_kelvin(mean), 1),
        color=color,  # type: ignore[arg-type]
        luminance=float(np.median(lum[keep])),
        pixels=int(keep.sum()),
    )


def white_balance_gains(kelvin: float, strength: float = 1.0) -> tuple[float, float, float]:
    """Per-channel gains that make a ``kelvin`` light neutral (``strength`` 1) or partly so (a camera's auto
    white balance leaves a trace of the cast), luminance-preserving for that light."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError("white balance strength must be in [0, 1]")
    light = np.asarray(kelvin_to_rgb(kelvin))
    full = 1.0 / light
    gains = 1.0 + strength * (full - 1.0)
    gains *= float(light @ LUMA) / float((light * gains) @ LUMA)
    return (float(gains[0]), float(gains[1]), float(gains[2]))


def auto_exposure_ev(
    rgb_linear: np.ndarray,
    target: float = 0.18,
    valid: np.ndarray | None = None,
    limits: tuple[float, float] = (-8.0, 8.0),
) -> float:
    """Exposure (stops) that brings the frame's mean luminance (over ``valid`` pixels) to ``target``."""
    lum = luminance(rgb_linear)
    sel = lum[valid] if valid is not None else lum.ravel()
    mean = float(sel.mean()) if sel.size else 0.0
    if not math.isfinite(mean) or mean <= 1e-8:
        return 0.0
    return float(np.clip(math.log2(target / mean), *limits))


def photo_exposure_ev(
    photo_luminance: float,
    floor_irradiance: float,
    floor_albedo: float = 0.35,
    limits: tuple[float, float] = (-12.0, 6.0),
) -> float:
    """Exposure (stops) that renders a diffuse floor of ``floor_albedo`` under ``floor_irradiance`` (W/m²) as
    bright as the photo's median pixel, so rendered people are exposed like the photo."""
    radiance = floor_albedo * floor_irradiance / math.pi
    if photo_luminance <= 0 or radiance <= 0:
        return 0.0
    return float(np.clip(math.log2(photo_luminance / radiance), *limits))


def panel_grid(
    floor, spacing: float, offset: tuple[float, float] = (0.5, 0.5), margin: float = 0.3
) -> list[tuple[float, float]]:
    """Centres of ceiling panels on a square grid of ``spacing`` metres over the floor polygon (``offset`` in
    grid cells shifts the grid), keeping ``margin`` from the floor's bounding box; at least one panel."""
    if spacing <= 0:
        raise ValueError("panel spacing must be > 0")
    poly = np.asarray(floor, dtype=np.float64).reshape(-1, 2)
    lo, hi = poly.min(0) + margin, poly.max(0) - margin
    xs = np.arange(lo[0] + offset[0] * spacing % spacing, hi[0] + 1e-9, spacing)
    ys = np.arange(lo[1] + offset[1] * spacing % spacing, hi[1] + 1e-9, spacing)
    pts = [(round(float(x), 4), round(float(y), 4)) for y in ys for x in xs if point_in_polygon((x, y), poly)]
    if not pts:
        c = poly.mean(axis=0)
        pts = [(round(float(c[0]), 4), round(float(c[1]), 4))]
    return pts


def environment_from_photo(camera, photo_linear: np.ndarray, sky_rgb, size: tuple[int, int] = (64, 32)) -> np.ndarray:
    """Equirectangular environment (H, W, 3), top row = zenith: directions below the camera's horizon take the
    photo's pixel in that direction from the camera (nearest), the rest ``sky_rgb``
    (mapping: :func:`equirect_directions`)."""
    w, h = size
    dirs = equirect_directions(w, h)
    origin = np.asarray(camera.position, dtype=np.float64)
    env = np.empty((h * w, 3), dtype=np.float64)
    env[:] = np.asarray(sky_rgb, dtype=np.float64)
    down = dirs[:, 2] < -0.02
    px = camera.project(origin + dirs[down] * 10.0)
    ph, pw = photo_linear.shape[:2]
    ok = np.isfinite(px).all(axis=1)
    cols = np.clip(np.floor(px[ok, 0] * pw / camera.width).astype(int), 0, pw - 1)
    rows = np.clip(np.floor(px[ok, 1] * ph / camera.height).astype(int), 0, ph - 1)
    idx = np.flatnonzero(down)[ok]
    env[idx] = photo_linear[rows, cols, :3]
    return env.reshape(h, w, 3)


def equirect_directions(width: int, height: int) -> np.ndarray:
    """Unit world directions (H*W, 3) of the pixel centres of an equirectangular image, top row first, as
    Cycles maps them: ``u = 0.5 - atan2(y, x) / 2 pi``, ``v_top = 0.5 - asin(z) / pi`` (the image centre
    looks along +X)."""
    u = (np.arange(width) + 0.5) / width
    v = (np.arange(height) + 0.5) / height
    lon, lat = np.meshgrid(2 * math.pi * (u - 0.5), math.pi * (0.5 - v))
    d = np.stack([np.cos(lon) * np.cos(lat), -np.sin(lon) * np.cos(lat), np.sin(lat)], axis=-1)
    return d.reshape(-1, 3)
