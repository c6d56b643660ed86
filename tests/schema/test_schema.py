"""Schema validation: clear errors naming the field, version checks, examples, committed JSON Schemas."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import ValidationError

from shared_schema import SceneAnnotation, SceneConfig, example_config
from shared_schema.api import ErrorBody, ErrorCode
from shared_schema.distributions import Normal, Uniform, rng_for
from shared_schema.geometry import radial_angle_deg, rotated_box_corners, rotated_box_from_points
from shared_schema.jsonschema_export import main as jsonschema_main
from shared_schema.jsonschema_export import render_schemas


def test_examples_load_with_thesis_defaults() -> None:
    office = example_config("office")
    assert office.people.standing.high == 4 and office.people.sitting.low == 1
    assert sum(1 for o in office.obstacles if o.seat_height) >= office.people.sitting.high
    assert office.phenotype.skin_melanin == Uniform(low=0.2, high=1.0)
    assert office.phenotype.fabric_value.mean == 0.5  # type: ignore[union-attr]
    shop = example_config("shop")
    assert shop.camera.projection == "fisheye_equisolid"
    with pytest.raises(FileNotFoundError, match="available"):
        example_config("castle")


def test_validation_error_names_the_field() -> None:
    data = json.loads(example_config("office").dump())
    data["people"]["standing"] = {"low": 3, "high": 1}
    with pytest.raises(ValidationError) as err:
        SceneConfig.model_validate(data)
    assert "people.standing" in str(err.value)
    data = json.loads(example_config("office").dump())
    data["obstacles"][0]["polygon"] = [[0, 0], [1, 1]]
    with pytest.raises(ValidationError, match=r"obstacles\.0"):
        SceneConfig.model_validate(data)
    with pytest.raises(ValidationError, match="unexpected_field"):
        SceneConfig.model_validate({"unexpected_field": 1})


@pytest.mark.parametrize("version,ok", [("1.0", True), ("1.7", True), ("2.0", False), ("x", False)])
def test_schema_major_version(version: str, ok: bool, annotated_images) -> None:
    data = json.loads(annotated_images[0][0].to_json())
    data["schema_version"] = version
    if ok:
        SceneAnnotation.model_validate(data)
    else:
        with pytest.raises(ValidationError, match="schema_version"):
            SceneAnnotation.model_validate(data)


def test_annotation_round_trip_is_byte_stable(annotated_images) -> None:
    ann = annotated_images[0][0]
    again = SceneAnnotation.model_validate_json(ann.to_json())
    assert again.to_json() == ann.to_json()


def test_annotation_rejects_inconsistent_records(annotated_images) -> None:
    data = json.loads(annotated_images[0][0].to_json())
    data["width"] = data["width"] + 1
    with pytest.raises(ValidationError, match="camera width/height"):
        SceneAnnotation.model_validate(data)
    data = json.loads(annotated_images[0][0].to_json())
    data["persons"][0]["keypoints"] = data["persons"][0]["keypoints"][:5]
    with pytest.raises(ValidationError, match="17"):
        SceneAnnotation.model_validate(data)


def test_error_body_shape() -> None:
    body = ErrorBody.model_validate({"error": {"code": "size_mismatch", "message": "m", "field": "instances"}})
    assert body.error.code is ErrorCode.SIZE_MISMATCH


def test_rng_for_is_stable_and_keyed() -> None:
    a = rng_for(7, "person", 2).random(3)
    np.testing.assert_array_equal(a, rng_for(7, "person", 2).random(3))
    assert not np.allclose(a, rng_for(7, "person", 3).random(3))
    assert not np.allclose(a, rng_for(8, "person", 2).random(3))
    n = Normal(mean=0.0, std=1.0, low=-0.5, high=0.5)
    assert all(-0.5 <= n.sample(rng_for(1, i)) <= 0.5 for i in range(50))


def test_rotated_box_points_long_axis_to_centre() -> None:
    center = (50.0, 50.0)
    rng = np.random.default_rng(0)
    for angle in np.linspace(-170, 170, 13):
        a = np.radians(angle)
        direction = np.array([np.sin(a), -np.cos(a)])
        across = np.array([np.cos(a), np.sin(a)])
        mid = np.array(center) + 30 * direction
        pts = mid + rng.uniform(-10, 10, (200, 1)) * direction + rng.uniform(-3, 3, (200, 1)) * across
        cx, cy, w, h, box_angle = rotated_box_from_points(pts, center)
        assert h >= w
        axis = radial_angle_deg((cx, cy), center)
        assert min(abs((box_angle - axis + 90) % 180 - 90), 180) < 1.0
        corners = rotated_box_corners((cx, cy, w, h, box_angle))
        assert corners.shape == (4, 2)


def test_committed_json_schemas_are_up_to_date() -> None:
    assert jsonschema_main(["--check"]) == 0, "run: python -m shared_schema.jsonschema_export"
    assert "scene_annotation.schema.json" in render_schemas()


def test_annotation_from_an_instance_map_of_another_tool() -> None:
    import numpy as np

    from shared_schema.annotation import SceneAnnotation, annotation_from_instances

    imap = np.zeros((40, 60), np.uint16)
    imap[5:15, 10:14] = 3
    imap[20:30, 40:50] = 7
    ann = annotation_from_instances(imap, image_id="ext_1", seed=4)
    assert [p.instance_id for p in ann.persons] == [3, 7]
    assert [p.area for p in ann.persons] == [40, 100]
    assert ann.persons[0].bbox == (10.0, 5.0, 4.0, 10.0)
    assert (ann.width, ann.height, ann.camera.width, ann.camera.height) == (60, 40, 60, 40)
    assert SceneAnnotation.model_validate_json(ann.to_json()) == ann
    assert annotation_from_instances(np.zeros((8, 8), np.uint16), image_id="empty").persons == []
