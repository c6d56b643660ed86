"""Serving benchmark: prints ONE JSON line on stdout (progress goes to stderr).

For 512x512 images with 6 people: raw batched generator time for those 6 crops (in this process, same intra-op
thread count as one server worker) vs end-to-end server time (client wall time of POST /v1/refine; target ratio
<= 1.25), throughput with 1 and with N concurrent clients (target ratio >= 1.5), p50/p99 latency. The server runs
as a real subprocess (``refine_server.local_server``).

The machine is shared and noisy, so every comparison is interleaved and repeated: raw / end-to-end pairs
alternate (ABAB...), 1-client and N-client phases alternate round by round, and the reported ratios are medians of
the per-pair / per-round ratios. ``--variant LABEL=ARGS`` (repeatable) starts one more server per variant with
extra ``serve`` arguments (``--variant LABEL@ROOT=ARGS`` runs another checkout, e.g. the previous commit, for a
before/after); all servers are measured round-robin in the same run.

    .venv/bin/python bench/serve.py [--model DIR] [--rounds 3] [--clients 8] [--variant old@/tmp/old=...]

What it showed on 2 busy cores (the reason for ``refine_server.batcher``'s CPU defaults): a generator batch does
not get cheaper per crop as it grows (per-crop time is flat from ~4 crops, and worse above ~16: activations leave
the cache), while OpenMP intra-op threads lose badly as soon as anything else runs on the machine (every layer ends
in a barrier that waits for the slowest, possibly descheduled, thread). Hence independent worker threads with few
intra-op threads each, and big batches cut into ``max_batch_crops`` chunks.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from refine_server.app import cpu_cores  # noqa: E402
from refine_server.checkpoint import load_model, save_model  # noqa: E402
from refine_server.client import RefineClient  # noqa: E402
from refine_server.crops import extract_crops, plan_crops, to_model  # noqa: E402
from refine_server.imaging import encode_instances_png, encode_png  # noqa: E402
from refine_server.local_server import LocalServer, serve_local  # noqa: E402
from refine_server.model_card import ModelCard  # noqa: E402
from refine_server.networks import ResnetGenerator  # noqa: E402
from shared_schema.annotation import GeneratorInfo, annotation_from_instances  # noqa: E402


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
    ann = annotation_from_instances(imap, image_id=f"bench_{seed}", seed=seed, generator=GeneratorInfo(version="bench"))
    return rgb, imap, ann.to_json().encode()


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _med(v: list[float]) -> float:
    return float(statistics.median(v)) if v else float("nan")


def _q(v: list[float], p: float) -> float:
    return float(np.percentile(v, p)) if v else float("nan")


class Server:
    """The measurements of one local server (optionally from another checkout)."""

    def __init__(self, label: str, local: LocalServer) -> None:
        self.label, self.url, self.pid = label, local.url, local.pid
        self.lat1: list[float] = []
        self.latn: list[float] = []
        self.e2e: list[float] = []
        self.tput_ratio: list[float] = []
        self.tput1: list[float] = []
        self.tputn: list[float] = []
        self.timings: list[dict[str, float]] = []
        self.cpu1: list[tuple[float, float, int]] = []  # (server cpu s, wall s, requests) per phase
        self.cpun: list[tuple[float, float, int]] = []

    def cpu_s(self) -> float:
        """utime + stime of the server process (all its threads) in seconds."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(stack: ExitStack, label: str, root: Path, model_dir: Path, extra: list[str], clients: int) -> Server:
    """``serve --model model_dir`` from checkout ``root`` on the CPU until ``stack`` closes."""
    args = ["--model", str(model_dir), "--device", "cpu", "--max-queue-requests", str(4 * clients)]
    env = {**os.environ, "PYTHONPATH": str(root)}
    serving = serve_local([*args, "--log-level", "warning", *extra], cwd=root, env=env, stdout=sys.stderr)
    return Server(label, stack.enter_context(serving))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--model",
        default=None,
        help="checkpoint dir (default: refine_server/models/default, else a random-init resnet)",
    )
    ap.add_argument("--rounds", type=int, default=3, help="interleaved 1-client / N-client rounds")
    ap.add_argument("--requests", type=int, default=4, help="requests per round with 1 client")
    ap.add_argument("--per-client", type=int, default=2, help="requests per client per round with N clients")
    ap.add_argument("--pairs", type=int, default=5, help="interleaved raw-generator / end-to-end pairs")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--ngf", type=int, default=32)
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads per server worker and for the raw generator (0 = the server's auto choice)",
    )
    ap.add_argument("--server-args", default="", help="extra `serve` arguments for the main server")
    ap.add_argument("--variant", action="append", default=[], help="LABEL[@ROOT]=ARGS: one more server to compare")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory()
    model_dir = Path(args.model) if args.model else ROOT / "refine_server" / "models" / "default"
    if not (model_dir / "model_card.json").is_file():
        torch.manual_seed(0)
        gen = ResnetGenerator(ngf=args.ngf, n_blocks=args.blocks)
        card = ModelCard(
            model_id=f"bench-resnet-ngf{args.ngf}-b{args.blocks}-c{args.crop}",
            architecture="resnet",
            hyperparameters={"ngf": args.ngf, "n_blocks": args.blocks},
            crop_size=args.crop,
        )
        model_dir = Path(tmp.name)
        save_model(model_dir, gen, card)
    gen, card = load_model(model_dir)
    gen.eval()

    cores = cpu_cores()
    threads = args.threads or max(1, cores // min(2, cores))  # = one auto server worker (refine_server.app)
    torch.set_num_threads(threads)
    scenes = [scene(s) for s in range(4)]
    payloads = [(encode_png(rgb), encode_instances_png(imap), ann) for rgb, imap, ann in scenes]
    rgb, imap, _ = scenes[0]
    specs = plan_crops(imap, (256.0, 256.0), margin=card.margin)
    crops = extract_crops(to_model(rgb), specs, card.crop_size)

    main_extra = shlex.split(args.server_args) + (["--torch-threads", str(args.threads)] if args.threads else [])
    metrics: dict[str, str] = {}
    raw: list[float] = []
    t_bench = time.perf_counter()
    with ExitStack() as stack:
        servers = [start_server(stack, "server", ROOT, model_dir, main_extra, args.clients)]
        for v in args.variant:
            name, _, extra = v.partition("=")
            label, _, root = name.partition("@")
            root_dir = Path(root).resolve() if root else ROOT
            servers.append(start_server(stack, label, root_dir, model_dir, shlex.split(extra), args.clients))
        clients = {}
        for sv in servers:
            clients[sv.label] = [RefineClient(sv.url, timeout=300) for _ in range(args.clients)]
            with ThreadPoolExecutor(args.clients) as ex:  # warm every connection (and every worker)
                list(ex.map(lambda c: c.refine(*payloads[0]), clients[sv.label]))
        with torch.inference_mode():
            gen(crops)
        log(f"servers ready ({time.perf_counter() - t_bench:.1f}s); raw/e2e pairs")

        def one(sv: Server, i: int, c: RefineClient) -> float:
            t = time.perf_counter()
            r = c.refine(*payloads[i % len(payloads)])
            dt = time.perf_counter() - t
            sv.timings.append(r.timings)
            return dt

        # 1. raw generator (6 crops, one batch) vs end-to-end single request, interleaved A B A B ...
        for _ in range(args.pairs):
            with torch.inference_mode():
                t = time.perf_counter()
                gen(crops)
                raw.append(time.perf_counter() - t)
            for sv in servers:
                sv.e2e.append(one(sv, 0, clients[sv.label][0]))
        log("throughput rounds")
        # 2. throughput: 1-client and N-client phases alternate, per server, round by round
        for r in range(args.rounds):
            for sv in servers:
                t0, c0 = time.perf_counter(), sv.cpu_s()
                lat = [one(sv, i, clients[sv.label][0]) for i in range(args.requests)]
                wall = time.perf_counter() - t0
                sv.cpu1.append((sv.cpu_s() - c0, wall, len(lat)))
                t1 = len(lat) / wall
                sv.lat1 += lat

                def worker(j: int, sv: Server = sv) -> list[float]:
                    return [one(sv, i + j, clients[sv.label][j]) for i in range(args.per_client)]

                t0, c0 = time.perf_counter(), sv.cpu_s()
                with ThreadPoolExecutor(args.clients) as ex:
                    latn = [x for lst in ex.map(worker, range(args.clients)) for x in lst]
                wall = time.perf_counter() - t0
                sv.cpun.append((sv.cpu_s() - c0, wall, len(latn)))
                tn = len(latn) / wall
                sv.latn += latn
                sv.tput1.append(t1)
                sv.tputn.append(tn)
                sv.tput_ratio.append(tn / t1)
                log(
                    f"round {r} {sv.label}: 1 client {t1:.3f} rps, {args.clients} clients {tn:.3f} rps (x{tn / t1:.2f})"
                )
        for sv in servers:
            metrics[sv.label] = clients[sv.label][0].session.get(f"{sv.url}/metrics").text

    raw_s = _med(raw)
    n = args.clients

    def summary(sv: Server) -> dict[str, object]:
        lines = [
            ln
            for ln in metrics[sv.label].splitlines()
            if ln.startswith(("refine_batch_crops_sum", "refine_batch_crops_count"))
        ]
        bsum, bcount = (float(ln.split()[-1]) for ln in lines)
        ratios = [e / w for e, w in zip(sv.e2e, raw, strict=True)]
        parts = {
            k: round(_med([t.get(k, 0.0) for t in sv.timings]), 1)
            for k in ("decode_ms", "crop_ms", "queue_ms", "generator_ms", "reinsert_ms", "encode_ms")
        }
        return {
            "end_to_end_ms": round(_med(sv.e2e) * 1e3, 1),
            "e2e_over_raw": round(_med(ratios), 3),
            "throughput_1_client_rps": round(_med(sv.tput1), 3),
            f"throughput_{n}_clients_rps": round(_med(sv.tputn), 3),
            "throughput_ratio": round(_med(sv.tput_ratio), 3),
            "throughput_ratio_per_round": [round(x, 3) for x in sv.tput_ratio],
            "p50_ms_1_client": round(_q(sv.lat1, 50) * 1e3, 1),
            "p99_ms_1_client": round(_q(sv.lat1, 99) * 1e3, 1),
            f"p50_ms_{n}_clients": round(_q(sv.latn, 50) * 1e3, 1),
            f"p99_ms_{n}_clients": round(_q(sv.latn, 99) * 1e3, 1),
            "mean_batch_crops": round(bsum / max(bcount, 1), 2),
            "server_timings_median_ms": parts,
            # contention-robust view: server CPU seconds per request and cores it actually got, per phase
            "server_cpu_ms_per_request_1_client": round(_med([c / k for c, _, k in sv.cpu1]) * 1e3, 1),
            f"server_cpu_ms_per_request_{n}_clients": round(_med([c / k for c, _, k in sv.cpun]) * 1e3, 1),
            "server_cores_used_1_client": round(_med([c / w for c, w, _ in sv.cpu1]), 2),
            f"server_cores_used_{n}_clients": round(_med([c / w for c, w, _ in sv.cpun]), 2),
        }

    out: dict[str, object] = {
        "bench": "serve",
        "image": "512x512",
        "persons": len(specs),
        "model_id": card.model_id,
        "crop_size": card.crop_size,
        "torch_threads": threads,
        "cpu_count": cores,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "raw_generator_ms": round(raw_s * 1e3, 1),
        "e2e_over_raw_target": 1.25,
        "throughput_ratio_target": 1.5,
        "clients": n,
    }
    out.update(summary(servers[0]))
    if len(servers) > 1:
        out["variants"] = {sv.label: summary(sv) for sv in servers[1:]}
    out["bench_s"] = round(time.perf_counter() - t_bench, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
