"""background.photos: a folder or a list cycled by image index, each photo with an optional layout beside it,
stored per image in the annotation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import ValidationError

from blender_addon.core.backgrounds import choose_photo, layout_file, list_photos
from shared_schema.config import BackgroundConfig

LAYOUT = {
    "obstacles": [
        {"name": "desk", "kind": "table", "polygon": [[0.8, 0.8], [1.6, 0.8], [1.6, 1.4], [0.8, 1.4]], "height": 0.7}
    ]
}


def _photos(folder, n: int = 2, size: int = 96) -> list[str]:
    from blender_addon.core.png import encode_png

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        img = np.full((size, size, 3), 60 + 60 * i, np.uint8)
        p = folder / f"room_{i}.png"
        p.write_bytes(encode_png(img))
        out.append(str(p))
    (folder / "notes.txt").write_text("not a photo")
    return out


def test_folder_sorted_and_cycled_by_index(tmp_path):
    photos = _photos(tmp_path / "bg", 3)
    (tmp_path / "bg" / "room_1.png.json").write_text(json.dumps(LAYOUT))
    assert list_photos(str(tmp_path / "bg")) == photos
    bg = BackgroundConfig(mode="photo", photos=str(tmp_path / "bg"))
    picks = [choose_photo(bg, i) for i in range(7)]
    assert [p.path for p in picks] == [photos[i % 3] for i in range(7)]
    assert [p.layout_path is not None for p in picks[:3]] == [False, True, False]
    assert picks[1].layout.obstacles[0].name == "desk" and picks[1].count == 3
    as_list = BackgroundConfig(mode="photo", photos=[photos[2], photos[0]])
    assert [choose_photo(as_list, i).path for i in range(3)] == [photos[2], photos[0], photos[2]]
    assert choose_photo(BackgroundConfig(), 5) is None  # procedural


def test_layout_beside_photo_both_names(tmp_path):
    (photo,) = _photos(tmp_path, 1)
    assert layout_file(photo) is None
    (tmp_path / "room_0.json").write_text(json.dumps(LAYOUT))
    assert layout_file(photo).name == "room_0.json"


def test_bad_layout_and_config_are_clear(tmp_path):
    (photo,) = _photos(tmp_path, 1)
    (tmp_path / "room_0.png.json").write_text('{"obstacles": [{"name": "x", "polygon": [[0, 0], [1, 0]]}]}')
    with pytest.raises(ValueError, match="bad photo layout"):
        choose_photo(BackgroundConfig(mode="photo", photos=[photo]), 0)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        list_photos(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no image files"):
        list_photos(str(tmp_path / "empty"))
    with pytest.raises(ValidationError, match="not both"):
        BackgroundConfig(mode="photo", photo=photo, photos=[photo])
    with pytest.raises(ValidationError, match="required"):
        BackgroundConfig(mode="photo")
    with pytest.raises(ValidationError, match="1 to"):
        BackgroundConfig(mode="photo", photos=[])


@pytest.mark.slow
def test_batch_cycles_photos_and_stores_them(tmp_path):
    pytest.importorskip("bpy")
    from blender_addon import pipeline

    from .conftest import small_config

    photos = _photos(tmp_path / "bg", 2)
    (tmp_path / "bg" / "room_1.png.json").write_text(json.dumps(LAYOUT))
    cfg = small_config(standing=(1, 1), sitting=(0, 0), res=96)
    cfg = cfg.model_copy(update={"background": BackgroundConfig(mode="photo", photos=str(tmp_path / "bg"))})
    res = pipeline.run_batch(cfg, 3, 8, tmp_path / "out", report=False)
    assert res.ok, res.failed
    from shared_schema.annotation import SceneAnnotation

    anns = [
        SceneAnnotation.model_validate_json((tmp_path / "out" / "annotations" / f"{i}.json").read_bytes())
        for i in res.ids
    ]
    assert [a.background.photo for a in anns] == [photos[0], photos[1], photos[0]]
    assert [a.background.params["photo_index"] for a in anns] == [0, 1, 0]
    assert [o.name for o in anns[1].obstacles] == ["desk"]  # the layout beside room_1 replaces the config's
    assert "desk" not in [o.name for o in anns[0].obstacles] and anns[0].background.params["layout"] is None
