"""Person candidates from unlabeled footage of one camera, without labels (pure numpy).

For the frames of ONE static camera (a video, or stills of one folder and frame size that look alike), a per-pixel
temporal median (:func:`shared_schema.clean_plate.temporal_median`) is the empty room; a pixel is foreground when
its colour distance to that background exceeds a threshold estimated from the frames' own noise (median + k × MAD
of all distances: most pixels are background); the mask is opened and closed, restricted to the usable pixels
(fisheye image circle, eroded; burnt-in overlays out), and split into 8-connected components. A component is a
candidate when its area is within bounds, it is compact (fill of its box, elongation) and it is not in a region that
changes in (nearly) every frame (a changing timestamp, a screen, flicker: more than 30 % of it inside the dilated
region where the thresholded distance, before the opening, is set in at least ``persistent_frac`` of the frames).
Each frame's candidates form an instance map (ids 1..k) that the server's crop planner turns into crops
(``dataset.crops_from_candidates``).

Frames whose foreground covers too much of the image (lighting change, camera moved, another camera) are skipped;
fewer than ``min_frames`` frames of a camera give no candidates, with a message saying why.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from shared_schema.clean_plate import temporal_median

__all__ = [
    "Candidate",
    "CandidateParams",
    "CandidateReport",
    "FootageLike",
    "FrameCandidates",
    "GroupReport",
    "box_count",
    "dilate",
    "erode",
    "find_candidates",
    "group_by_camera",
    "label_components",
]


class FootageLike(Protocol):
    """What the detector reads of a frame: RGB uint8 (H, W, 3), usable pixels (H, W) bool, its file, its frame
    index in that file (0 for a still) and a camera key (frames with the same key may come from one camera)."""

    rgb: np.ndarray
    mask: np.ndarray
    source: str
    index: int
    camera: str


@dataclass(frozen=True)
class CandidateParams:
    """Detector settings; areas are fractions of the frame's area (size-independent)."""

    min_frames: int = 3
    k_mad: float = 6.0  # threshold = median + k × 1.4826 × MAD of the colour distances
    min_threshold: float = 18.0  # colour distance floor (RGB L2, 0-255 units)
    open_radius: int = 1
    close_radius: int = 2
    circle_erode: int = 3  # px taken off the usable area's edge (the image circle's rim)
    min_area_frac: float = 4e-4  # 512 px frames: ~105 px
    max_area_frac: float = 0.04  # 512 px frames: ~10500 px
    min_fill: float = 0.3  # component area / its bounding box area
    max_elongation: float = 4.5  # sqrt of the ratio of the principal-axis variances
    persistent_frac: float = 0.8  # foreground (dilated) in at least this fraction of the frames: not a person
    persistent_radius: int = 4
    max_foreground_frac: float = 0.25  # a frame beyond this (of its usable pixels) is skipped
    same_camera_diff: float = 12.0  # median |difference| of grey thumbnails (0-255) within one camera
    max_threshold: float = 60.0  # a noise-derived threshold above this: the frames are not one static camera


@dataclass(frozen=True)
class Candidate:
    """One foreground component: where it is (working-size pixels, box = x0, y0, x1, y1 exclusive)."""

    source: str
    frame_index: int
    camera: str
    instance_id: int
    box: tuple[int, int, int, int]
    area: int


@dataclass
class FrameCandidates:
    """A frame with candidates: its RGB, the instance map of its candidates (0 = none) and their records."""

    rgb: np.ndarray
    instances: np.ndarray
    candidates: list[Candidate]


@dataclass(frozen=True)
class GroupReport:
    """What became of one camera's frames."""

    camera: str
    sources: tuple[str, ...]
    n_used: int
    threshold: float
    n_candidates: int
    note: str


@dataclass
class CandidateReport:
    frames: list[FrameCandidates] = field(default_factory=list)
    groups: list[GroupReport] = field(default_factory=list)

    @property
    def candidates(self) -> list[Candidate]:
        return [c for f in self.frames for c in f.candidates]

    def summary(self) -> str:
        """One line per camera group."""
        return "\n".join(
            f"{g.camera} [{', '.join(g.sources[:3])}{' …' if len(g.sources) > 3 else ''}]: "
            f"{g.n_candidates} candidates from {g.n_used}/{len(g.sources)} frames"
            + (f" (threshold {g.threshold:.1f})" if g.n_used else "")
            + (f": {g.note}" if g.note else "")
            for g in self.groups
        )


# -- morphology and components (pure numpy) -----------------------------------------------------------------------
def box_count(mask: np.ndarray, r: int) -> np.ndarray:
    """Number of set pixels in the (2r+1)² window around each pixel (zero outside the image)."""
    a = np.pad(np.asarray(mask, dtype=np.int32), r)
    c = np.pad(a.cumsum(0), ((1, 0), (0, 0)))
    rows = c[2 * r + 1 :] - c[: -2 * r - 1]
    c2 = np.pad(rows.cumsum(1), ((0, 0), (1, 0)))
    return c2[:, 2 * r + 1 :] - c2[:, : -2 * r - 1]


def dilate(mask: np.ndarray, r: int) -> np.ndarray:
    return np.asarray(mask, bool).copy() if r <= 0 else box_count(mask, r) > 0


def erode(mask: np.ndarray, r: int) -> np.ndarray:
    return np.asarray(mask, bool).copy() if r <= 0 else box_count(mask, r) == (2 * r + 1) ** 2


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components: (labels int32 (H, W), 0 = background, 1..n in raster order of first pixel; n)."""
    m = np.asarray(mask, bool)
    h, w = m.shape
    big = h * w
    lab = np.where(m, np.arange(big, dtype=np.int64).reshape(h, w), big)
    fg = np.flatnonzero(m)
    while True:
        p = np.pad(lab, 1, constant_values=big)
        new = lab.copy()
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                np.minimum(new, p[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w], out=new)
        new[~m] = big
        flat = new.ravel()
        while True:  # pointer jumping: every label points at a foreground pixel with a smaller or equal label
            nxt = flat[flat[fg]]
            if np.array_equal(nxt, flat[fg]):
                break
            flat[fg] = nxt
        if np.array_equal(new, lab):
            break
        lab = new
    out = np.zeros((h, w), np.int32)
    if fg.size == 0:
        return out, 0
    uniq, inv = np.unique(lab.ravel()[fg], return_inverse=True)
    out.ravel()[fg] = inv.astype(np.int32) + 1
    return out, int(uniq.size)


# -- grouping -----------------------------------------------------------------------------------------------------
def _thumb(f: FootageLike, side: int = 48) -> np.ndarray:
    """Grey thumbnail (block means) with NaN where fewer than half of the block's pixels are usable."""
    h, w = f.rgb.shape[:2]
    fy, fx = max(h // side, 1), max(w // side, 1)
    hh, ww = h - h % fy, w - w % fx
    g = f.rgb[:hh, :ww].astype(np.float32).mean(axis=2).reshape(hh // fy, fy, ww // fx, fx).mean(axis=(1, 3))
    m = np.asarray(f.mask[:hh, :ww], np.float32).reshape(hh // fy, fy, ww // fx, fx).mean(axis=(1, 3))
    return np.where(m >= 0.5, g, np.nan)


def _thumb_diff(a: np.ndarray, b: np.ndarray) -> float:
    both = ~np.isnan(a) & ~np.isnan(b)
    return float(np.median(np.abs(a[both] - b[both]))) if both.any() else math.inf


def group_by_camera(frames: Sequence[FootageLike], max_diff: float) -> list[list[int]]:
    """Indices of ``frames`` per camera: same camera key and frame size, then split greedily (in order) so each
    frame looks like its group's first frame (median |difference| of grey thumbnails over the usable pixels of
    both ≤ ``max_diff``)."""
    keyed: dict[tuple[str, tuple[int, ...]], list[int]] = {}
    for i, f in enumerate(frames):
        keyed.setdefault((f.camera, tuple(f.rgb.shape)), []).append(i)
    groups: list[list[int]] = []
    for idx in keyed.values():
        thumbs = {i: _thumb(frames[i]) for i in idx}
        sub: list[list[int]] = []
        for i in idx:
            for g in sub:
                if _thumb_diff(thumbs[i], thumbs[g[0]]) <= max_diff:
                    g.append(i)
                    break
            else:
                sub.append([i])
        groups += sub
    return groups


# -- detection ----------------------------------------------------------------------------------------------------
def _distance(rgb: np.ndarray, background: np.ndarray) -> np.ndarray:
    d = rgb.astype(np.float32) - background.astype(np.float32)
    return np.sqrt((d * d).sum(axis=2))


def robust_threshold(dists: list[np.ndarray], usable: np.ndarray, p: CandidateParams) -> float:
    """median + k × 1.4826 × MAD of the colour distances at usable pixels (subsampled), at least the floor."""
    n = int(usable.sum()) * len(dists)
    step = max(1, math.isqrt(max(n // 2_000_000, 1)))
    vals = np.concatenate([d[::step, ::step][usable[::step, ::step]] for d in dists])
    if vals.size == 0:
        return float(p.min_threshold)
    med = float(np.median(vals))
    mad = float(np.median(np.abs(vals - med)))
    return max(float(p.min_threshold), med + p.k_mad * 1.4826 * mad)


def _component_ok(sel: tuple[np.ndarray, np.ndarray], area: int, frame_area: int, p: CandidateParams) -> bool:
    """Area bounds, fill of the bounding box and elongation of one component (``sel``: its pixels' (rows, cols))."""
    if not p.min_area_frac * frame_area <= area <= p.max_area_frac * frame_area:
        return False
    rows, cols = sel
    box_area = (int(rows.max()) - int(rows.min()) + 1) * (int(cols.max()) - int(cols.min()) + 1)
    if area / box_area < p.min_fill:
        return False
    ev = np.linalg.eigvalsh(np.cov(np.stack([rows, cols]).astype(np.float64)) + np.eye(2) / 12.0)
    return math.sqrt(ev[1] / ev[0]) <= p.max_elongation


def _frame_candidates(
    f: FootageLike, fg: np.ndarray, persistent: np.ndarray, p: CandidateParams
) -> FrameCandidates | None:
    """Components of one frame's foreground that pass the checks, as an instance map and records."""
    labels, n = label_components(fg)
    if n == 0:
        return None
    imap = np.zeros(fg.shape, np.int32)
    cands: list[Candidate] = []
    flat = labels.ravel()
    order = np.argsort(flat, kind="stable")
    starts = np.searchsorted(flat[order], np.arange(1, n + 2))
    for k in range(1, n + 1):
        pix = order[starts[k - 1] : starts[k]]
        sel = np.divmod(pix, fg.shape[1])
        if not _component_ok(sel, pix.size, fg.size, p) or persistent[sel].mean() > 0.3:
            continue
        iid = len(cands) + 1
        imap[sel] = iid
        rows, cols = sel
        box = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
        cands.append(Candidate(f.source, f.index, f.camera, iid, box, int(pix.size)))
    return FrameCandidates(f.rgb, imap, cands) if cands else None


def _detect_group(
    frames: list[FootageLike], p: CandidateParams, tick: Callable[[int], object]
) -> tuple[list[FrameCandidates], GroupReport]:
    """Background, threshold, masks and candidates of one camera's frames (``tick(n)``: n frames done)."""
    sources = tuple(f.source for f in frames)
    cam = frames[0].camera
    if len(frames) < p.min_frames:
        note = f"only {len(frames)} frame(s) of this camera; a background model needs at least {p.min_frames}"
        tick(len(frames))
        return [], GroupReport(cam, sources, 0, 0.0, 0, note)
    background = temporal_median([f.rgb for f in frames])
    usable = erode(np.logical_and.reduce([f.mask for f in frames]), p.circle_erode)
    dists = [_distance(f.rgb, background) for f in frames]
    thr = robust_threshold(dists, usable, p)
    if thr > p.max_threshold:
        tick(len(frames))
        note = f"frames differ everywhere (threshold {thr:.0f} > {p.max_threshold:.0f}): not one static camera?"
        return [], GroupReport(cam, sources, 0, thr, 0, note)
    raw = [(d > thr) & usable for d in dists]
    fgs = []
    for m in raw:
        fgs.append(erode(dilate(dilate(erode(m, p.open_radius), p.open_radius), p.close_radius), p.close_radius))
        tick(1)
    keep = [i for i, m in enumerate(fgs) if m.sum() <= p.max_foreground_frac * max(int(usable.sum()), 1)]
    note = "" if len(keep) == len(frames) else f"{len(frames) - len(keep)} frame(s) skipped: too much changed"
    if len(keep) < p.min_frames:
        return [], GroupReport(cam, sources, 0, thr, 0, note or "too few usable frames")
    count = sum(dilate(raw[i], p.persistent_radius).astype(np.int32) for i in keep)  # before the opening
    persistent = dilate(np.asarray(count) >= math.ceil(p.persistent_frac * len(keep)), p.persistent_radius)
    out = [fc for i in keep if (fc := _frame_candidates(frames[i], fgs[i], persistent, p)) is not None]
    n = sum(len(fc.candidates) for fc in out)
    return out, GroupReport(cam, sources, len(keep), thr, n, note)


def find_candidates(
    frames: Sequence[FootageLike], params: CandidateParams | None = None, progress: bool = False
) -> CandidateReport:
    """Person candidates of every camera in ``frames`` (deterministic: same frames, same candidates)."""
    from tqdm import tqdm

    p = params or CandidateParams()
    report = CandidateReport()
    groups = group_by_camera(frames, p.same_camera_diff)
    with tqdm(total=len(frames), desc="candidates", disable=not progress, unit="frame", file=sys.stderr) as bar:
        for idx in groups:
            found, rep = _detect_group([frames[i] for i in idx], p, bar.update)
            report.frames += found
            report.groups.append(rep)
    return report
