"""blender_addon.services (no bpy): configs with overrides, output paths, the refinement round-trip, messages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from blender_addon import services


def test_load_example_with_people_override():
    cfg = services.load_scene_config(example="office", people={"standing": (1, 2), "sitting": (0, 1)})
    assert (cfg.people.standing.low, cfg.people.standing.high) == (1, 2)
    assert (cfg.people.sitting.low, cfg.people.sitting.high) == (0, 1)
    with pytest.raises(ValueError, match="below min"):
        services.load_scene_config(example="office", people={"standing": (3, 1)})


def test_load_config_file_errors(tmp_path: Path):
    with pytest.raises(ValueError, match="choose a scene config"):
        services.load_scene_config(source="FILE", path="")
    with pytest.raises(FileNotFoundError):
        services.load_scene_config(source="FILE", path=tmp_path / "missing.json")


@pytest.mark.parametrize("bad", ["", "a/b", "..", "x\\y"])
def test_output_paths_rejects_bad_ids(bad):
    with pytest.raises(ValueError):
        services.output_paths("/tmp", bad)


@dataclass
class _Result:
    image_png: bytes
    annotations: bytes
    model_id: str = "fake"
    timings: dict | None = None


class _EchoClient:
    def __init__(self, change_annotations: bool = False):
        self.change = change_annotations

    def refine(self, image_png, instances_png, annotations_json):
        ann = annotations_json + b" " if self.change else annotations_json
        return _Result(b"REFINED" + image_png, ann)


def _synthetic(tmp_path: Path):
    paths = services.output_paths(tmp_path, "img")
    for p, data in ((paths.image, b"IMG"), (paths.instances, b"INST"), (paths.annotation, b'{"a": 1}')):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return paths


def test_refine_files_writes_refined_and_keeps_annotations(tmp_path: Path):
    paths = _synthetic(tmp_path)
    outcome = services.refine_files(paths, _EchoClient())
    assert outcome.refined == paths.refined and paths.refined.read_bytes() == b"REFINEDIMG"
    assert paths.annotation.read_bytes() == b'{"a": 1}'
    assert outcome.model_id == "fake"


def test_refine_files_refuses_changed_annotations(tmp_path: Path):
    paths = _synthetic(tmp_path)
    with pytest.raises(RuntimeError, match="different annotations"):
        services.refine_files(paths, _EchoClient(change_annotations=True))
    assert not paths.refined.exists()
    assert paths.image.read_bytes() == b"IMG"


def test_refine_files_needs_the_render(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        services.refine_files(services.output_paths(tmp_path, "nothing"), _EchoClient())


def test_client_and_messages_never_show_the_token():
    client = services.make_client("http://127.0.0.1:1", "s3cret-token", timeout=1, retries=0)
    assert "s3cret-token" not in repr(client)
    from shared_schema.client import AuthError, ServerUnavailable

    for exc in (ServerUnavailable("down"), AuthError("401 unauthorized", status=401), ValueError("x")):
        msg = services.friendly_refine_error(exc, "http://127.0.0.1:1")
        assert "s3cret-token" not in msg
    assert "not reachable" in services.friendly_refine_error(ServerUnavailable("down"), "http://h")
    assert "token" in services.friendly_refine_error(AuthError("no", status=401), "http://h")
