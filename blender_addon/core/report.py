"""report.html: a contact sheet of a dataset (image, instance overlay, heads, rotated boxes, keypoints,
refined beside synthetic). Pure numpy + stdlib: runs inside Blender's Python and outside it."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from shared_schema.annotation import COCO_SKELETON
from shared_schema.coco import decode_rle
from shared_schema.dataset import REPORT_FILE, DatasetPaths, atomic_write_bytes, atomic_write_text, load_annotations
from shared_schema.geometry import rotated_box_corners

from .png import encode_png

OVERLAYS = "report_overlays"
_PALETTE = np.array(
    [
        [230, 25, 75],
        [60, 180, 75],
        [255, 225, 25],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
        [210, 245, 60],
        [250, 190, 212],
    ],
    dtype=np.uint8,
)


def _color(k: int) -> str:
    r, g, b = _PALETTE[(k - 1) % len(_PALETTE)]
    return f"rgb({r},{g},{b})"


def instance_overlay(ann) -> np.ndarray:
    """RGBA overlay (H, W, 4) of every person's visible mask, one colour per instance."""
    out = np.zeros((ann.height, ann.width, 4), dtype=np.uint8)
    for p in ann.persons:
        if p.segmentation is None:
            continue
        m = decode_rle(p.segmentation)
        out[m, :3] = _PALETTE[(p.instance_id - 1) % len(_PALETTE)]
        out[m, 3] = 140
    return out


def _svg(ann) -> str:
    parts = []
    for p in ann.persons:
        col = _color(p.instance_id)
        if p.area:
            x, y, w, h = p.bbox
            parts.append(
                f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" stroke="{col}" '
                'stroke-width="0.6" stroke-dasharray="2,1"/>'
            )
            pts = " ".join(f"{cx:.2f},{cy:.2f}" for cx, cy in rotated_box_corners(p.rotated_box))
            parts.append(f'<polygon points="{pts}" fill="none" stroke="{col}" stroke-width="1"/>')
        kp = p.keypoints
        for a, b in COCO_SKELETON:
            ka, kb = (kp[a - 1], kp[b - 1]) if len(kp) >= max(a, b) else (None, None)
            if ka and kb and ka.v > 0 and kb.v > 0:
                parts.append(
                    f'<line x1="{ka.x}" y1="{ka.y}" x2="{kb.x}" y2="{kb.y}" stroke="{col}" stroke-width="0.6"/>'
                )
        for k in kp:
            if k.v > 0:
                fill = "white" if k.v == 2 else "gray"
                parts.append(f'<circle cx="{k.x}" cy="{k.y}" r="1" fill="{fill}"/>')
        if p.head_2d is not None:
            hx, hy = p.head_2d
            parts.append(f'<circle cx="{hx}" cy="{hy}" r="2.2" fill="none" stroke="yellow" stroke-width="1"/>')
            parts.append(f'<text x="{hx + 3}" y="{hy - 3}" font-size="7" fill="yellow">{p.instance_id}</text>')
    return "".join(parts)


def write_report(root: str | Path, *, max_images: int = 500, title: str = "Render & Refine dataset") -> Path:
    """Write ``report.html`` (and per-image instance overlays under ``report_overlays/``); returns its path."""
    root = Path(root)
    anns = load_annotations(root)[:max_images]
    cards = []
    n_persons = 0
    for ann in anns:
        paths = DatasetPaths(root, ann.image_id)
        overlay = root / OVERLAYS / f"{ann.image_id}.png"
        atomic_write_bytes(overlay, encode_png(instance_overlay(ann)))
        n_persons += len(ann.persons)
        vb = f"0 0 {ann.width} {ann.height}"
        svg = _svg(ann)
        disp = 256

        def panel(img_rel: str, label: str, *, with_overlay: bool, vb=vb, svg=svg, disp=disp, ann=ann) -> str:
            ov = (
                (
                    f'<img src="{OVERLAYS}/{ann.image_id}.png" style="position:absolute;left:0;top:0;width:{disp}px;'
                    f'height:{disp * ann.height // ann.width}px;image-rendering:pixelated">'
                )
                if with_overlay
                else ""
            )
            return (
                f'<figure><div style="position:relative;width:{disp}px;height:{disp * ann.height // ann.width}px">'
                f'<img src="{img_rel}" style="width:{disp}px">{ov}'
                f'<svg viewBox="{vb}" style="position:absolute;left:0;top:0;width:{disp}px;'
                f'height:{disp * ann.height // ann.width}px">{svg if with_overlay else ""}</svg></div>'
                f"<figcaption>{html.escape(label)}</figcaption></figure>"
            )

        panels = [
            panel(f"images/{ann.image_id}.png", "synthetic", with_overlay=False),
            panel(f"images/{ann.image_id}.png", "annotations", with_overlay=True),
        ]
        if paths.refined.is_file():
            panels.append(panel(f"refined/{ann.image_id}.png", "refined", with_overlay=False))
        vis = ", ".join(f"{p.instance_id}:{p.posture[:2]} {p.visible_fraction:.2f}" for p in ann.persons)
        cards.append(
            f'<div class="card"><h3>{html.escape(ann.image_id)} · seed {ann.seed} · '
            f"{len(ann.persons)} people</h3><div class=row>{''.join(panels)}</div>"
            f"<p>{html.escape(vis)}</p></div>"
        )
    summary = {"images": len(anns), "persons": n_persons}
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;background:#222;color:#ddd}}.card{{display:inline-block;margin:6px;
padding:6px;background:#333;vertical-align:top}}.row{{display:flex;gap:6px}}figure{{margin:0}}
h3{{font-size:13px;margin:2px}}p{{font-size:11px;margin:2px;max-width:800px}}</style></head><body>
<h1>{html.escape(title)}</h1><p>{html.escape(json.dumps(summary))} — yellow circle: head point; coloured
polygon: rotated box (long axis toward the centre); dashed: bbox; dots: keypoints (white visible, grey hidden).</p>
{"".join(cards)}</body></html>
"""
    out = root / REPORT_FILE
    atomic_write_text(out, doc)
    return out
