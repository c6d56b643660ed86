"""SceneConfig: what a user writes to describe a room and how it is randomized.

Defaults follow the thesis (Andersson & Andersson 2019), Appendix Tables 7.1 (human models) and
7.2 (images): standing people U(0, 4), sitting people U(1, 5), skin melanin U(0.2, 1) (Fitzpatrick I to VI),
hue U(0.49, 0.51), oil U(0, 1), bump U(0, 1). Garment colours are not the thesis's fabric saturation N(0, 0.3)
clipped at 0 (half of all fabrics exactly grey) but palettes of colour families (:class:`AppearanceConfig`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .camera import CameraModel
from .distributions import Distribution, IntRange, Normal, Uniform
from .finite import StrictModel
from .versioning import SCHEMA_VERSION, check_schema_version

Point2 = tuple[float, float]


_Strict = StrictModel


class ObstacleSpec(_Strict):
    """A piece of furniture: a floor polygon (metres, or pixels of the background photo) and a height."""

    name: str = Field(min_length=1, max_length=64)
    kind: Literal["table", "shelf", "chair", "counter", "other"] = "table"
    polygon: list[Point2] | None = Field(None, description="floor polygon in metres, counter-clockwise")
    polygon_px: list[Point2] | None = Field(
        None, description="polygon drawn on the background photo (pixels), unprojected onto the floor"
    )
    height: float = Field(0.75, gt=0.0, le=4.0, description="top height in metres")
    seat_height: float | None = Field(
        None, gt=0.0, le=1.5, description="chairs/benches: seat height in metres where sitting people go"
    )

    @model_validator(mode="after")
    def _one_polygon(self) -> ObstacleSpec:
        if (self.polygon is None) == (self.polygon_px is None):
            raise ValueError("give exactly one of polygon (metres) or polygon_px (photo pixels)")
        poly = self.polygon if self.polygon is not None else self.polygon_px
        assert poly is not None
        if len(poly) < 3:
            raise ValueError("a polygon needs at least 3 points")
        return self


#: Most people one frame may hold (standing.high + sitting.high): crowds with mutual occlusion, bounded.
MAX_PEOPLE = 30


class PeopleConfig(_Strict):
    """How many people a frame holds (thesis defaults: standing U(0, 4), sitting U(1, 5); up to MAX_PEOPLE)."""

    standing: IntRange = IntRange(low=0, high=4)
    sitting: IntRange = IntRange(low=1, high=5)
    max_placement_attempts: int = Field(200, ge=1, le=100_000, description="rejection-sampling tries per person")
    min_visible_fraction: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="people the camera sees less than this share of (behind furniture or "
        "others) are removed from the scene before rendering; 0 keeps everyone",
    )

    @model_validator(mode="after")
    def _bounded(self) -> PeopleConfig:
        if self.standing.high + self.sitting.high > MAX_PEOPLE:
            raise ValueError(f"standing.high + sitting.high must be <= {MAX_PEOPLE} people per frame")
        return self


APPEARANCE_DEFAULTS_PATH = Path(__file__).resolve().parent / "appearance_defaults.json"


def _appearance_default(key: str):
    return json.loads(APPEARANCE_DEFAULTS_PATH.read_text(encoding="utf-8"))[key]


#: the keys each weight table of ``AppearanceConfig`` may use, and its name in error messages
_WEIGHT_KEYS: dict[str, tuple[set[str], str]] = {
    "hair_colours": ({"black", "dark_brown", "brown", "light_brown", "blonde", "red"}, "hair colours"),
    "tops": ({"tshirt", "shirt", "sweater", "tank"}, "tops"),
    "outerwear": ({"none", "jacket", "coat"}, "outerwear"),
    "legwear_female": ({"trousers", "shorts", "skirt"}, "legwear"),
    "legwear_male": ({"trousers", "shorts", "skirt"}, "legwear"),
    "patterns": ({"plain", "stripes", "print", "checker"}, "patterns"),
}


def _check_weights(v: dict[str, float], allowed: set[str], what: str) -> dict[str, float]:
    unknown = set(v) - allowed
    if unknown:
        raise ValueError(f"unknown {what} {sorted(unknown)}; allowed {sorted(allowed)}")
    if any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
        raise ValueError(f"{what} weights must be >= 0 and not all zero")
    return v


class ColourFamily(_Strict):
    """One colour family of a garment palette, in display (sRGB) HSV: hue in turns, saturation and value in
    [0, 1]. A garment of this family gets ``hue ± hue_jitter`` (uniform; any hue when ``any_hue``),
    ``saturation ± saturation_jitter`` and ``value ± value_jitter`` (uniform, clipped to [0, 1])."""

    name: str = Field(min_length=1, max_length=32)
    weight: float = Field(ge=0.0, le=1e6, description="relative share of garments in this family")
    hue: float = Field(0.0, ge=0.0, le=1.0)
    saturation: float = Field(ge=0.0, le=1.0)
    value: float = Field(ge=0.0, le=1.0)
    hue_jitter: float = Field(0.02, ge=0.0, le=0.5)
    saturation_jitter: float = Field(0.08, ge=0.0, le=1.0)
    value_jitter: float = Field(0.08, ge=0.0, le=1.0)
    any_hue: bool = False


def _default_families(slot: str) -> list[ColourFamily]:
    return [ColourFamily(**f) for f in _appearance_default("palettes")[slot]]


class GarmentPalettes(_Strict):
    """Colour families per garment slot (defaults: ``appearance_defaults.json``, a share of black, navy, grey,
    white, denim and earth tones as seen on real people, and a minority of saturated colours)."""

    tops: list[ColourFamily] = Field(default_factory=lambda: _default_families("tops"))
    bottoms: list[ColourFamily] = Field(default_factory=lambda: _default_families("bottoms"))
    outerwear: list[ColourFamily] = Field(default_factory=lambda: _default_families("outerwear"))
    shoes: list[ColourFamily] = Field(default_factory=lambda: _default_families("shoes"))

    @field_validator("tops", "bottoms", "outerwear", "shoes")
    @classmethod
    def _families(cls, v: list[ColourFamily]) -> list[ColourFamily]:
        if not v or len(v) > 64 or sum(f.weight for f in v) <= 0:
            raise ValueError("a palette needs 1..64 families with a positive total weight")
        return v


class AppearanceConfig(_Strict):
    """Wardrobe and colour distributions of the rendered people (all weights are relative; rates in [0, 1]).

    A bottom of the ``denim`` family is jeans (denim fabric). ``palette_fit`` writes a ``palettes`` section
    fitted to real person crops of a site.
    """

    palettes: GarmentPalettes = GarmentPalettes()
    hair_colours: dict[str, float] = Field(
        default_factory=lambda: _appearance_default("hair_colours"),
        description="base weights of natural hair colours; darker skin shifts them darker, age adds grey from 40",
    )
    tops: dict[str, float] = Field(default_factory=lambda: _appearance_default("tops"))
    rolled_sleeves: float = Field(
        default_factory=lambda: _appearance_default("rolled_sleeves"),
        ge=0.0,
        le=1.0,
        description="share of shirts with elbow-length sleeves",
    )
    outerwear: dict[str, float] = Field(default_factory=lambda: _appearance_default("outerwear"))
    leather_jacket: float = Field(
        default_factory=lambda: _appearance_default("leather_jacket"),
        ge=0.0,
        le=1.0,
        description="share of jackets in leather",
    )
    legwear_female: dict[str, float] = Field(default_factory=lambda: _appearance_default("legwear_female"))
    legwear_male: dict[str, float] = Field(default_factory=lambda: _appearance_default("legwear_male"))
    dress_female: float = Field(
        default_factory=lambda: _appearance_default("dress_female"),
        ge=0.0,
        le=1.0,
        description="share of female-presenting people in a dress",
    )
    patterns: dict[str, float] = Field(default_factory=lambda: _appearance_default("patterns"))
    accessories: dict[str, float] = Field(
        default_factory=lambda: _appearance_default("accessories"),
        description="independent probability of each carried object (at most one object per hand)",
    )

    @field_validator("hair_colours", "tops", "outerwear", "legwear_female", "legwear_male", "patterns")
    @classmethod
    def _weights(cls, v: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        allowed, what = _WEIGHT_KEYS[info.field_name or ""]
        return _check_weights(v, allowed, what)

    @field_validator("accessories")
    @classmethod
    def _accessories(cls, v: dict[str, float]) -> dict[str, float]:
        allowed = {"backpack", "shoulder_bag", "handbag", "laptop", "phone", "coffee_cup"}
        if set(v) - allowed or any(not 0.0 <= p <= 1.0 for p in v.values()):
            raise ValueError(f"accessories: probabilities in [0, 1] for {sorted(allowed)}")
        return v


class PhenotypeRanges(_Strict):
    """Distributions of a human model's phenotype and appearance (MakeHuman macro parameters in [0, 1])."""

    gender: Distribution = Uniform(low=0.0, high=1.0)
    age_years: Distribution = Uniform(low=18.0, high=70.0)
    allow_children: bool = False
    muscle: Distribution = Uniform(low=0.2, high=0.8)
    weight: Distribution = Uniform(low=0.2, high=0.8)
    height: Distribution = Normal(mean=0.5, std=0.18, low=0.0, high=1.0)
    proportions: Distribution = Uniform(low=0.3, high=0.7)
    african: Distribution = Uniform(low=0.0, high=1.0)
    asian: Distribution = Uniform(low=0.0, high=1.0)
    caucasian: Distribution = Uniform(low=0.0, high=1.0)
    skin_melanin: Distribution = Uniform(low=0.2, high=1.0)
    skin_hue: Distribution = Uniform(low=0.49, high=0.51)
    skin_oil: Distribution = Uniform(low=0.0, high=1.0)
    skin_bump: Distribution = Uniform(low=0.0, high=1.0)
    fabric_saturation: Distribution = Field(
        Uniform(low=0.45, high=0.9), description="saturation of garments drawn from an any-hue palette family"
    )
    fabric_value: Distribution = Field(
        Normal(mean=0.5, std=0.2, low=0.02, high=1.0), description="value of garments of an any-hue palette family"
    )
    hair_styles: dict[str, float] = Field(
        default_factory=lambda: {"short": 0.45, "long": 0.25, "tied": 0.15, "bald": 0.08, "cap": 0.05, "hat": 0.02},
        description="relative weights of hair styles",
    )

    appearance: AppearanceConfig = AppearanceConfig()

    @field_validator("hair_styles")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        allowed = {"short", "long", "tied", "bald", "cap", "hat"}
        unknown = set(v) - allowed
        if unknown:
            raise ValueError(f"unknown hair styles {sorted(unknown)}; allowed {sorted(allowed)}")
        if any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("hair style weights must be >= 0 and not all zero")
        return v


