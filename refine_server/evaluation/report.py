"""Evaluation report: ``report.json`` (every figure) + ``report.html`` (tables and PNG plots embedded)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from refine_server.training.plots import bar_chart_png

__all__ = ["write_report"]


def _img(path: Path) -> str:
    return f'<img src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}">'


def write_report(result: dict[str, Any], out: Path, extra_images: list[Path] | None = None) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    jpath = out / "report.json"
    jpath.write_text(json.dumps(result, indent=1, default=float) + "\n")
    plots: list[Path] = []
    rl = result.get("realism", {})
    if rl.get("kid"):
        kid = {k: v["mean"] * 1e3 for k, v in rl["kid"].items()}
        err = {k: v["std"] * 1e3 for k, v in rl["kid"].items()}
        plots.append(bar_chart_png(kid, err, out / "plot_kid.png", "KID x 1e3 (mean ± std over subsets)"))
    if rl.get("fid"):
        plots.append(bar_chart_png(dict(rl["fid"]), None, out / "plot_fid.png", "FID (equal-size sets)"))
    det = result.get("detector", {}).get("by_training_set", {})
    if det:
        vals, errs = {}, {}
        for name, r in det.items():
            for k in ("precision", "recall", "f1"):
                vals[f"{name}:{k[0].upper()}"] = r[k]
                errs[f"{name}:{k[0].upper()}"] = r.get(f"{k}_std", 0.0)
        plots.append(
            bar_chart_png(
                vals,
                errs,
                out / "plot_detector.png",
                "head detector on held-out real frames (P / R / F1)",
                size=(900, 380),
            )
        )
    rows = []
    for k, v in rl.get("kid", {}).items():
        fid = rl.get("fid", {}).get(k, float("nan"))
        rows.append(
            f"<tr><td>{html.escape(k)}</td><td>{v['mean']:.5f} ± {v['std']:.5f}</td><td>{fid:.2f}</td>"
            f"<td>{v['subset_size']}</td></tr>"
        )
    drows = []
    for name, r in det.items():
        drows.append(
            f"<tr><td>{html.escape(name)}</td><td>{r['precision']:.3f}</td><td>{r['recall']:.3f}</td>"
            f"<td>{r['f1']:.3f} ± {r.get('f1_std', 0):.3f}</td><td>{r['best_f1_over_thresholds']:.3f}</td>"
            f"<td>{r['n_train_frames']}</td></tr>"
        )
    summary = html.escape(json.dumps(result.get("summary", {}), indent=1, default=float))
    sets = html.escape(json.dumps(result.get("sets", {}), indent=1, default=float))
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>Refiner evaluation</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:4px 8px}}
table{{border-collapse:collapse}}img{{margin:6px;border:1px solid #ddd}}</style></head><body>
<h1>Refiner evaluation: {html.escape(str(result.get("model", {}).get("model_id", "")))}</h1>
<h2>Summary</h2><pre>{summary}</pre>
<h2>Realism (crop sets, identical resize + uint8 quantization)</h2>
<table><tr><th>pair</th><th>KID</th><th>FID</th><th>subset size</th></tr>{"".join(rows)}</table>
<h2>Downstream head detector (trained from scratch, tested on held-out real frames)</h2>
<table><tr><th>training set</th><th>P</th><th>R</th><th>F1 (fixed thr)</th><th>best F1 (test-tuned)</th>
<th>frames</th></tr>{"".join(drows)}</table>
<h2>Plots</h2>{"".join(_img(p) for p in plots + list(extra_images or []))}
<h2>Sets</h2><pre>{sets}</pre>
<p>Full figures: report.json</p></body></html>"""
    hpath = out / "report.html"
    hpath.write_text(doc)
    return jpath, hpath
