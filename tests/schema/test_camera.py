"""CameraModel maths: exact round trips over the image circle and known angles on known radii."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from shared_schema.camera import (
    BLENDER_DEFAULT_POLYNOMIAL,
    CameraModel,
    euler_xyz_matrix,
    polynomial_from_opencv_fisheye,
)

W = 640


def _cameras() -> list[CameraModel]:
    return [
        CameraModel(projection="fisheye_equidistant", width=W, height=W, fov_deg=180.0),
        CameraModel(projection="fisheye_equidistant", width=W, height=W, fov_deg=200.0, rotation_euler_deg=(3, -2, 40)),
        CameraModel(projection="fisheye_equisolid", width=W, height=480, fov_deg=180.0, focal_mm=8.0),
        CameraModel(projection="fisheye_polynomial", width=W, height=W, fov_deg=190.0),
        CameraModel(
            projection="fisheye_polynomial",
            width=W,
            height=W,
            fov_deg=180.0,
            polynomial_k=polynomial_from_opencv_fisheye(200.0, (0.02, -0.01, 0.003, -0.0005), width=W, height=W),
        ),
        CameraModel(projection="perspective", width=W, height=480, fov_deg=70.0, position=(1.0, -2.0, 2.5)),
        CameraModel(projection="fisheye_equisolid", width=W, height=W, principal_point=(330.25, 310.5)),
    ]


def _pixel_grid(cam: CameraModel, n: int = 80) -> np.ndarray:
    u = (np.arange(n) + 0.5) * cam.width / n
    v = (np.arange(n) + 0.5) * cam.height / n
    return np.stack(np.meshgrid(u, v), axis=-1).reshape(-1, 2)


@pytest.mark.parametrize("cam", _cameras(), ids=lambda c: c.projection)
def test_project_unproject_round_trip_over_image_circle(cam: CameraModel) -> None:
    pixels = _pixel_grid(cam)
    rays = cam.unproject(pixels)
    inside = ~np.isnan(rays[:, 0])
    assert inside.sum() > 0.3 * len(pixels)
    np.testing.assert_allclose(np.linalg.norm(rays[inside], axis=1), 1.0, atol=1e-12)
    for distance in (0.5, 3.0, 40.0):
        points = np.asarray(cam.position) + rays[inside] * distance
        back = cam.project(points)
        assert np.max(np.abs(back - pixels[inside])) < 1e-6


@pytest.mark.parametrize("cam", _cameras(), ids=lambda c: c.projection)
def test_outside_the_field_is_nan(cam: CameraModel) -> None:
    behind = np.asarray(cam.position) + cam.rotation @ np.array([0.0, 0.0, 1.0])  # along +Z_cam: behind the lens
    if cam.max_theta < math.pi:
        assert np.isnan(cam.project(behind[None])).all()


def test_equidistant_known_angles_land_on_known_radii() -> None:
    cam = CameraModel(projection="fisheye_equidistant", width=W, height=W, fov_deg=180.0, position=(0, 0, 3))
    for theta_deg in (0.0, 15.0, 45.0, 60.0, 89.0):
        theta = math.radians(theta_deg)
        # a floor point at off-axis angle theta, to image right (+X world = image right for an unrotated camera)
        point = np.array([[3.0 * math.tan(theta), 0.0, 0.0]])
        u, v = cam.project(point)[0]
        assert u - W / 2 == pytest.approx(theta / math.pi * W, abs=1e-9)
        assert v == pytest.approx(W / 2, abs=1e-9)
    # world +Y is image up (smaller v)
    u, v = cam.project(np.array([[0.0, 1.0, 0.0]]))[0]
    assert v < W / 2 and u == pytest.approx(W / 2)


def test_equisolid_and_perspective_known_radii() -> None:
    eq = CameraModel(projection="fisheye_equisolid", width=W, height=W, focal_mm=9.0, sensor_width_mm=36.0)
    f = 9.0 * W / 36.0
    for theta in (0.1, 0.7, 1.2, math.pi / 2):
        assert eq.theta_to_radius(np.array([theta]))[0] == pytest.approx(2 * f * math.sin(theta / 2))
    persp = CameraModel(projection="perspective", width=W, height=W, fov_deg=90.0)
    assert persp.theta_to_radius(np.array([math.pi / 4]))[0] == pytest.approx(W / 2)


def test_blender_default_polynomial_is_monotonic_and_invertible() -> None:
    cam = CameraModel(projection="fisheye_polynomial", width=W, height=W, polynomial_k=BLENDER_DEFAULT_POLYNOMIAL)
    theta = np.linspace(0.0, cam.max_theta, 200)
    radius = cam.theta_to_radius(theta)
    assert np.all(np.diff(radius) > 0)
    np.testing.assert_allclose(cam.radius_to_theta(radius), theta, atol=1e-12)


def test_opencv_kannala_brandt_conversion_matches_opencv_model() -> None:
    fx, k = 310.0, (0.05, -0.02, 0.004, -0.0003)
    cam = CameraModel(
        projection="fisheye_polynomial",
        width=W,
        height=W,
        polynomial_k=polynomial_from_opencv_fisheye(fx, k, width=W, height=W, max_theta_deg=90.0),
    )
    theta = np.linspace(0.0, math.radians(85.0), 50)
    t2 = theta**2
    r_opencv = fx * theta * (1 + k[0] * t2 + k[1] * t2**2 + k[2] * t2**3 + k[3] * t2**4)
    assert np.max(np.abs(cam.theta_to_radius(theta) - r_opencv)) < 0.5  # sub-pixel over the circle


def test_unproject_to_floor_hits_the_projected_point() -> None:
    cam = CameraModel(projection="fisheye_equidistant", width=W, height=W, rotation_euler_deg=(5.0, 0.0, 30.0))
    floor = np.array([[1.0, -2.0, 0.0], [-0.4, 0.3, 0.0], [2.5, 2.5, 0.0]])
    np.testing.assert_allclose(cam.unproject_to_floor(cam.project(floor)), floor, atol=1e-9)


def test_euler_matches_blender_convention() -> None:
    # Blender XYZ Euler: R = Rz @ Ry @ Rx; 90° about Z maps +X to +Y.
    np.testing.assert_allclose(euler_xyz_matrix((0, 0, 90)) @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(euler_xyz_matrix((90, 0, 0)) @ [0, 1, 0], [0, 0, 1], atol=1e-12)


def test_invalid_cameras_are_rejected_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="width"):
        CameraModel(width=2)
    with pytest.raises(ValidationError, match="projection"):
        CameraModel(projection="fisheye_stereographic")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="above the floor"):
        CameraModel(position=(0, 0, -1))
