"""Leave-one-camera-out check of the camera look (not tuned on the benchmark's held-out camera): ONE JSON line.

For each camera of a multi-camera footage folder, the look is fitted (statistics matching) on the *other* cameras'
frames against renders, applied to the renders (frame scope), and compared on random image patches with that left-out
camera's frames: KID(renders, camera) vs KID(renders + look, camera), on FID-Inception features. A look that only
memorised its training cameras would not bring renders closer to an unseen one.

    .venv/bin/python bench/look_loo.py --renders out/look_train_office --renders out/look_train_shop \\
        [--footage ../shared/data/real_fisheye/unlabeled_rapid_fork_hoangnt2601/images] [--patches 150]

Cameras are given as ``--camera NAME=SUBSTRING[,SUBSTRING...]`` (file-name substrings; defaults: the three pharmacy
cameras of that folder). Frames are research-only: read from ../shared, never written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FOOTAGE = ROOT.parent / "shared" / "data" / "real_fisheye" / "unlabeled_rapid_fork_hoangnt2601" / "images"
CAMERAS = {
    "pharmacy_aisles": ["22h26m49s829", "14h57m50s906"],
    "pharmacy_counter": ["14h57m28s066"],
    "pharmacy_store2": ["14h57m36s484"],
}


def patches(frames: list, n: int, size: int, seed: int) -> np.ndarray:
    """``n`` random (size x size) patches fully inside the frames' usable masks, uint8 (n, size, size, 3)."""
    rng = np.random.default_rng(seed)
    out = []
    tries = 0
    while len(out) < n and tries < 100 * n:
        tries += 1
        f = frames[int(rng.integers(len(frames)))]
        h, w = f.mask.shape
        y, x = int(rng.integers(0, h - size)), int(rng.integers(0, w - size))
        if f.mask[y : y + size, x : x + size].all():
            out.append(f.rgb[y : y + size, x : x + size])
    return np.stack(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--footage", default=str(FOOTAGE))
    p.add_argument("--renders", action="append", required=True, help="rendered dataset folder (repeatable)")
    p.add_argument("--camera", action="append", default=[], metavar="NAME=SUBSTRINGS")
    p.add_argument("--patches", type=int, default=150)
    p.add_argument("--patch-size", type=int, default=96)
    p.add_argument("--resize-to", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--colour", choices=["wb", "full"], default="wb", help="the look's colour fit (as train's)")
    a = p.parse_args(argv)
    if not Path(a.footage).is_dir():
        print(json.dumps({"bench": "look_loo", "skipped": f"footage absent: {a.footage}"}))
        return 0
    cams = {k: v.split(",") for k, v in (c.split("=", 1) for c in a.camera)} or CAMERAS
    from refine_server.evaluation.fid_kid import kid
    from refine_server.evaluation.inception import InceptionFeatures
    from refine_server.look.fit import fit_look
    from refine_server.look.module import apply_look
    from refine_server.training.dataset import load_footage, rendered_frames

    t0 = time.perf_counter()
    frames = load_footage([a.footage], a.resize_to, progress=False)
    syn = rendered_frames(a.renders, a.resize_to)
    feats = InceptionFeatures()
    syn_feat = feats(patches(syn, a.patches, a.patch_size, a.seed))
    result: dict = {"bench": "look_loo", "patches": a.patches, "patch_size": a.patch_size, "renders": len(syn)}
    for name, keys in cams.items():
        held = [f for f in frames if any(k in f.source for k in keys)]
        train = [f for f in frames if all(f is not h for h in held)]
        if not held or not train:
            result[name] = {"error": "camera has no frames, or no other camera to fit on"}
            continue
        look = fit_look(train, syn, colour=a.colour)
        looked = [type(f)(apply_look(f.rgb, look, seed=i), f.mask) for i, f in enumerate(syn)]
        cam_feat = feats(patches(held, a.patches, a.patch_size, a.seed + 1))
        k_syn = kid(syn_feat, cam_feat, 50, min(len(syn_feat), len(cam_feat)), seed=a.seed)["mean"]
        k_look = kid(
            feats(patches(looked, a.patches, a.patch_size, a.seed)),
            cam_feat,
            50,
            min(len(syn_feat), len(cam_feat)),
            seed=a.seed,
        )["mean"]
        result[name] = {
            "fitted_on": [f.source for f in train],
            "kid_renders": round(k_syn, 5),
            "kid_renders_look": round(k_look, 5),
            "ratio": round(k_look / k_syn, 4) if k_syn > 0 else None,
            "look": look.describe(),
        }
    result["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
