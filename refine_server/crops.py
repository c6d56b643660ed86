"""Oriented person crops for an overhead fisheye camera, and their exact inverse (after thesis Algorithms 5 and 6).

Geometry rule
-------------
A ceiling camera looking straight down sees a standing person at floor distance ``d`` with the feet at off-axis
angle ``atan(d / H)`` and the head, nearer the camera, at ``atan(d / (H - h))`` > that: in every fisheye model
the radius grows with the off-axis angle, so **the head lies farther from the fisheye centre than the feet**.
The crop's "up" axis therefore points *away* from the fisheye centre, along the ray
centre → person, which puts the head at the top of the crop (upright person).

``CropSpec.angle_deg`` is the clockwise angle (image y points down) from image-up to that outward ray, exactly
``shared_schema.geometry.radial_angle_deg(person_centre, fisheye_centre)`` and the same clockwise convention as
CEPDOF rotated boxes: crop-up in image coordinates is ``(sin a, -cos a)`` and crop-right is ``(cos a, sin a)``.
A person right at the centre (direction undefined) gets angle 0 (upright = image-up), consistently.

Guarantees
----------
* A crop's square side is the person's full extent in the rotated frame (computed from the mask pixels' corners,
  so it is exact under any rotation) plus a margin, resampled to the model's input size: the whole visible mask is
  always inside the crop.
* Reinsertion is per-pixel ownership: a pixel with instance id ``k`` is taken only from person ``k``'s refined
  crop (inverse warp sampled at that pixel), never from a neighbour's overlapping crop. A pixel with id 0 (or of a
  person that was not refined) is copied bit-for-bit from the input.

Both warps are batched ``torch.nn.functional.grid_sample`` calls (bilinear, ``align_corners=False``) using the
pixel-centre convention of ``shared_schema.geometry`` (the centre of pixel ``(col, row)`` is ``(col+.5, row+.5)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from shared_schema.geometry import radial_angle_deg, rotated_box_corners

__all__ = [
    "CropSpec",
    "crop_corners",
    "crop_from_points",
    "crop_from_rotated_box",
    "extract_crops",
    "from_model",
    "mask_corner_points",
    "plan_crop",
    "plan_crops",
    "reinsert",
    "to_model",
]


@dataclass(frozen=True)
class CropSpec:
    """One person's square crop in image pixels."""

    instance_id: int
    center: tuple[float, float]  # crop centre, image pixels (continuous, pixel centres at +0.5)
    angle_deg: float  # clockwise angle of the crop's "up" axis from image-up; up = away from the fisheye centre
    size: float  # side of the square crop in image pixels

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """(up, right) unit vectors of the crop in image coordinates."""
        a = math.radians(self.angle_deg)
        return np.array([math.sin(a), -math.cos(a)]), np.array([math.cos(a), math.sin(a)])

    def to_dict(self) -> dict:
        return {
            "instance_id": self.instance_id,
            "center": list(self.center),
            "angle_deg": self.angle_deg,
            "size": self.size,
        }


def crop_corners(spec: CropSpec) -> np.ndarray:
    """The crop's 4 corners (4, 2) in image pixels: top-left, top-right, bottom-right, bottom-left of the crop."""
    cx, cy = spec.center
    return rotated_box_corners((cx, cy, spec.size, spec.size, spec.angle_deg))


# -- planning ---------------------------------------------------------------------------------------------------
def mask_corner_points(mask: np.ndarray) -> np.ndarray:
    """Corners (N, 2) of the boundary pixels of ``mask``: enough to bound the mask exactly under any rotation."""
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return np.zeros((0, 2))
    # A pixel with all 4 neighbours set cannot hold an extreme corner; keep only boundary pixels (cheap and exact).
    p = np.pad(m, 1)
    interior = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    rows, cols = np.nonzero(m & ~interior)
    x = cols.astype(np.float64)
    y = rows.astype(np.float64)
    return np.concatenate([np.stack([x + dx, y + dy], axis=1) for dx in (0.0, 1.0) for dy in (0.0, 1.0)])