class CeilingPanels(_Strict):
    """Procedural rooms: ceiling light panels on a square grid, as in offices and shops."""

    spacing_m: Distribution = Uniform(low=1.8, high=3.0)
    size_m: Distribution = Uniform(low=0.5, high=1.2)
    power_w: Distribution = Uniform(low=60.0, high=200.0)
    temperature_jitter_k: float = Field(150.0, ge=0.0, le=2000.0, description="per-panel N(0, sd) around the room")


class PhotoLightMatch(_Strict):
    """Photo mode: colour temperature and exposure follow the photo; a key light casts the shadows."""

    match_photo: bool = Field(True, description="estimate colour temperature and exposure from the photo")
    temperature_jitter_k: float = Field(200.0, ge=0.0, le=3000.0, description="N(0, sd) around the estimate")
    key_elevation_deg: Distribution = Uniform(low=55.0, high=90.0)
    key_azimuth_deg: Distribution = Uniform(low=0.0, high=360.0)
    key_softness_deg: Distribution = Uniform(low=15.0, high=60.0)
    key_share: Distribution = Uniform(low=0.15, high=0.5)
    floor_albedo: float = Field(0.35, gt=0.0, le=1.0, description="assumed albedo of the photo's floor")


class CameraResponse(_Strict):
    """Procedural rooms: the camera's automatic white balance and exposure applied to the rendered frame."""

    white_balance: Distribution = Uniform(low=0.7, high=1.0)
    exposure_target: Distribution = Uniform(low=0.14, high=0.22)


class LightingRanges(_Strict):
    """Lights. Procedural rooms: a sun, ceiling panels, optional extra area lamps, a uniform world, then the
    camera's white balance and exposure. Photo mode: a key light and an environment derived from the photo,
    colour temperature and exposure estimated from it (``photo``)."""

    sun_strength: Distribution = Uniform(low=1.0, high=4.0)
    sun_elevation_deg: Distribution = Uniform(low=35.0, high=85.0)
    sun_azimuth_deg: Distribution = Uniform(low=0.0, high=360.0)
    color_temperature_k: Distribution = Uniform(low=3500.0, high=6500.0)
    area_lights: IntRange = IntRange(low=0, high=1)
    area_power_w: Distribution = Uniform(low=100.0, high=600.0)
    world_strength: Distribution = Uniform(low=0.2, high=0.8)
    panels: CeilingPanels = CeilingPanels()
    photo: PhotoLightMatch = PhotoLightMatch()
    camera: CameraResponse = CameraResponse()


class PhotoLayout(_Strict):
    """``<photo>.json`` beside a background photo: the obstacles (and optionally the floor) of that view; they
    replace the config's for images on that photo."""

    obstacles: list[ObstacleSpec] = Field(default_factory=list, max_length=256)
    floor: list[Point2] | None = Field(None, min_length=3, max_length=256)


MAX_PHOTOS = 100_000


FloorMaterialName = Literal["carpet", "carpet_tiles", "ceramic_tiles", "vinyl", "wood_planks", "concrete"]
#: Floor material types of procedural rooms, in the order they are drawn.
FLOOR_MATERIALS: tuple[FloorMaterialName, ...] = (
    "carpet",
    "carpet_tiles",
    "ceramic_tiles",
    "vinyl",
    "wood_planks",
    "concrete",
)
#: Default shares of floor materials: offices are mostly carpet, shops and canteens tiles, vinyl, wood, concrete.
DEFAULT_FLOOR_MATERIALS: dict[FloorMaterialName, float] = {
    "carpet": 0.25,
    "carpet_tiles": 0.2,
    "ceramic_tiles": 0.15,
    "vinyl": 0.15,
    "wood_planks": 0.15,
    "concrete": 0.1,
}


WallFixtureName = Literal["door", "whiteboard", "window", "pinboard", "poster", "radiator"]
#: Default shares of what hangs on the walls of procedural rooms.
DEFAULT_WALL_FIXTURES: dict[WallFixtureName, float] = {
    "door": 0.2,
    "whiteboard": 0.2,
    "window": 0.15,
    "pinboard": 0.1,
    "poster": 0.2,
    "radiator": 0.15,
}


class BackgroundConfig(_Strict):
    """The room around the people: procedural (floor material, walls, furniture) or a real photo."""

    mode: Literal["procedural", "photo"] = "procedural"
    photo: str | None = Field(None, description="fisheye photo of the empty room by the same camera (photo mode)")
    photos: str | list[str] | None = Field(
        None,
        description="photo mode: a folder of photos or a list, image i uses photo i mod N (sorted by name); "
        "each may have <photo>.json (a PhotoLayout) beside it",
    )
    floor_materials: dict[FloorMaterialName, float] = Field(
        default_factory=lambda: dict(DEFAULT_FLOOR_MATERIALS),
        description="procedural rooms: relative weight of each floor material (carpet, carpet_tiles, "
        "ceramic_tiles, vinyl, wood_planks, concrete); a type left out is never drawn. Default: carpet 0.25, "
        "carpet_tiles 0.2, ceramic_tiles 0.15, vinyl 0.15, wood_planks 0.15, concrete 0.1",
    )
    floor_colors: list[tuple[float, float, float]] | None = Field(
        None,
        description="linear RGB base colours of the floor, one drawn per image (with a luminance jitter) for any "
        "material; default (null): each material's own palette of realistic colours",
    )
    wall_fixtures: dict[WallFixtureName, float] = Field(
        default_factory=lambda: dict(DEFAULT_WALL_FIXTURES),
        description="procedural rooms: relative weight of each kind of thing on the walls (door, whiteboard, "
        "window, pinboard, poster, radiator); {} leaves the walls bare. Default: door 0.2, whiteboard 0.2, "
        "window 0.15, pinboard 0.1, poster 0.2, radiator 0.15",
    )
    wall_fixtures_per_m: float = Field(
        0.3, ge=0.0, le=2.0, description="procedural rooms: mean number of wall fixtures per metre of wall"
    )

    @field_validator("floor_materials")
    @classmethod
    def _floor_materials(cls, v: dict[FloorMaterialName, float]) -> dict[FloorMaterialName, float]:
        if any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("floor_materials: weights must be >= 0 with a positive sum")
        return v

    @field_validator("wall_fixtures")
    @classmethod
    def _wall_fixtures(cls, v: dict[WallFixtureName, float]) -> dict[WallFixtureName, float]:
        if any(w < 0 for w in v.values()):
            raise ValueError("wall_fixtures: weights must be >= 0")
        return v

    @field_validator("photos")
    @classmethod
    def _photos(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list) and not 1 <= len(v) <= MAX_PHOTOS:
            raise ValueError(f"photos: give 1 to {MAX_PHOTOS} paths")
        if isinstance(v, str) and not v:
            raise ValueError("photos: empty folder name")
        return v

    @model_validator(mode="after")
    def _photo(self) -> BackgroundConfig:
        if self.mode == "photo" and not (self.photo or self.photos):
            raise ValueError("background.photo or background.photos is required when mode is 'photo'")
        if self.photo and self.photos:
            raise ValueError("give background.photo or background.photos, not both")
        return self


class RenderConfig(_Strict):
    samples: int = Field(32, ge=1, le=4096)
    denoise: bool = True
    motion_blur: bool = True
    motion_blur_shutter: float = Field(0.3, ge=0.0, le=2.0, description="shutter in frames")
    device: Literal["auto", "cpu", "gpu"] = "auto"
    max_bounces: int = Field(4, ge=0, le=64)


class RoomLayout(_Strict):
    """Procedural rooms: a new room and furniture arrangement for every image, drawn from its seed (replaces the
    config's ``floor`` and ``obstacles``; photo mode keeps the photo's). Tables of one size stand in rows parallel
    to the walls with chairs along their long sides and aisles between them; shelves stand against the walls."""

    width_m: Distribution = Uniform(low=5.5, high=9.5)
    depth_m: Distribution = Uniform(low=5.0, high=8.5)
    tables: IntRange = IntRange(low=2, high=6)
    table_length_m: Distribution = Uniform(low=1.2, high=2.4)
    table_width_m: Distribution = Uniform(low=0.7, high=1.0)
    table_height_m: Distribution = Uniform(low=0.72, high=0.76)
    chair_fill: float = Field(0.8, ge=0.0, le=1.0, description="share of the places along a table with a chair")
    shelves: IntRange = IntRange(low=0, high=2)
    shelf_height_m: Distribution = Uniform(low=1.2, high=2.0)
    aisle_m: float = Field(0.9, ge=0.3, le=3.0, description="free floor between neighbouring tables' chairs")

    @model_validator(mode="after")
    def _bounded(self) -> RoomLayout:
        if self.tables.high > 12 or self.shelves.high > 6:
            raise ValueError("layout: at most 12 tables and 6 shelves")
        return self


class SceneConfig(_Strict):
    """A room and its randomization. Load with :meth:`load`; see ``shared_schema/examples/``."""

    schema_version: str = SCHEMA_VERSION
    name: str = Field("scene", min_length=1, max_length=64)
    camera: CameraModel = CameraModel()
    floor: list[Point2] = Field(
        default_factory=lambda: [(-4.0, -4.0), (4.0, -4.0), (4.0, 4.0), (-4.0, 4.0)],
        description="walkable floor polygon in metres",
    )
    obstacles: list[ObstacleSpec] = Field(default_factory=list)
    layout: RoomLayout | None = Field(
        None, description="procedural rooms: a new room and furniture per image (replaces floor and obstacles)"
    )
    people: PeopleConfig = PeopleConfig()
    phenotype: PhenotypeRanges = PhenotypeRanges()
    lighting: LightingRanges = LightingRanges()
    background: BackgroundConfig = BackgroundConfig()
    render: RenderConfig = RenderConfig()

    _check_version = field_validator("schema_version")(check_schema_version)

    @field_validator("floor")
    @classmethod
    def _floor(cls, v: list[Point2]) -> list[Point2]:
        if len(v) < 3:
            raise ValueError("the floor polygon needs at least 3 points")
        return v

    @classmethod
    def load(cls, path: str | Path) -> SceneConfig:
        """Read and validate a JSON config file."""
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))

    def dump(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=False)


EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


def example_config(name: str) -> SceneConfig:
    """A shipped example config (``office`` or ``shop``)."""
    path = EXAMPLES_DIR / f"{name}.json"
    if not path.is_file():
        available = sorted(p.stem for p in EXAMPLES_DIR.glob("*.json"))
        raise FileNotFoundError(f"no example config {name!r}; available: {available}")
    return SceneConfig.load(path)
