"""Crop datasets with exactly the server's crop geometry (``refine_server.crops``).

Two kinds of source:

* **rendered datasets** (``images/``, ``instances/``, ``annotations/`` as written by ``blender_addon.render_batch``):
  one crop per visible person, planned from its instance mask with :func:`refine_server.crops.plan_crops` (what the
  server does), plus the person's mask resampled into the crop (for a mask-restricted adversarial loss);
* **real frames** annotated with CEPDOF rotated boxes ``[cx, cy, w, h, angle_deg]`` (COCO-like JSON, the format
  of ``../shared/data/real_fisheye``) or with head points: crops planned with
  :func:`refine_server.crops.crop_from_rotated_box`; the "mask" is the rotated box (no real masks exist).

Burnt-in overlays (timestamps) can be masked: ``overlays=[[x0, y0, x1, y1], ...]`` in image pixels, with
``overlay_mode="fill"`` (overlay pixels replaced by the mean colour of a strip around it, and removed from the crop
mask) or ``"drop"`` (crops touching an overlay are skipped).

Real images are research-only: crops of them are only ever held in memory (or written under ``out/``, which is
git-ignored); nothing here writes into the repository.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from PIL import Image

from refine_server.crops import CropSpec, crop_corners, crop_from_rotated_box, extract_crops, plan_crops, to_model
from refine_server.look.fit import Frame
from refine_server.training.candidates import CandidateReport
from shared_schema.dataset import DatasetPaths, complete_ids
from shared_schema.geometry import rotated_box_corners

__all__ = [
    "CropSet",
    "FootageFrame",
    "RealSource",
    "crops_from_candidates",
    "crops_from_real",
    "crops_from_rendered",
    "footage_files",
    "head_from_rotated_box",
    "load_footage",
    "load_real_source",
    "read_instances",
    "read_rgb",
    "rendered_frames",
    "rotated_box_mask",
]


@dataclass
class CropSet:
    """Crops (N, 3, S, S) float in [-1, 1], masks (N, 1, S, S) in {0, 1}, one metadata dict per crop."""

    images: torch.Tensor
    masks: torch.Tensor
    meta: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @staticmethod
    def empty(size: int) -> CropSet:
        return CropSet(torch.zeros(0, 3, size, size), torch.zeros(0, 1, size, size), [])

    @staticmethod
    def concat(sets: list[CropSet]) -> CropSet:
        sets = [s for s in sets if len(s)]
        if not sets:
            raise ValueError("no crops")
        return CropSet(
            torch.cat([s.images for s in sets]), torch.cat([s.masks for s in sets]), [m for s in sets for m in s.meta]
        )

    def subset(self, idx: list[int] | torch.Tensor) -> CropSet:
        idx_t = torch.as_tensor(idx, dtype=torch.long)
        return CropSet(self.images[idx_t], self.masks[idx_t], [self.meta[int(i)] for i in idx_t])

    def save_pngs(self, directory: str | Path) -> None:
        """Write crops as PNGs plus ``manifest.json`` (only ever under out/: never into the repository)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        arr = ((self.images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        for i, a in enumerate(arr):
            Image.fromarray(a).save(d / f"{i:05d}.png")
        (d / "manifest.json").write_text(json.dumps(self.meta, indent=1))


# -- io -----------------------------------------------------------------------------------------------------------
def read_rgb(path: str | Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def read_instances(path: str | Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im).astype(np.int64)


def _mask_crops(mask: np.ndarray, specs: list[CropSpec], size: int) -> torch.Tensor:
    m = torch.from_numpy(mask.astype(np.float32))[None]
    return (extract_crops(m, specs, size) > 0.5).float()


# -- rendered datasets --------------------------------------------------------------------------------------------
def crops_from_rendered(
    root: str | Path,
    size: int,
    *,
    margin: float = 0.15,
    min_size: float = 32.0,
    min_area: int = 64,
    max_images: int | None = None,
    image_dir: str = "images",
) -> CropSet:
    """One crop per visible person of every complete image of a rendered dataset (server geometry).

    ``image_dir="refined"`` crops the refined images of the same dataset (same specs: planned from the instances).
    """
    root = Path(root)
    ids = complete_ids(root)[: max_images if max_images else None]
    images, masks, meta = [], [], []
    for iid in ids:
        paths = DatasetPaths(root, iid)
        img_path = root / image_dir / f"{iid}.png"
        if not img_path.is_file():
            continue
        imap = read_instances(paths.instances)
        ann = json.loads(paths.annotation.read_text())
        cam = ann.get("camera", {})
        pp = cam.get("principal_point")
        center = tuple(pp) if pp else (imap.shape[1] / 2.0, imap.shape[0] / 2.0)
        ids_present = [k for k in np.unique(imap).tolist() if k != 0 and int((imap == k).sum()) >= min_area]
        if not ids_present:
            continue
        specs = plan_crops(imap, center, ids=ids_present, margin=margin, min_size=min_size)
        rgb = to_model(read_rgb(img_path))
        images.append(extract_crops(rgb, specs, size))
        for s in specs:
            masks.append(_mask_crops(imap == s.instance_id, [s], size))
            meta.append({"source": str(root.name), "image_id": iid, "kind": "synthetic", "spec": s.to_dict()})
    if not images:
        return CropSet.empty(size)
    return CropSet(torch.cat(images), torch.cat(masks), meta)


# -- real frames --------------------------------------------------------------------------------------------------
@dataclass
class RealSource:
    """A COCO-like JSON of CEPDOF rotated boxes (or head points) and the folder its ``file_name``s are relative to."""

    annotations: Path
    image_root: Path
    name: str = "real"
    overlays: list[list[float]] = field(default_factory=list)
    overlay_mode: str = "fill"  # fill | drop
    cameras: list[str] | None = None  # keep only images whose "camera" (default: the source name) is listed
    exclude_cameras: list[str] = field(default_factory=list)
    head_box_size: float = 0.0  # > 0: annotations are head points ``[x, y]``: box of this side around the point
    resize_to: int | None = None  # resize frames (antialiased) so the longer side is this; boxes scale with them


def load_real_source(d: dict[str, Any], base: Path | None = None) -> RealSource:
    """Build a RealSource from a config dict; relative paths resolve against ``base``."""
    base = Path(base) if base else Path.cwd()

    def _p(v: str) -> Path:
        p = Path(v).expanduser()
        return p if p.is_absolute() else (base / p)

    ann = _p(d["annotations"])
    root = _p(d["image_root"]) if d.get("image_root") else ann.parent
    return RealSource(
        annotations=ann,
        image_root=root,
        name=d.get("name", ann.stem),
        overlays=list(d.get("overlays", [])),
        overlay_mode=d.get("overlay_mode", "fill"),
        cameras=d.get("cameras"),
        exclude_cameras=list(d.get("exclude_cameras", [])),
        head_box_size=float(d.get("head_box_size", 0.0)),
        resize_to=d.get("resize_to"),
    )


def rotated_box_mask(box: tuple[float, ...] | list[float], shape: tuple[int, int]) -> np.ndarray:
    """Boolean (H, W) mask of a rotated box (pixel centres inside the box)."""
    cx, cy, w, h, a = (float(v) for v in box)
    corners = rotated_box_corners((cx, cy, w, h, a))
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    H, W = shape
    out = np.zeros((H, W), dtype=bool)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
    if x1 <= x0 or y1 <= y0:
        return out
    yy, xx = np.mgrid[y0:y1, x0:x1]
    px, py = xx + 0.5 - cx, yy + 0.5 - cy
    r = math.radians(a)
    u = px * math.cos(r) + py * math.sin(r)  # along box-right
    v = px * math.sin(r) - py * math.cos(r)  # along box-up
    out[y0:y1, x0:x1] = (np.abs(u) <= w / 2) & (np.abs(v) <= h / 2)
    return out


def head_from_rotated_box(
    box: list[float] | tuple[float, ...], image_center: tuple[float, float], rule: str = "outer"
) -> tuple[float, float]:
    """Approximate head point of a person annotated only with a rotated box: an end of the box's long axis.

    ``rule="outer"`` (default) takes the end *farther* from the fisheye centre: for a ceiling camera the head is
    higher, hence at a larger off-axis angle, hence farther out (see ``refine_server.crops``; checked on renders
    against their true ``head_2d``). ``rule="inner"`` takes the end nearer the centre (the real_fisheye README's
    wording). Both ends sit ``(h - w) / 2`` from the centre, so the head-sized square (side w) stays in the box.
    """
    cx, cy, w, h, a = (float(v) for v in box)
    r = math.radians(a)
    up = np.array([math.sin(r), -math.cos(r)])
    d = max(h - w, 0.0) / 2.0
    ends = [np.array([cx, cy]) + up * d, np.array([cx, cy]) - up * d]
    c = np.array(image_center, dtype=float)
    dist = [float(np.linalg.norm(e - c)) for e in ends]
    pick = int(np.argmax(dist)) if rule == "outer" else int(np.argmin(dist))
    return float(ends[pick][0]), float(ends[pick][1])


def _fill_overlays(img: np.ndarray, overlays: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Replace each overlay rectangle by the mean colour of a strip around it; returns (image, overlay mask)."""
    out = img.copy()
    H, W = img.shape[:2]
    ov = np.zeros((H, W), dtype=bool)
    for x0, y0, x1, y1 in overlays:
        x0, y0 = max(int(x0), 0), max(int(y0), 0)
        x1, y1 = min(math.ceil(x1), W), min(math.ceil(y1), H)
        if x1 <= x0 or y1 <= y0:
            continue
        pad = max(4, (y1 - y0) // 4)
        X0, Y0, X1, Y1 = max(x0 - pad, 0), max(y0 - pad, 0), min(x1 + pad, W), min(y1 + pad, H)
        ring = np.ones((Y1 - Y0, X1 - X0), dtype=bool)
        ring[y0 - Y0 : y1 - Y0, x0 - X0 : x1 - X0] = False
        patch = img[Y0:Y1, X0:X1]
        colour = patch[ring].mean(axis=0) if ring.any() else np.array([0, 0, 0])
        out[y0:y1, x0:x1] = colour.round().astype(np.uint8)
        ov[y0:y1, x0:x1] = True
    return out, ov


def _touches(spec: CropSpec, overlays: list[list[float]]) -> bool:
    c = crop_corners(spec)
    lo, hi = c.min(axis=0), c.max(axis=0)
    return any(lo[0] < x1 and hi[0] > x0 and lo[1] < y1 and hi[1] > y0 for x0, y0, x1, y1 in overlays)


def load_real_frame(
    src: RealSource, rec: dict[str, Any], boxes: list[list[float]]
) -> tuple[np.ndarray, list[list[float]], list[list[float]]] | None:
    """(RGB uint8, boxes, overlays) of one real frame, resized to ``src.resize_to`` (antialiased) if set."""
    path = Path(src.image_root) / rec["file_name"]
    if not path.is_file():
        return None
    with Image.open(path) as src_im:
        im = src_im.convert("RGB")
        W, H = im.size
        f = 1.0
        if src.resize_to and max(W, H) != src.resize_to:
            f = src.resize_to / max(W, H)
            im = im.resize((round(W * f), round(H * f)), Image.Resampling.BILINEAR, reducing_gap=None)
        rgb = np.asarray(im, dtype=np.uint8).copy()
    bx = [[b[0] * f, b[1] * f, b[2] * f, b[3] * f, b[4]] for b in boxes]
    ov = [[v * f for v in o] for o in src.overlays]
    return rgb, bx, ov


def real_records(src: RealSource) -> list[tuple[dict[str, Any], list[list[float]]]]:
    """(image record, boxes) for every image of the source that passes the camera filters."""
    doc = json.loads(Path(src.annotations).read_text())
    by_img: dict[str, list[list[float]]] = {}
    for a in doc.get("annotations", []):
        b = list(a["bbox"])
        if src.head_box_size > 0 and len(b) == 2:
            s = src.head_box_size
            b = [b[0], b[1], s, s, 0.0]
        by_img.setdefault(str(a["image_id"]), []).append(b)
    out = []
    for rec in doc.get("images", []):
        cam = rec.get("camera", src.name)
        if src.cameras is not None and cam not in src.cameras:
            continue
        if cam in src.exclude_cameras:
            continue
        out.append((rec, by_img.get(str(rec["id"]), [])))
    return out


def crops_from_real(
    src: RealSource,
    size: int,
    *,
    margin: float = 0.15,
    min_size: float = 32.0,
    jitter: int = 0,
    jitter_shift: float = 0.08,
    jitter_scale: tuple[float, float] = (0.9, 1.15),
    jitter_angle: float = 8.0,
    seed: int = 0,
    max_images: int | None = None,
) -> CropSet:
    """Crops of the annotated persons of a real source (server geometry from the rotated box).

    ``jitter > 0`` adds that many randomly perturbed crops per person (shift, scale, rotation) besides the exact
    one: a cheap, geometry-preserving augmentation for a handful of real people.
    """
    rng = np.random.default_rng(seed)
    images, masks, meta = [], [], []
    for rec, boxes in real_records(src)[: max_images if max_images else None]:
        if not boxes:
            continue
        loaded = load_real_frame(src, rec, boxes)
        if loaded is None:
            continue
        rgb, boxes, overlays = loaded
        H, W = rgb.shape[:2]
        ov_mask = np.zeros((H, W), dtype=bool)
        if overlays and src.overlay_mode == "fill":
            rgb, ov_mask = _fill_overlays(rgb, overlays)
        center = (W / 2.0, H / 2.0)
        t = to_model(rgb)
        specs, masks_np, metas = [], [], []
        for j, b in enumerate(boxes):
            box5 = cast("tuple[float, float, float, float, float]", tuple(b))
            s0 = crop_from_rotated_box(box5, center, instance_id=j + 1, margin=margin, min_size=min_size)
            if overlays and src.overlay_mode == "drop" and _touches(s0, overlays):
                continue
            bm = rotated_box_mask(b, (H, W)) & ~ov_mask
            variants = [s0]
            for _ in range(jitter):
                dx, dy = rng.normal(0.0, jitter_shift, 2) * s0.size
                variants.append(
                    CropSpec(
                        s0.instance_id,
                        (s0.center[0] + dx, s0.center[1] + dy),
                        s0.angle_deg + float(rng.uniform(-jitter_angle, jitter_angle)),
                        s0.size * float(rng.uniform(*jitter_scale)),
                    )
                )
            for k, s in enumerate(variants):
                specs.append(s)
                masks_np.append(bm)
                metas.append(
                    {
                        "source": src.name,
                        "image_id": str(rec["id"]),
                        "camera": rec.get("camera", src.name),
                        "kind": "real",
                        "box": list(b),
                        "jitter": k,
                        "spec": s.to_dict(),
                    }
                )
        if not specs:
            continue
        images.append(extract_crops(t, specs, size))
        for s, bm in zip(specs, masks_np, strict=True):
            masks.append(_mask_crops(bm, [s], size))
        meta.extend(metas)
    if not images:
        return CropSet.empty(size)
    return CropSet(torch.cat(images), torch.cat(masks), meta)


# -- unlabeled footage --------------------------------------------------------------------------------------------
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".ts")


@dataclass
class FootageFrame(Frame):
    """One unlabeled frame of the target camera at the working size: RGB, usable pixels (inside the image circle,
    outside burnt-in overlays), where it came from and the JPEG quality of its file (None: not a JPEG); ``index``:
    the frame's number in its video (0 for a still); ``camera``: frames with the same key may be one camera (a video:
    its path; stills: their folder and native frame size)."""

    source: str = ""
    jpeg_quality: int | None = None
    index: int = 0
    camera: str = ""


def footage_files(paths: list[str | Path], exclude: list[str] | None = None) -> list[Path]:
    """Image and video files under each path (a file or a folder, not recursive), sorted; ``exclude`` = substrings
    of file names to leave out (e.g. a held-out camera)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise FileNotFoundError(f"no such file or folder: {p}")
        files = sorted(p.iterdir()) if p.is_dir() else [p]
        out += [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES]
    return [f for f in out if not any(e in f.name for e in exclude or [])]


def _video_frames(path: Path, every_s: float, max_frames: int) -> list[np.ndarray]:
    try:
        import av
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError(f"reading video {path.name} needs PyAV: pip install 'render-and-refine[video]'") from e
    frames: list[np.ndarray] = []
    with av.open(str(path)) as box:
        stream = box.streams.video[0]
        next_t = 0.0
        for frame in box.decode(stream):
            t = float(frame.time or 0.0)
            if t + 1e-6 >= next_t:
                frames.append(frame.to_ndarray(format="rgb24"))
                next_t = t + every_s
            if len(frames) >= max_frames:
                break
    return frames


def load_footage(
    paths: list[str | Path],
    resize_to: int = 512,
    overlays: list[list[float]] | None = None,
    exclude: list[str] | None = None,
    video_every_s: float = 2.0,
    max_frames: int = 200,
    progress: bool = True,
) -> list[FootageFrame]:
    """Frames (stills and/or video, one frame every ``video_every_s``) resized so the longer side is ``resize_to``
    (antialiased), with the fisheye image circle and ``overlays`` ([x0, y0, x1, y1] in source pixels) masked."""
    from tqdm import tqdm

    from refine_server.look.estimate import circle_mask, jpeg_quality_from_tables

    out: list[FootageFrame] = []
    for f in tqdm(footage_files(paths, exclude), desc="footage", disable=not progress, file=sys.stderr):
        quality = None
        is_video = f.suffix.lower() in VIDEO_SUFFIXES
        if is_video:
            raw = _video_frames(f, video_every_s, max_frames - len(out))
        else:
            with Image.open(f) as im:
                tables = getattr(im, "quantization", None)
                quality = jpeg_quality_from_tables(tables[0]) if tables else None
                raw = [np.asarray(im.convert("RGB"), dtype=np.uint8)]
        for k, rgb in enumerate(raw):
            h, w = rgb.shape[:2]
            s = resize_to / max(h, w)
            ov = np.zeros((h, w), bool)
            for x0, y0, x1, y1 in overlays or []:
                ov[max(int(y0), 0) : max(math.ceil(y1), 0), max(int(x0), 0) : max(math.ceil(x1), 0)] = True
            small_im = Image.fromarray(rgb).resize((round(w * s), round(h * s)), Image.Resampling.BILINEAR)
            small = np.asarray(small_im, dtype=np.uint8).copy()
            ov_small = np.asarray(Image.fromarray(ov).resize(small_im.size, Image.Resampling.NEAREST), dtype=bool)
            mask = circle_mask(small) & ~ov_small
            camera = str(f) if is_video else f"{f.parent}@{w}x{h}"
            name = f"{f.name}#{k}" if len(raw) > 1 else f.name
            out.append(FootageFrame(small, mask, name, quality, index=k, camera=camera))
        if len(out) >= max_frames:
            break
    return out


def crops_from_candidates(
    report: CandidateReport, size: int, *, margin: float = 0.15, min_size: float = 32.0
) -> CropSet:
    """Crops of person candidates found in unlabeled footage (``candidates.find_candidates``), planned from their
    instance maps exactly as the server plans a person's crop (upright, head outward from the frame's centre; the
    whole component inside), with the component as the mask."""
    images, masks, meta = [], [], []
    for fc in report.frames:
        H, W = fc.instances.shape
        specs = plan_crops(fc.instances, (W / 2.0, H / 2.0), margin=margin, min_size=min_size)
        images.append(extract_crops(to_model(fc.rgb), specs, size))
        by_id = {c.instance_id: c for c in fc.candidates}
        for s in specs:
            c = by_id[s.instance_id]
            masks.append(_mask_crops(fc.instances == s.instance_id, [s], size))
            meta.append(
                {
                    "source": c.source,
                    "image_id": c.source,
                    "camera": c.camera,
                    "kind": "candidate",
                    "frame_index": c.frame_index,
                    "box": list(c.box),
                    "area": c.area,
                    "spec": s.to_dict(),
                }
            )
    if not images:
        return CropSet.empty(size)
    return CropSet(torch.cat(images), torch.cat(masks), meta)


def rendered_frames(roots: list[str | Path], resize_to: int = 512, max_images: int = 12) -> list[FootageFrame]:
    """Whole rendered frames (the synthetic side of a look fit), resized like the footage, image circle masked."""
    from refine_server.look.estimate import circle_mask

    out = []
    for root in roots:
        for iid in complete_ids(root)[:max_images]:
            with Image.open(DatasetPaths(Path(root), iid).image) as im:
                rgb = im.convert("RGB")
                s = resize_to / max(rgb.size)
                if s != 1:
                    rgb = rgb.resize((round(rgb.size[0] * s), round(rgb.size[1] * s)), Image.Resampling.BILINEAR)
                a = np.asarray(rgb, dtype=np.uint8).copy()
            out.append(FootageFrame(a, circle_mask(a), source=f"{Path(root).name}/{iid}"))
    return out