def crop_from_points(
    points: np.ndarray,
    image_center: tuple[float, float],
    instance_id: int,
    *,
    direction_point: tuple[float, float] | None = None,
    margin: float = 0.15,
    min_size: float = 32.0,
) -> CropSpec:
    """Smallest upright square (plus margin) containing ``points``, its up axis along centre → ``direction_point``.

    ``direction_point`` defaults to the centre of the points' axis-aligned extent. The side is
    ``max(extent_up, extent_right) * (1 + margin)``, at least ``min_size``.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if pts.shape[0] == 0:
        raise ValueError(f"instance {instance_id}: empty mask, nothing to crop")
    if direction_point is None:
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        direction_point = (float(lo[0] + hi[0]) / 2.0, float(lo[1] + hi[1]) / 2.0)
    angle = radial_angle_deg(direction_point, image_center)
    a = math.radians(angle)
    up = np.array([math.sin(a), -math.cos(a)])
    right = np.array([math.cos(a), math.sin(a)])
    s_up, s_right = pts @ up, pts @ right
    extent = max(float(s_up.max() - s_up.min()), float(s_right.max() - s_right.min()))
    size = max(float(min_size), extent * (1.0 + float(margin)))
    mid = up * (s_up.max() + s_up.min()) / 2.0 + right * (s_right.max() + s_right.min()) / 2.0
    return CropSpec(int(instance_id), (float(mid[0]), float(mid[1])), float(angle), float(size))


def plan_crop(
    mask: np.ndarray,
    image_center: tuple[float, float],
    instance_id: int,
    *,
    margin: float = 0.15,
    min_size: float = 32.0,
) -> CropSpec:
    """Crop of one person from its visible mask (bool or 0/1 array, (H, W)); contains the whole mask."""
    return crop_from_points(mask_corner_points(mask), image_center, instance_id, margin=margin, min_size=min_size)


def plan_crops(
    instance_map: np.ndarray,
    image_center: tuple[float, float],
    *,
    ids: list[int] | None = None,
    margin: float = 0.15,
    min_size: float = 32.0,
) -> list[CropSpec]:
    """One crop per non-zero instance id present in ``instance_map`` (or per id in ``ids`` that is present),
    sorted by id. Ids absent from the map are skipped (a fully occluded person has nothing to refine)."""
    imap = np.asarray(instance_map)
    present = np.flatnonzero(np.bincount(imap.ravel().astype(np.int64, copy=False)))
    present = present[present != 0]
    wanted = present if ids is None else np.intersect1d(present, np.asarray(list(ids), dtype=present.dtype))
    specs = []
    for k in wanted.tolist():
        rows, cols = np.nonzero(imap == k)
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        sub = imap[r0:r1, c0:c1] == k
        pts = mask_corner_points(sub) + np.array([c0, r0], dtype=np.float64)
        specs.append(crop_from_points(pts, image_center, int(k), margin=margin, min_size=min_size))
    return specs


def crop_from_rotated_box(
    box: tuple[float, float, float, float, float],
    image_center: tuple[float, float],
    *,
    instance_id: int = 0,
    margin: float = 0.15,
    min_size: float = 32.0,
) -> CropSpec:
    """Crop of a person annotated with a CEPDOF rotated box ``[cx, cy, w, h, angle_deg]`` (real frames).

    Same rule as :func:`plan_crop`: the up axis points from the fisheye centre through the box centre (the box's
    own angle only places its corners; CEPDOF axis angles are ambiguous by 180°), and the square contains the
    whole box plus the margin. For a rendered person, the crop of its annotated ``rotated_box`` and the crop of
    its mask agree closely (same axis rule, the box is the mask's tight radial box).
    """
    corners = rotated_box_corners(tuple(float(v) for v in box))  # type: ignore[arg-type]
    return crop_from_points(
        corners,
        image_center,
        instance_id,
        direction_point=(float(box[0]), float(box[1])),
        margin=margin,
        min_size=min_size,
    )


# -- warps ------------------------------------------------------------------------------------------------------
def to_model(image: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (H, W, 3) → float32 (3, H, W) in [-1, 1]. A float tensor (C, H, W) is returned unchanged."""
    if isinstance(image, torch.Tensor) and image.is_floating_point():
        return image
    t = torch.as_tensor(np.ascontiguousarray(image)).permute(2, 0, 1).contiguous()
    return t.float().mul_(1.0 / 127.5).sub_(1.0)


def from_model(t: torch.Tensor) -> np.ndarray:
    """float (..., 3, H, W) in [-1, 1] → uint8 (..., H, W, 3), rounded to nearest."""
    x = ((t.detach().float().clamp(-1.0, 1.0) + 1.0) * 127.5).round_().to(torch.uint8)
    return x.movedim(-3, -1).cpu().numpy()


def _forward_grid(specs: list[CropSpec], out_size: int, width: int, height: int) -> torch.Tensor:
    """grid_sample grid (N, S, S, 2): normalized image coordinates of every crop pixel centre."""
    n = len(specs)
    c = torch.tensor([s.center for s in specs], dtype=torch.float64)  # (N, 2)
    a = torch.tensor([math.radians(s.angle_deg) for s in specs], dtype=torch.float64)
    size = torch.tensor([s.size for s in specs], dtype=torch.float64)
    up = torch.stack([torch.sin(a), -torch.cos(a)], dim=1)  # (N, 2)
    right = torch.stack([torch.cos(a), torch.sin(a)], dim=1)
    t = (torch.arange(out_size, dtype=torch.float64) + 0.5) / out_size - 0.5  # crop-local, in units of size
    xl = t.view(1, 1, out_size) * size.view(n, 1, 1)  # (N, 1, S): along crop-right
    yl = t.view(1, out_size, 1) * size.view(n, 1, 1)  # (N, S, 1): along crop-down (= -up)
    px = c[:, 0].view(n, 1, 1) + right[:, 0].view(n, 1, 1) * xl - up[:, 0].view(n, 1, 1) * yl
    py = c[:, 1].view(n, 1, 1) + right[:, 1].view(n, 1, 1) * xl - up[:, 1].view(n, 1, 1) * yl
    grid = torch.stack([px * (2.0 / width) - 1.0, py * (2.0 / height) - 1.0], dim=-1)
    return grid.float()


def extract_crops(image: torch.Tensor, specs: list[CropSpec], out_size: int) -> torch.Tensor:
    """Resample every crop of ``image`` (C, H, W) float to (N, C, out_size, out_size), upright; one batched call.

    Samples outside the image repeat the border pixel (those crop pixels are never reinserted).
    """
    if image.dim() != 3:
        raise ValueError("image must be (C, H, W)")
    c, h, w = image.shape
    if not specs:
        return image.new_zeros((0, c, out_size, out_size))
    grid = _forward_grid(specs, out_size, w, h).to(image.device)
    src = image.unsqueeze(0).expand(len(specs), c, h, w)
    return F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=False)


