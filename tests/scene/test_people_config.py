"""People counts: crowds up to MAX_PEOPLE per frame, beyond that a clear error (pure, no bpy)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared_schema.config import MAX_PEOPLE, PeopleConfig, SceneConfig
from shared_schema.distributions import IntRange


def test_crowd_bound():
    ok = PeopleConfig(standing=IntRange(low=20, high=24), sitting=IntRange(low=2, high=MAX_PEOPLE - 24))
    assert ok.standing.high + ok.sitting.high == MAX_PEOPLE
    with pytest.raises(ValidationError, match=f"<= {MAX_PEOPLE} people per frame"):
        PeopleConfig(standing=IntRange(low=0, high=MAX_PEOPLE), sitting=IntRange(low=0, high=1))
    defaults = SceneConfig().people
    assert (defaults.standing.low, defaults.standing.high, defaults.sitting.low, defaults.sitting.high) == (0, 4, 1, 5)
    with pytest.raises(ValidationError):
        PeopleConfig(min_visible_fraction=1.5)
