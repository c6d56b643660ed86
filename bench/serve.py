"""Serving benchmark: prints ONE JSON line.

For 512x512 images with 6 people: raw batched generator time for those crops vs end-to-end server time (client
wall time of POST /v1/refine; target ratio <= 1.25), throughput with 1 and with 8 concurrent clients (target ratio
>= 1.5), p50/p99 latency. The server runs as a real subprocess (`python -m refine_server serve`).

    .venv/bin/python bench/serve.py [--model DIR] [--requests 8] [--crop 128] [--ngf 32] [--blocks 6]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from refine_server.checkpoint import load_model, save_model  # noqa: E402
from refine_server.client import RefineClient  # noqa: E402
from refine_server.crops import extract_crops, plan_crops, to_model  # noqa: E402
from refine_server.imaging import encode_instances_png, encode_png  # noqa: E402
from refine_server.model_card import ModelCard  # noqa: E402
from refine_server.networks import ResnetGenerator  # noqa: E402
from shared_schema.annotation import GeneratorInfo, PoseSource, SceneAnnotation  # noqa: E402
from shared_schema.annotation import Person as SPerson  # noqa: E402
from shared_schema.camera import CameraModel  # noqa: E402
from shared_schema.geometry import bbox_from_mask, rotated_box_from_mask  # noqa: E402


def scene(seed: int, size: int = 512, n: int = 6) -> tuple[np.ndarray, np.ndarray, bytes]:
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    imap = np.zeros((size, size), np.uint16)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    c = size / 2.0
    for k in range(1, n + 1):
        a = 2 * np.pi * k / n + rng.uniform(-0.3, 0.3)
        r = rng.uniform(0.15, 0.4) * size
        px, py = c + r * np.sin(a), c - r * np.cos(a)
        ux, uy = np.sin(a), -np.cos(a)
        du, dv = (xx - px) * ux + (yy - py) * uy, -(xx - px) * uy + (yy - py) * ux
        m = (du / 45) ** 2 + (dv / 18) ** 2 <= 1
        imap[m] = k
        rgb[m] = rng.integers(40, 220, 3)
    cam = CameraModel(width=size, height=size)
    persons = [SPerson(instance_id=k, posture="standing", head_3d=(0, 0, 1.7), bbox=bbox_from_mask(imap == k),
                       rotated_box=rotated_box_from_mask(imap == k, cam.center), keypoints=[],
                       area=int((imap == k).sum()), visible_fraction=1.0, position=(0, 0),
                       pose=PoseSource(posture="standing"))
               for k in sorted(int(v) for v in np.unique(imap) if v)]  # fmt: skip
    ann = SceneAnnotation(image_id=f"bench_{seed}", width=size, height=size, seed=seed, camera=cam, persons=persons,
                          generator=GeneratorInfo(version="bench"))  # fmt: skip
    return rgb, imap, ann.to_json().encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None, help="checkpoint dir (default: refine_server/models/default, else a "
                    "random-init resnet)")  # fmt: skip
    ap.add_argument("--requests", type=int, default=8, help="requests per client")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--ngf", type=int, default=32)
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    tmp = tempfile.TemporaryDirectory()
    model_dir = Path(args.model) if args.model else ROOT / "refine_server" / "models" / "default"
    if not (model_dir / "model_card.json").is_file():
        torch.manual_seed(0)
        gen = ResnetGenerator(ngf=args.ngf, n_blocks=args.blocks)
        card = ModelCard(model_id=f"bench-resnet-ngf{args.ngf}-b{args.blocks}-c{args.crop}", architecture="resnet",
                         hyperparameters={"ngf": args.ngf, "n_blocks": args.blocks}, crop_size=args.crop)  # fmt: skip
        model_dir = Path(tmp.name)
        save_model(model_dir, gen, card)
    gen, card = load_model(model_dir)

    scenes = [scene(s) for s in range(4)]
    payloads = [(encode_png(rgb), encode_instances_png(imap), ann) for rgb, imap, ann in scenes]

    # raw batched generator time for one image's crops
    rgb, imap, _ = scenes[0]
    specs = plan_crops(imap, (256.0, 256.0), margin=card.margin)
    crops = extract_crops(to_model(rgb), specs, card.crop_size)
    raw = []
    with torch.inference_mode():
        gen(crops)
        for _ in range(5):
            t = time.perf_counter()
            gen(crops)
            raw.append(time.perf_counter() - t)
    raw_s = statistics.median(raw)
    del gen

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "refine_server", "serve", "--model", str(model_dir), "--device", "cpu", "--port",
           str(port), "--max-batch-crops", str(6 * args.clients), "--max-batch-wait-ms", "50",
           "--max-queue-requests", str(4 * args.clients), "--log-level", "warning"]  # fmt: skip
    if args.threads:
        cmd += ["--torch-threads", str(args.threads)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=os.environ.copy())
    try:
        client = RefineClient(f"http://127.0.0.1:{port}", timeout=300)
        client.wait_ready(timeout=120)
        for p in payloads[:2]:
            client.refine(*p)  # warm

        def one(i: int, c: RefineClient) -> float:
            t = time.perf_counter()
            c.refine(*payloads[i % len(payloads)])
            return time.perf_counter() - t

        lat1 = [one(i, client) for i in range(args.requests)]
        tput1 = len(lat1) / sum(lat1)
        clients = [RefineClient(f"http://127.0.0.1:{port}", timeout=300) for _ in range(args.clients)]

        def worker(j: int) -> list[float]:
            return [one(i + j, clients[j]) for i in range(max(2, args.requests // 2))]

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as ex:
            latn = [x for lst in ex.map(worker, range(args.clients)) for x in lst]
        tputn = len(latn) / (time.perf_counter() - t0)
        metrics = client.session.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    e2e = statistics.median(lat1)
    q = lambda v, p: float(np.percentile(v, p))  # noqa: E731
    batch_line = [ln for ln in metrics.splitlines()
                  if ln.startswith(("refine_batch_crops_sum", "refine_batch_crops_count"))]
    bsum, bcount = (float(ln.split()[-1]) for ln in batch_line)
    print(json.dumps({
        "bench": "serve", "image": "512x512", "persons": 6, "model_id": card.model_id, "crop_size": card.crop_size,
        "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "raw_generator_ms": round(raw_s * 1e3, 1), "end_to_end_ms": round(e2e * 1e3, 1),
        "e2e_over_raw": round(e2e / raw_s, 3), "e2e_over_raw_target": 1.25,
        "throughput_1_client_rps": round(tput1, 3), f"throughput_{args.clients}_clients_rps": round(tputn, 3),
        "throughput_ratio": round(tputn / tput1, 3), "throughput_ratio_target": 1.5,
        "p50_ms_1_client": round(q(lat1, 50) * 1e3, 1), "p99_ms_1_client": round(q(lat1, 99) * 1e3, 1),
        f"p50_ms_{args.clients}_clients": round(q(latn, 50) * 1e3, 1),
        f"p99_ms_{args.clients}_clients": round(q(latn, 99) * 1e3, 1),
        "mean_batch_crops": round(bsum / max(bcount, 1), 2),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