def reinsert(
    image: torch.Tensor | np.ndarray,
    instance_map: np.ndarray,
    specs: list[CropSpec],
    refined: torch.Tensor,
) -> np.ndarray:
    """Put refined crops back: uint8 (H, W, 3) whose pixels of person ``specs[i].instance_id`` are sampled (inverse
    warp, bilinear) from ``refined[i]`` only; every other pixel (background, unrefined persons) is the input's.

    ``image``: uint8 (H, W, 3) array or tensor; ``refined``: (N, 3, S, S) float in [-1, 1].
    """
    base = image.cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if base.dtype != np.uint8 or base.ndim != 3 or base.shape[2] != 3:
        raise ValueError("image must be uint8 (H, W, 3)")
    imap = np.asarray(instance_map)
    if imap.shape != base.shape[:2]:
        raise ValueError(f"instance map {imap.shape} does not match image {base.shape[:2]}")
    out = base.copy()
    if not specs:
        return out
    if refined.shape[0] != len(specs):
        raise ValueError(f"{refined.shape[0]} refined crops for {len(specs)} specs")
    # Pixels owned by each refined person (per-pixel ownership from the instance map).
    flat = imap.reshape(-1)
    owned = [np.flatnonzero(flat == s.instance_id) for s in specs]
    counts = [len(o) for o in owned]
    m = max(counts)
    if m == 0:
        return out
    n = len(specs)
    w = imap.shape[1]
    grid = torch.zeros((n, 1, m, 2), dtype=torch.float64)
    for i, (s, idx) in enumerate(zip(specs, owned, strict=True)):
        if idx.size == 0:
            continue
        px = torch.from_numpy((idx % w).astype(np.float64) + 0.5)
        py = torch.from_numpy((idx // w).astype(np.float64) + 0.5)
        up, right = s.axes()
        dx, dy = px - s.center[0], py - s.center[1]
        xl = dx * right[0] + dy * right[1]  # along crop-right
        yl = -(dx * up[0] + dy * up[1])  # along crop-down
        grid[i, 0, : idx.size, 0] = xl * (2.0 / s.size)
        grid[i, 0, : idx.size, 1] = yl * (2.0 / s.size)
    src = refined.detach().float().cpu()
    samples = F.grid_sample(src, grid.float(), mode="bilinear", padding_mode="border", align_corners=False)
    vals = from_model(samples[:, :, 0, :].unsqueeze(-1)).reshape(n, m, 3)  # (N, M, 3) uint8
    out_flat = out.reshape(-1, 3)
    for i, idx in enumerate(owned):
        if idx.size:
            out_flat[idx] = vals[i, : idx.size]
    return out
