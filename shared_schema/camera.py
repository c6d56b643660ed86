"""Camera models shared by the renderer, the annotator and the refiner.

Conventions (chosen to match how Cycles renders each lens):

* World: metres, right-handed, Z up, floor at ``z = 0``.
* Camera pose: ``position`` in world metres (``position[2]`` is the height above the floor) and
  ``rotation_euler_deg``, Blender's XYZ Euler angles of the camera object. With all angles zero the camera
  looks straight down (its local -Z is world -Z), image right is world +X and image up is world +Y, exactly
  as a Blender camera object with zero rotation.
* Camera frame: Blender's: the camera looks along local -Z, local +X is image right, local +Y image up.
* Pixels: ``u`` to the right, ``v`` down, origin at the top-left corner of the image; the centre of
  pixel ``(col, row)`` is ``(col + 0.5, row + 0.5)``. The principal point defaults to ``(W/2, H/2)``.
* Off-axis angle ``theta`` = angle between a ray and the optical axis; azimuth measured in the image.

Lenses (``r`` is the distance from the principal point in pixels):

* ``fisheye_equidistant``: Cycles' FISHEYE_EQUIDISTANT: ``r_x = theta / fov * W``, ``r_y = theta / fov * H``
  (the image circle of angle ``fov`` fills the frame; use square images).
* ``fisheye_equisolid``: ``r = 2 f sin(theta / 2)`` with ``f = focal_mm * px_per_mm``; the circle is clipped
  at ``fov``.
* ``fisheye_polynomial``: Cycles' FISHEYE_LENS_POLYNOMIAL: ``-theta = k0 + k1 r_mm + ... + k4 r_mm^4``
  (Blender's coefficients as they are, usually negative), ``r_mm = r / px_per_mm``.
* ``perspective``: pinhole; ``fov_deg`` is the angle across the larger image side (Blender's ``angle`` with
  AUTO sensor fit): ``f = max(W, H) / 2 / tan(fov / 2)``.

``px_per_mm = max(W, H) / sensor_width_mm`` (Blender's AUTO sensor fit).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

Projection = Literal["fisheye_equidistant", "fisheye_equisolid", "fisheye_polynomial", "perspective"]
FISHEYE_PROJECTIONS: tuple[str, ...] = ("fisheye_equidistant", "fisheye_equisolid", "fisheye_polynomial")

#: Blender's default FISHEYE_LENS_POLYNOMIAL coefficients.
BLENDER_DEFAULT_POLYNOMIAL: tuple[float, float, float, float, float] = (
    -1.1735143712967577e-05,
    -0.019988736953434998,
    -3.3525322965709175e-06,
    3.099275275886036e-06,
    -2.6064646454854524e-08,
)


def euler_xyz_matrix(angles_deg: tuple[float, float, float] | list[float]) -> np.ndarray:
    """Rotation matrix of Blender's XYZ Euler angles (degrees): ``R = Rz @ Ry @ Rx``."""
    ax, ay, az = (math.radians(a) for a in angles_deg)
    cx, sx, cy, sy, cz, sz = math.cos(ax), math.sin(ax), math.cos(ay), math.sin(ay), math.cos(az), math.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


