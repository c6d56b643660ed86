"""Image-plane geometry shared by the annotator, the crop code and the dataset tools (numpy only).

Pixel convention: the centre of pixel ``(col, row)`` is ``(col + 0.5, row + 0.5)``; a mask pixel covers the
unit square ``[col, col + 1) x [row, row + 1)``.

Rotated boxes follow the CEPDOF / HABBOF convention ``[cx, cy, w, h, angle_deg]``: ``angle_deg`` rotates the
box clockwise on screen (image y points down) from upright, ``h`` is the extent along the rotated vertical axis.
"""

from __future__ import annotations

import math

import numpy as np

RotatedBox = tuple[float, float, float, float, float]


def bbox_from_mask(mask: np.ndarray) -> tuple[float, float, float, float]:
    """``[x, y, w, h]`` of the pixels set in ``mask`` (pixel-edge extent); zeros for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return (0.0, 0.0, 0.0, 0.0)
    return (float(cols[0]), float(rows[0]), float(cols[-1] + 1 - cols[0]), float(rows[-1] + 1 - rows[0]))


def radial_angle_deg(point: tuple[float, float], center: tuple[float, float]) -> float:
    """Clockwise angle (degrees, in [-180, 180)) from image-up to the direction centre → point."""
    dx, dy = point[0] - center[0], point[1] - center[1]
    if dx == 0 and dy == 0:
        return 0.0
    angle = math.degrees(math.atan2(dx, -dy))
    return (angle + 180.0) % 360.0 - 180.0


def _axis_line_angle(angle_deg: float) -> float:
    """Normalize an axis (line) angle to [-90, 90)."""
    return (angle_deg + 90.0) % 180.0 - 90.0


def rotated_box_corners(box: RotatedBox) -> np.ndarray:
    """The 4 corners (4, 2) of a rotated box, in order top-left, top-right, bottom-right, bottom-left (unrotated)."""
    cx, cy, w, h, angle = box
    a = math.radians(angle)
    up = np.array([math.sin(a), -math.cos(a)])  # rotated image-up
    right = np.array([math.cos(a), math.sin(a)])  # rotated image-right
    c = np.array([cx, cy])
    return np.stack(
        [
            c - right * w / 2 + up * h / 2,
            c + right * w / 2 + up * h / 2,
            c + right * w / 2 - up * h / 2,
            c - right * w / 2 - up * h / 2,
        ]
    )


def rotated_box_from_points(points: np.ndarray, center: tuple[float, float]) -> RotatedBox:
    """Tightest box around ``points`` (N, 2) whose long axis lies along the ray from ``center`` through them.

    ``h`` is the extent along the radial axis and ``w`` across it; when the radial extent is the shorter one
    (a person right below the camera) the axes swap so that ``h >= w`` holds, as CEPDOF requires.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if pts.shape[0] == 0:
        return (0.0, 0.0, 0.0, 0.0, 0.0)
    mean = pts.mean(axis=0)
    angle = radial_angle_deg((float(mean[0]), float(mean[1])), center)
    a = math.radians(angle)
    up = np.array([math.sin(a), -math.cos(a)])
    right = np.array([math.cos(a), math.sin(a)])
    s_up, s_right = pts @ up, pts @ right
    h = float(s_up.max() - s_up.min())
    w = float(s_right.max() - s_right.min())
    mid = up * (s_up.max() + s_up.min()) / 2 + right * (s_right.max() + s_right.min()) / 2
    if w > h:
        w, h, angle = h, w, angle + 90.0
    return (float(mid[0]), float(mid[1]), w, h, _axis_line_angle(angle))


def mask_outline_points(mask: np.ndarray) -> np.ndarray:
    """Corner points (N, 2) of every set pixel, enough to bound the mask exactly under any rotation."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return np.zeros((0, 2))
    # Only boundary pixels can be extreme; keeping all pixel corners is exact and still cheap for person masks.
    x = cols.astype(np.float64)
    y = rows.astype(np.float64)
    corners = [np.stack([x + dx, y + dy], axis=1) for dx in (0.0, 1.0) for dy in (0.0, 1.0)]
    return np.unique(np.concatenate(corners), axis=0)


def rotated_box_from_mask(mask: np.ndarray, center: tuple[float, float]) -> RotatedBox:
    """CEPDOF rotated box of a mask, oriented toward the image centre."""
    return rotated_box_from_points(mask_outline_points(mask), center)


def keypoint_visibility(
    points: np.ndarray, instance_map: np.ndarray, instance_id: int, *, radius: int = 1
) -> np.ndarray:
    """COCO visibility per point (N, 2): 2 if the point's own mask covers it (within ``radius`` px),
    1 if inside the image but hidden, 0 if outside the image or undefined (NaN)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    h, w = instance_map.shape
    out = np.zeros(len(pts), dtype=np.int64)
    for i, (x, y) in enumerate(pts):
        if not (np.isfinite(x) and np.isfinite(y)) or x < 0 or y < 0 or x >= w or y >= h:
            continue
        c, r = int(x), int(y)
        window = instance_map[max(0, r - radius) : r + radius + 1, max(0, c - radius) : c + radius + 1]
        out[i] = 2 if (window == instance_id).any() else 1
    return out


def point_in_polygon(point: tuple[float, float], polygon: list[tuple[float, float]] | np.ndarray) -> bool:
    """Even-odd rule test of one point against a simple polygon."""
    x, y = point
    poly = np.asarray(polygon, dtype=np.float64)
    inside = False
    j = len(poly) - 1
    for i in range(len(poly)):
        xi, yi = poly[i]
        xj, yj = poly[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside
