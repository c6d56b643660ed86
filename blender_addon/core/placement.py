"""Collision-checked placement of people on the floor (pure numpy, no bpy).

The broad phase (:class:`Placer`) draws positions by rejection sampling: a footprint inside the walkable
floor and the camera's image circle, overlapping no obstacle and no person already placed. :func:`place_people`
runs the whole search from config + seed and asks a ``fits`` callback (the Blender side's posed-mesh check)
whether each candidate body fits; every search is bounded and raises :class:`PlacementError` when it gives up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from shared_schema.distributions import rng_for
from shared_schema.geometry import point_in_polygon

if TYPE_CHECKING:
    from shared_schema.camera import CameraModel

Polygon = np.ndarray  # (N, 2)


class PlacementError(RuntimeError):
    """The requested people cannot be placed (too many for the free floor, or every try collided)."""


def as_poly(points) -> Polygon:
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


def polygon_area(poly) -> float:
    """Signed area (positive when the vertices run counter-clockwise)."""
    p = as_poly(poly)
    x, y = p[:, 0], p[:, 1]
    return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def polygon_centroid(poly) -> tuple[float, float]:
    p = as_poly(poly)
    a = polygon_area(p)
    if abs(a) < 1e-12:
        c = p.mean(axis=0)
        return (float(c[0]), float(c[1]))
    x, y = p[:, 0], p[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    return (float(((x + x1) * cross).sum() / (6 * a)), float(((y + y1) * cross).sum() / (6 * a)))


def _segments_intersect(p1, p2, q1, q2) -> bool:
    def orient(a, b, c) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0))


def polygons_overlap(a, b) -> bool:
    """True when two simple polygons (any convexity) share interior area or touch along crossing edges."""
    pa, pb = as_poly(a), as_poly(b)
    amin, amax, bmin, bmax = pa.min(0), pa.max(0), pb.min(0), pb.max(0)
    if (amax < bmin).any() or (bmax < amin).any():
        return False
    if point_in_polygon(tuple(pa[0]), pb) or point_in_polygon(tuple(pb[0]), pa):
        return True
    na, nb = len(pa), len(pb)
    for i in range(na):
        a1, a2 = pa[i], pa[(i + 1) % na]
        for j in range(nb):
            if _segments_intersect(a1, a2, pb[j], pb[(j + 1) % nb]):
                return True
    return False


def polygon_inside(inner, outer) -> bool:
    """True when every vertex of ``inner`` lies in ``outer`` and no edges cross."""
    pi, po = as_poly(inner), as_poly(outer)
    if not all(point_in_polygon(tuple(p), po) for p in pi):
        return False
    n, m = len(pi), len(po)
    return not any(
        _segments_intersect(pi[i], pi[(i + 1) % n], po[j], po[(j + 1) % m]) for i in range(n) for j in range(m)
    )


def point_polygon_distance(point, polygon) -> float:
    """Distance from a point to a polygon (0 inside)."""
    p = np.asarray(point, dtype=np.float64)
    poly = as_poly(polygon)
    if point_in_polygon((float(p[0]), float(p[1])), poly):
        return 0.0
    a, b = poly, np.roll(poly, -1, axis=0)
    ab = b - a
    t = np.clip(((p - a) * ab).sum(1) / np.maximum((ab * ab).sum(1), 1e-12), 0.0, 1.0)
    return float(np.min(np.hypot(*(a + ab * t[:, None] - p).T)))


def circle(center, radius: float, n: int = 12) -> Polygon:
    t = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    return np.stack([center[0] + radius * np.cos(t), center[1] + radius * np.sin(t)], axis=1)


def rect(center, length: float, width: float, yaw_deg: float, forward: float = 0.0) -> Polygon:
    """Rectangle ``length`` along the yaw direction (shifted ``forward``) by ``width`` across."""
    a = math.radians(yaw_deg)
    d, n = np.array([math.cos(a), math.sin(a)]), np.array([-math.sin(a), math.cos(a)])
    c = np.asarray(center, dtype=np.float64) + d * forward
    hl, hw = length / 2, width / 2
    return np.stack([c - d * hl - n * hw, c + d * hl - n * hw, c + d * hl + n * hw, c - d * hl + n * hw])


#: Conservative footprint sizes (metres) used before the body exists; the narrow phase refines.
STANDING_RADIUS = 0.32
SITTING_LENGTH, SITTING_WIDTH, SITTING_FORWARD = 0.95, 0.6, 0.2
STOOL_SIZE = 0.42


def footprint_estimate(posture: str, position, yaw_deg: float) -> Polygon:
    """Floor footprint of a person before it is built. Yaw 0 faces +X; sitting legs reach forward."""
    if posture == "sitting":
        return rect(position, SITTING_LENGTH, SITTING_WIDTH, yaw_deg, SITTING_FORWARD)
    return circle(position, STANDING_RADIUS)


def unproject_polygon_px(camera, polygon_px) -> list[tuple[float, float]]:
    """A polygon drawn on the background photo (pixels) as a floor polygon (metres)."""
    pts = camera.unproject_to_floor(np.asarray(polygon_px, dtype=np.float64))
    if np.isnan(pts).any():
        raise ValueError("polygon_px: a vertex lies outside the image circle or above the horizon")
    return [(round(float(x), 6), round(float(y), 6)) for x, y, _ in pts]


def human_yaw(facing_deg: float) -> float:
    """The humans package's yaw (0 = facing -Y, counter-clockwise) of a facing direction (0 = +X)."""
    return round((facing_deg + 90.0) % 360.0, 6)


#: A chair or stool faces the nearest table or counter closer than this (metres), else a sitter turns at random.
SEAT_TABLE_M = 2.0


def seat_facing(seat: FloorObstacle, obstacles: list[FloorObstacle]) -> float | None:
    """The direction (degrees) a sitter on ``seat`` faces: the nearest table or counter within
    :data:`SEAT_TABLE_M`; None when there is none (the placer then turns the sitter at random)."""
    c = np.array(polygon_centroid(seat.polygon))
    tables = [o for o in obstacles if o.kind in ("table", "counter") and not o.generated]
    if not tables:
        return None
    d = [np.array(polygon_centroid(t.polygon)) - c for t in tables]
    near = min(d, key=lambda v: float(np.hypot(*v)))
    if float(np.hypot(*near)) >= SEAT_TABLE_M:
        return None
    return float(math.degrees(math.atan2(near[1], near[0]))) % 360.0


@dataclass(frozen=True)
class PlacedPerson:
    """Where and how one person was placed (builder → visibility → annotation)."""

    posture: str  # standing | sitting
    position: tuple[float, float]  # floor point, metres
    yaw_deg: float  # sampled body yaw
    facing_deg: float  # the yaw the body was built with
    seat: str | None  # obstacle name of the seat (sitting people)
    seat_height: float | None
    placement_tries: int  # rejection-sampling tries it took
    mesh_checks: int  # bodies built for the narrow-phase mesh check
    reach: float  # metres: how far its body can reach from ``position``


@dataclass
class FloorObstacle:
    """An obstacle's floor polygon (metres) and heights; ``generated`` for the stools placement adds."""

    name: str
    kind: str
    polygon: list[tuple[float, float]]
    height: float
    seat_height: float | None = None
    generated: bool = False

    @property
    def is_seat(self) -> bool:
        return self.seat_height is not None or self.kind == "chair"


def config_obstacles(config) -> list[FloorObstacle]:
    """The config's obstacles as floor polygons (a ``polygon_px`` drawn on the photo is unprojected)."""
    out = []
    for spec in config.obstacles:
        poly = spec.polygon if spec.polygon is not None else unproject_polygon_px(config.camera, spec.polygon_px)
        out.append(
            FloorObstacle(
                name=spec.name,
                kind=spec.kind,
                polygon=[(float(p[0]), float(p[1])) for p in poly],
                height=spec.height,
                seat_height=spec.seat_height,
            )
        )
    return out


@dataclass
class Placer:
    """Rejection sampler over the floor. ``camera`` is a :class:`shared_schema.CameraModel`."""

    floor: list[tuple[float, float]]
    camera: CameraModel
    obstacles: list[FloorObstacle] = field(default_factory=list)
    placed: list[Polygon] = field(default_factory=list)
    wall_margin: float = 0.3
    head_height: float = 1.8
    circle_margin_px: float = 2.0

    def in_view(self, position, heights=(0.0, None)) -> bool:
        """Feet and head of a person at ``position`` both inside the image circle."""
        hs = [self.head_height if h is None else h for h in heights]
        pts = np.array([[position[0], position[1], h] for h in hs])
        px = self.camera.project(pts)
        if np.isnan(px).any():
            return False
        cu, cv = self.camera.center
        rmax = self.camera.image_circle_radius() if self.camera.projection != "perspective" else math.inf
        w, h = self.camera.width, self.camera.height
        m = self.circle_margin_px
        for u, v in px:
            if not (m <= u < w - m and m <= v < h - m):
                return False
            if math.hypot(u - cu, (v - cv) * (w / h)) > rmax - m:
                return False
        return True

    def on_floor(self, footprint) -> bool:
        if not polygon_inside(footprint, self.floor):
            return False
        if self.wall_margin > 0:
            c = as_poly(footprint).mean(axis=0)
            for ang in range(0, 360, 45):
                a = math.radians(ang)
                p = (c[0] + self.wall_margin * math.cos(a), c[1] + self.wall_margin * math.sin(a))
                if not point_in_polygon(p, self.floor):
                    return False
        return True

    def collides(self, footprint, *, ignore: tuple[str, ...] = (), skip_tables: bool = False) -> bool:
        for ob in self.obstacles:
            if ob.name in ignore or (skip_tables and ob.kind == "table"):
                continue
            if polygons_overlap(footprint, ob.polygon):
                return True
        return any(polygons_overlap(footprint, p) for p in self.placed)

    def sample_point(self, rng: np.random.Generator) -> tuple[float, float]:
        f = as_poly(self.floor)
        lo, hi = f.min(0), f.max(0)
        for _ in range(1000):
            p = (float(rng.uniform(lo[0], hi[0])), float(rng.uniform(lo[1], hi[1])))
            if point_in_polygon(p, f):
                return p
        raise PlacementError("the floor polygon has (almost) no area")

    def propose_standing(self, rng: np.random.Generator, attempts: int) -> tuple[tuple[float, float], float, Polygon]:
        """A free standing position: (position, yaw_deg, footprint). Raises PlacementError."""
        for _ in range(attempts):
            pos = self.sample_point(rng)
            yaw = float(rng.uniform(0.0, 360.0))
            fp = footprint_estimate("standing", pos, yaw)
            if self.on_floor(fp) and self.in_view(pos) and not self.collides(fp):
                return pos, yaw, fp
        raise PlacementError(
            f"could not place a standing person after {attempts} attempts: {len(self.placed)} people placed, "
            "floor/image circle too crowded; lower people.standing or raise people.max_placement_attempts"
        )

    def propose_stool(self, rng: np.random.Generator, attempts: int, index: int | str) -> FloorObstacle:
        """A free position for a generated stool (a seat for a sitting person when no chair is free)."""
        for _ in range(attempts):
            pos = self.sample_point(rng)
            yaw = float(rng.uniform(0.0, 360.0))
            fp = footprint_estimate("sitting", pos, yaw)
            if self.on_floor(fp) and self.in_view(pos, (0.0, 1.35)) and not self.collides(fp):
                stool = rect(pos, STOOL_SIZE, STOOL_SIZE, yaw)
                seat = float(np.round(rng.uniform(0.42, 0.5), 4))
                return FloorObstacle(
                    name=f"stool_{index}",
                    kind="chair",
                    polygon=[(float(x), float(y)) for x, y in stool],
                    height=seat,
                    seat_height=seat,
                    generated=True,
                )
        raise PlacementError(
            f"could not place a sitting person after {attempts} attempts: {len(self.placed)} people placed, "
            "floor/image circle too crowded; lower people.sitting or raise people.max_placement_attempts"
        )

    def seat_yaw(self, seat: FloorObstacle, rng: np.random.Generator) -> float:
        """Face the nearest table when there is one (people sit at tables), else a random direction."""
        facing = seat_facing(seat, self.obstacles)
        return facing if facing is not None else float(rng.uniform(0.0, 360.0))


# -- the people search: broad phase here, the posed-mesh check through the ``fits`` callback -----------------------
#: Posed-mesh (narrow phase) checks per person before giving up.
MAX_BUILDS_PER_PERSON = 12
#: Farthest a body reaches from its floor position (arms, a sitter's legs), metres: the narrow phase skips
#: obstacles and people beyond the sum of reaches.
STANDING_REACH_M = 1.0
SITTING_REACH_M = 1.2
#: Head height (metres) of a sitter that must be in view together with the feet.
SITTING_HEAD_M = 1.35


@dataclass(frozen=True)
class PersonSpec:
    """One person of the scene description: where and how it is placed, and the seed of its body."""

    person: PlacedPerson
    instance_id: int
    body_seed: int  # drives the body's phenotype, appearance and pose


@dataclass(frozen=True)
class BodyQuery:
    """A candidate body for the ``fits`` callback: build it, then say whether it fits."""

    spec: PersonSpec
    near_obstacles: tuple[str, ...]  # obstacles within reach, in obstacle order (the rest cannot touch it)
    near_people: tuple[int, ...]  # indices of the people placed so far within reach
    new_obstacles: tuple[FloorObstacle, ...]  # stools generated since the previous query: add them first


@dataclass(frozen=True)
class BodyFit:
    """The callback's answer: whether the body fits, and the built body's floor footprint when known."""

    fits: bool
    footprint: list[tuple[float, float]] | None = None


FitsCallback = Callable[[BodyQuery], BodyFit]


@dataclass
class PeopleDescription:
    """The placed people of a scene and every obstacle they were placed among."""

    standing: int  # sampled counts
    sitting: int
    people: list[PersonSpec]
    obstacles: list[FloorObstacle]  # the room's, then the generated stools in the order they were made


@dataclass
class _Candidate:
    position: tuple[float, float]
    facing_deg: float
    footprint: Polygon
    seat: FloorObstacle | None


@dataclass
class _Search:
    """The state of one scene's people search (see :func:`place_people`)."""

    placer: Placer
    fits: FitsCallback
    seed: int
    attempts: int
    seat_order: list[FloorObstacle]
    people: list[PersonSpec] = field(default_factory=list)
    pending: list[FloorObstacle] = field(default_factory=list)

    def seat(self, k: int, tries: int, rng: np.random.Generator, tried: set[str]) -> FloorObstacle:
        """The next untried seat in view, else a new stool."""
        for cand in self.seat_order:
            if cand.name in tried:
                continue
            tried.add(cand.name)
            if self.placer.in_view(polygon_centroid(cand.polygon), (0.0, SITTING_HEAD_M)):
                return cand
        stool = self.placer.propose_stool(rng, self.attempts, f"{k}_{tries}")
        tried.add(stool.name)
        self.placer.obstacles.append(stool)
        self.pending.append(stool)
        return stool

    def candidate(self, k: int, posture: str, tries: int, rng, tried: set[str]) -> _Candidate | None:
        """A broad-phase candidate; None when the chosen seat is blocked (the next try takes another)."""
        if posture != "sitting":
            pos, yaw, fp = self.placer.propose_standing(rng, self.attempts)
            return _Candidate(pos, yaw, fp, None)
        seat = self.seat(k, tries, rng, tried)
        pos = polygon_centroid(seat.polygon)
        yaw = self.placer.seat_yaw(seat, rng)
        fp = footprint_estimate("sitting", pos, yaw)
        if self.placer.collides(fp, ignore=(seat.name,), skip_tables=True):
            return None
        return _Candidate(pos, yaw, fp, seat)

    def query(self, spec: PersonSpec, seat: FloorObstacle | None) -> BodyQuery:
        """The callback's question for ``spec``, with what lies within its reach."""
        p = spec.person
        near_obstacles = tuple(
            o.name
            for o in self.placer.obstacles
            if (seat is None or o.name != seat.name) and point_polygon_distance(p.position, o.polygon) < p.reach
        )
        near_people = tuple(
            i for i, s in enumerate(self.people) if math.dist(p.position, s.person.position) < p.reach + s.person.reach
        )
        new = tuple(self.pending)
        self.pending.clear()
        return BodyQuery(spec, near_obstacles, near_people, new)

    def place(self, k: int, posture: str, total: int) -> None:
        """Place person ``k``: broad-phase candidates until one body fits. Raises PlacementError."""
        rng = rng_for(self.seed, "placement", k)
        tries = builds = 0
        tried: set[str] = set()
        while True:
            tries += 1
            if tries > self.attempts or builds >= MAX_BUILDS_PER_PERSON:
                raise PlacementError(
                    f"could not place person {k} ({posture}) after {tries - 1} attempts and {builds} posed-mesh "
                    f"checks ({k - 1} of {total} placed); lower people counts or raise max_placement_attempts"
                )
            cand = self.candidate(k, posture, tries, rng, tried)
            if cand is None:
                continue
            # a new body (pose, phenotype) after each failed posed-mesh check; the first is (seed, person, k)
            body_seed = int(rng_for(self.seed, "person", k, *([builds] if builds else [])).integers(0, 2**31 - 1))
            builds += 1
            spec = PersonSpec(_placed_person(posture, cand, tries, builds), k, body_seed)
            fit = self.fits(self.query(spec, cand.seat))
            if fit.fits:
                self.accept(spec, cand, fit)
                return

    def accept(self, spec: PersonSpec, cand: _Candidate, fit: BodyFit) -> None:
        if cand.seat is not None and cand.seat in self.seat_order:
            self.seat_order.remove(cand.seat)
        real = fit.footprint if fit.footprint is not None and len(fit.footprint) >= 3 else cand.footprint
        self.placer.placed.append(as_poly(real))
        self.people.append(spec)


def _placed_person(posture: str, cand: _Candidate, tries: int, builds: int) -> PlacedPerson:
    seat = cand.seat
    return PlacedPerson(
        posture=posture,
        position=(float(cand.position[0]), float(cand.position[1])),
        yaw_deg=human_yaw(cand.facing_deg),
        facing_deg=float(cand.facing_deg),
        seat=seat.name if seat is not None else None,
        seat_height=(seat.seat_height or seat.height) if seat is not None else None,
        placement_tries=tries,
        mesh_checks=builds,
        reach=SITTING_REACH_M if posture == "sitting" else STANDING_REACH_M,
    )


def place_people(config, seed: int, obstacles: list[FloorObstacle], fits: FitsCallback) -> PeopleDescription:
    """Draw the people counts and place everyone (sitters first, on free seats or new stools), asking
    ``fits`` about each candidate body (Kubric's ``resample_while(..., condition=...)``): deterministic in
    ``seed`` for a deterministic callback, bounded by ``people.max_placement_attempts`` tries and
    :data:`MAX_BUILDS_PER_PERSON` bodies per person. Raises :class:`PlacementError`."""
    count_rng = rng_for(seed, "people", "count")
    n_stand = config.people.standing.sample(count_rng)
    n_sit = config.people.sitting.sample(count_rng)
    placer = Placer(floor=list(config.floor), camera=config.camera, obstacles=list(obstacles))
    seats = [o for o in obstacles if o.is_seat]
    order = rng_for(seed, "placement", "seats").permutation(len(seats))
    search = _Search(placer, fits, seed, config.people.max_placement_attempts, [seats[i] for i in order])
    postures = ["sitting"] * n_sit + ["standing"] * n_stand
    for k, posture in enumerate(postures, start=1):
        search.place(k, posture, len(postures))
    return PeopleDescription(n_stand, n_sit, search.people, list(placer.obstacles))