class CameraModel(BaseModel):
    """A calibrated camera: lens, image size and pose. ``project``/``unproject`` are exact inverses."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    projection: Projection = "fisheye_equidistant"
    width: int = Field(640, ge=8, le=16384, description="image width in pixels")
    height: int = Field(640, ge=8, le=16384, description="image height in pixels")
    principal_point: tuple[float, float] | None = Field(
        None, description="(u, v) in pixels; default the image centre (W/2, H/2)"
    )
    fov_deg: float = Field(
        180.0,
        gt=0.0,
        le=360.0,
        description="full angle of the image circle (fisheye) or across the larger side (perspective)",
    )
    focal_mm: float = Field(10.5, gt=0.0, description="lens focal length in mm (equisolid)")
    sensor_width_mm: float = Field(36.0, gt=0.0, description="sensor size of the larger image side")
    polynomial_k: tuple[float, float, float, float, float] = Field(
        BLENDER_DEFAULT_POLYNOMIAL, description="Blender FISHEYE_LENS_POLYNOMIAL k0..k4 (theta in radians, r in mm)"
    )
    position: tuple[float, float, float] = Field((0.0, 0.0, 3.0), description="camera position, metres; z = height")
    rotation_euler_deg: tuple[float, float, float] = Field(
        (0.0, 0.0, 0.0), description="Blender XYZ Euler angles in degrees; zero looks straight down"
    )

    @model_validator(mode="after")
    def _check(self) -> CameraModel:
        if self.projection == "perspective" and self.fov_deg >= 180.0:
            raise ValueError("perspective fov_deg must be < 180")
        if self.position[2] <= 0.0:
            raise ValueError("position: the camera must be above the floor (z > 0)")
        return self

    # -- derived quantities -------------------------------------------------------------------------------------
    @property
    def center(self) -> tuple[float, float]:
        """Principal point (u, v) in pixels."""
        if self.principal_point is not None:
            return self.principal_point
        return (self.width / 2.0, self.height / 2.0)

    @property
    def px_per_mm(self) -> float:
        return max(self.width, self.height) / self.sensor_width_mm

    @property
    def rotation(self) -> np.ndarray:
        """Camera-to-world rotation matrix (columns: camera X, Y, Z axes in world coordinates)."""
        return euler_xyz_matrix(self.rotation_euler_deg)

    @property
    def max_theta(self) -> float:
        """Largest off-axis angle (radians) inside the image circle (fisheye) or the frame's corners (perspective)."""
        if self.projection == "perspective":
            f, _ = self.focal_px()
            return math.atan(math.hypot(self.width, self.height) / 2.0 / f) + 1e-6
        return math.radians(self.fov_deg) / 2.0

    def focal_px(self) -> tuple[float, float]:
        """Pixels per unit of the lens' radial function along x and y."""
        if self.projection == "fisheye_equidistant":
            fov = math.radians(self.fov_deg)
            return (self.width / fov, self.height / fov)
        if self.projection == "perspective":
            f = max(self.width, self.height) / 2.0 / math.tan(math.radians(self.fov_deg) / 2.0)
        else:
            f = self.focal_mm * self.px_per_mm
        return (f, f)

    def image_circle_radius(self) -> float:
        """Radius in pixels (along x) of the image circle at ``max_theta`` (fisheye lenses)."""
        return float(self.theta_to_radius(np.array([self.max_theta]))[0])

    # -- radial functions ---------------------------------------------------------------------------------------
    def theta_to_radius(self, theta: np.ndarray) -> np.ndarray:
        """Off-axis angle (radians) to radius in x-pixels (for equidistant, in x units)."""
        theta = np.asarray(theta, dtype=np.float64)
        fx, _ = self.focal_px()
        if self.projection == "fisheye_equidistant":
            return theta * fx
        if self.projection == "fisheye_equisolid":
            return 2.0 * fx * np.sin(theta / 2.0)
        if self.projection == "perspective":
            return fx * np.tan(theta)
        return self._poly_theta_to_rmm(theta) * self.px_per_mm

    def radius_to_theta(self, radius: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`theta_to_radius`."""
        radius = np.asarray(radius, dtype=np.float64)
        fx, _ = self.focal_px()
        if self.projection == "fisheye_equidistant":
            return radius / fx
        if self.projection == "fisheye_equisolid":
            return 2.0 * np.arcsin(np.clip(radius / (2.0 * fx), -1.0, 1.0))
        if self.projection == "perspective":
            return np.arctan(radius / fx)
        r_mm = radius / self.px_per_mm
        k = self.polynomial_k
        return -(k[0] + r_mm * (k[1] + r_mm * (k[2] + r_mm * (k[3] + r_mm * k[4]))))

    def _poly_theta_to_rmm(self, theta: np.ndarray) -> np.ndarray:
        """Solve ``-poly(r) = theta`` for r (mm) by safeguarded Newton iteration."""
        k = np.asarray(self.polynomial_k, dtype=np.float64)

        def g(r: np.ndarray) -> np.ndarray:
            return -(k[0] + r * (k[1] + r * (k[2] + r * (k[3] + r * k[4])))) - theta

        def dg(r: np.ndarray) -> np.ndarray:
            return -(k[1] + r * (2 * k[2] + r * (3 * k[3] + r * 4 * k[4])))

        slope = -k[1] if k[1] != 0 else 1.0
        r = (theta + k[0]) / slope
        for _ in range(50):
            d = dg(r)
            d = np.where(np.abs(d) < 1e-12, 1e-12, d)
            step = g(r) / d
            r = r - step
            if np.all(np.abs(step) < 1e-13):
                break
        return r

    # -- projection ---------------------------------------------------------------------------------------------
    def world_to_camera(self, points_world: np.ndarray) -> np.ndarray:
        """World points (N, 3) to the camera frame (N, 3)."""
        p = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
        return (p - np.asarray(self.position)) @ self.rotation

    def camera_to_world_dirs(self, dirs_cam: np.ndarray) -> np.ndarray:
        return np.asarray(dirs_cam, dtype=np.float64).reshape(-1, 3) @ self.rotation.T

    def project(self, points_world: np.ndarray) -> np.ndarray:
        """Project world points (N, 3) to pixels (N, 2). Points outside the lens' field give NaN."""
        pc = self.world_to_camera(points_world)
        norm = np.linalg.norm(pc, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cos_t = np.clip(-pc[:, 2] / norm, -1.0, 1.0)
            theta = np.arccos(cos_t)
            phi = np.arctan2(pc[:, 1], pc[:, 0])
        radius = self.theta_to_radius(theta)
        fx, fy = self.focal_px()
        scale_y = fy / fx
        cu, cv = self.center
        u = cu + radius * np.cos(phi)
        v = cv - radius * scale_y * np.sin(phi)
        out = np.stack([u, v], axis=1)
        bad = (theta > self.max_theta + 1e-9) | (norm == 0)
        if self.projection == "perspective":
            bad |= pc[:, 2] >= 0
        out[bad] = np.nan
        return out

    def unproject(self, pixels: np.ndarray) -> np.ndarray:
        """Pixels (N, 2) to unit ray directions in the world frame (N, 3); outside the image circle gives NaN."""
        px = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        fx, fy = self.focal_px()
        cu, cv = self.center
        du = px[:, 0] - cu
        dv = -(px[:, 1] - cv) * (fx / fy)
        radius = np.hypot(du, dv)
        theta = self.radius_to_theta(radius)
        phi = np.arctan2(dv, du)
        st = np.sin(theta)
        dirs = np.stack([st * np.cos(phi), st * np.sin(phi), -np.cos(theta)], axis=1)
        out = self.camera_to_world_dirs(dirs)
        out[theta > self.max_theta + 1e-9] = np.nan
        return out

    def unproject_to_floor(self, pixels: np.ndarray, z: float = 0.0) -> np.ndarray:
        """Intersect the rays of pixels (N, 2) with the horizontal plane at height ``z``; NaN where they miss."""
        rays = self.unproject(pixels)
        origin = np.asarray(self.position, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (z - origin[2]) / rays[:, 2]
        t = np.where(t > 0, t, np.nan)
        return origin + rays * t[:, None]

    def in_image_circle(self, pixels: np.ndarray) -> np.ndarray:
        """True where pixels (N, 2) are inside the image and the lens' field."""
        px = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        inside = (px[:, 0] >= 0) & (px[:, 0] < self.width) & (px[:, 1] >= 0) & (px[:, 1] < self.height)
        return inside & ~np.isnan(self.unproject(px)[:, 0])


def polynomial_from_opencv_fisheye(
    fx_px: float,
    k: tuple[float, float, float, float],
    *,
    width: int,
    height: int,
    sensor_width_mm: float = 36.0,
    max_theta_deg: float = 95.0,
    samples: int = 400,
) -> tuple[float, float, float, float, float]:
    """Blender FISHEYE_LENS_POLYNOMIAL coefficients that reproduce an OpenCV fisheye (Kannala-Brandt) calibration.

    OpenCV: ``r_px = fx * theta_d``, ``theta_d = theta (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 + k4 theta^8)``.
    Blender: ``-theta = k0 + k1 r_mm + ... + k4 r_mm^4``. The inverse is fitted by least squares over
    ``[0, max_theta_deg]`` (assumes square pixels, ``fx == fy``, and the sensor fit of :class:`CameraModel`).
    """
    theta = np.linspace(0.0, math.radians(max_theta_deg), samples)
    t2 = theta * theta
    theta_d = theta * (1 + k[0] * t2 + k[1] * t2**2 + k[2] * t2**3 + k[3] * t2**4)
    r_mm = fx_px * theta_d / (max(width, height) / sensor_width_mm)
    design = np.stack([r_mm**i for i in range(5)], axis=1)
    coeffs, *_ = np.linalg.lstsq(design, -theta, rcond=None)
    return tuple(float(c) for c in coeffs)  # type: ignore[return-value]
