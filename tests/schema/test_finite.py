"""NaN and ±Infinity are rejected by every contract model, in typed fields and free-form objects alike."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil

import pytest
from pydantic import BaseModel, ValidationError

import shared_schema
from shared_schema import SceneAnnotation, example_config
from shared_schema.api import Timings
from shared_schema.config import SceneConfig
from shared_schema.finite import require_finite

NON_FINITE = ["NaN", "Infinity", "-Infinity"]


def _contract_models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for info in pkgutil.iter_modules(shared_schema.__path__):
        mod = importlib.import_module(f"shared_schema.{info.name}")
        for _, obj in inspect.getmembers(mod, inspect.isclass):
            if issubclass(obj, BaseModel) and obj.__module__.startswith("shared_schema"):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


@pytest.mark.parametrize("model", _contract_models(), ids=lambda m: m.__qualname__)
def test_every_contract_model_refuses_non_finite_floats(model: type[BaseModel]) -> None:
    assert model.model_config.get("allow_inf_nan") is False


@pytest.mark.parametrize("literal", NON_FINITE)
def test_annotation_json_with_non_finite_principal_point_is_invalid(annotated_images, literal: str) -> None:
    data = json.loads(annotated_images[0][0].to_json())
    text = json.dumps(data).replace('"principal_point": null', f'"principal_point": [{literal}, {literal}]')
    assert literal in text
    with pytest.raises(ValidationError, match="finite"):
        SceneAnnotation.model_validate_json(text)


@pytest.mark.parametrize("literal", NON_FINITE)
def test_free_form_objects_refuse_non_finite_numbers(annotated_images, literal: str) -> None:
    data = json.loads(annotated_images[0][0].to_json())
    data["persons"][0]["phenotype"] = {"nested": [1.0, {"height": "__X__"}]}
    text = json.dumps(data).replace('"__X__"', literal)
    with pytest.raises(ValidationError, match="finite"):
        SceneAnnotation.model_validate_json(text)
    data["sampled"] = {"exposure": float(literal.replace("Infinity", "inf"))}
    with pytest.raises(ValidationError, match="finite"):
        SceneAnnotation.model_validate(data)


def test_config_and_api_models_refuse_nan() -> None:
    cfg = json.loads(example_config("office").model_dump_json())
    cfg["camera"]["fov_deg"] = float("nan")
    with pytest.raises(ValidationError, match="finite"):
        SceneConfig.model_validate(cfg)
    with pytest.raises(ValidationError, match="finite"):
        Timings(total_ms=float("inf"))


def test_require_finite_passes_finite_trees_unchanged_and_bounds_depth() -> None:
    tree = {"a": [1, 2.5, (3.0, "x")], "b": None}
    assert require_finite(tree) is tree
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(ValueError, match="deeper"):
        require_finite(deep)
