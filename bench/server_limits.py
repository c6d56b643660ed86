"""Server limits benchmark: prints ONE JSON line on stdout (progress goes to stderr).

Measures, against a real ``python -m refine_server serve`` subprocess (``--root`` runs another checkout, e.g. an
older commit, for a before/after):

* how long a stalled upload stays open: a POST that sent its headers (Content-Length 1 MB) and 4 body bytes,
  then nothing (the server's answer and the seconds until it closed the connection, capped at ``--stall-cap``);
* the peak resident memory (VmHWM of the server process) of one request at the default limits — a 4096x4096
  image with 64 persons — and of ``--concurrent`` such requests at once, with their statuses and the resident
  memory left afterwards.

    .venv/bin/python bench/server_limits.py [--root /tmp/before] [--size 4096] [--persons 64] [--concurrent 4]

Measured on CPU (2 busy cores), when ``refine_server.cost``'s constants were fitted: the 4096x4096 request with
64 persons peaked ~370 MiB over the idle server, two at once ~755 MiB; the cost estimate for it is ~440 MiB. So
with the default limits two such requests run at once and the server's working memory stays within ~1 GiB over
the model, whatever the clients send.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from refine_server.imaging import encode_instances_png, encode_png  # noqa: E402
from refine_server.local_server import serve_local  # noqa: E402
from shared_schema.annotation import GeneratorInfo, annotation_from_instances  # noqa: E402


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def big_scene(size: int, persons: int, seed: int = 0) -> tuple[bytes, bytes, bytes]:
    """A flat background with ``persons`` ellipses (40x16 px) on a ring: small PNGs, full-size work."""
    rng = np.random.default_rng(seed)
    rgb = np.full((size, size, 3), 90, np.uint8)
    imap = np.zeros((size, size), np.uint16)
    yy, xx = np.mgrid[-48:48, -48:48] + 0.5
    for k in range(1, persons + 1):
        a = 2 * np.pi * k / persons
        cx, cy = int(size / 2 + 0.35 * size * np.sin(a)), int(size / 2 - 0.35 * size * np.cos(a))
        m = (xx / 40) ** 2 + (yy / 16) ** 2 <= 1
        win = (slice(cy - 48, cy + 48), slice(cx - 48, cx + 48))
        imap[win][m] = k
        rgb[win][m] = rng.integers(40, 220, 3)
    ann = annotation_from_instances(imap, image_id="limits", seed=seed, generator=GeneratorInfo(version="bench"))
    return encode_png(rgb, 6), encode_instances_png(imap), ann.to_json().encode()


def proc_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def stalled_body(url: str, cap_s: float) -> dict[str, object]:
    """Headers + 4 body bytes, then silence: seconds until the server answers/closes, and its status line."""
    s = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])))
    s.sendall(
        b"POST /v1/refine HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zz\r\n"
        b"Content-Length: 1000000\r\n\r\n--zz"
    )
    t0 = time.perf_counter()
    s.settimeout(cap_s)
    got = b""
    try:
        while chunk := s.recv(4096):
            got += chunk
    except TimeoutError:
        pass
    finally:
        s.close()
    status = got.split(b"\r\n", 1)[0].decode(errors="replace") if got else None
    return {
        "stalled_body_open_s": round(time.perf_counter() - t0, 2),
        "stalled_body_capped_at_s": cap_s,
        "stalled_body_answer": status,
    }


def post(url: str, parts: tuple[bytes, bytes, bytes]) -> int:
    files = {
        "image": ("i.png", parts[0], "image/png"),
        "instances": ("m.png", parts[1], "image/png"),
        "annotations": ("a.json", parts[2], "application/json"),
    }
    return requests.post(f"{url}/v1/refine", files=files, timeout=600).status_code


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose server is measured")
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--persons", type=int, default=64)
    ap.add_argument("--concurrent", type=int, default=4)
    ap.add_argument("--stall-cap", type=float, default=90.0, help="stop waiting for a stalled body after this")
    args = ap.parse_args()
    parts = big_scene(args.size, args.persons)
    log(f"request: {sum(map(len, parts)) / 1e3:.0f} kB")
    root = args.root.resolve()
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    serve_args = ["--model", "default", "--device", "cpu", "--log-level", "warning"]
    with serve_local(serve_args, cwd=root, env=env, stdout=sys.stderr) as server:
        out: dict[str, object] = {
            "bench": "server_limits",
            "root": str(args.root),
            "image": f"{args.size}^2",
            "persons": args.persons,
            "request_kB": round(sum(map(len, parts)) / 1e3),
        }
        out["rss_ready_MiB"] = round(proc_kib(server.pid, "VmRSS") / 1024)
        t0 = time.perf_counter()
        out["one_status"] = post(server.url, parts)
        out["one_wall_s"] = round(time.perf_counter() - t0, 2)
        out["one_peak_MiB"] = round(proc_kib(server.pid, "VmHWM") / 1024)
        log("one request done; concurrent")
        with ThreadPoolExecutor(args.concurrent) as ex:
            out["concurrent_statuses"] = sorted(ex.map(lambda _: post(server.url, parts), range(args.concurrent)))
        out["concurrent_peak_MiB"] = round(proc_kib(server.pid, "VmHWM") / 1024)
        time.sleep(1.0)
        out["rss_after_MiB"] = round(proc_kib(server.pid, "VmRSS") / 1024)
        log("stalled body")
        out.update(stalled_body(server.url, args.stall_cap))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
