"""The requests-only client and the `python -m refine_server serve` CLI (real subprocess)."""

from __future__ import annotations

import ast
import base64
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import refine_server.client as client_mod
from refine_server.client import AuthError, RefineClient, RequestRejected, ServerUnavailable
from refine_server.local_server import free_port, serve_local
from refine_server.model_card import ModelCard
from refine_server.settings import Settings
from tests.server.conftest import make_scene, running_server
from tests.server.helpers import GatedModel

ROOT = Path(__file__).resolve().parents[2]


def test_client_imports_only_stdlib_pydantic_and_the_contracts() -> None:
    """The client lives beside the contracts; ``requests`` is imported only when a client is made."""
    import shared_schema.client as shared_client

    assert client_mod.RefineClient is shared_client.RefineClient  # refine_server.client is a re-export
    tree = ast.parse(Path(shared_client.__file__).read_text())
    mods = {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    mods |= {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    stdlib = {"__future__", "base64", "collections", "hashlib", "time", "dataclasses", "typing", "json", "contextlib"}
    assert mods <= stdlib | {"pydantic", "requests", "api"}
    code = (
        "import sys, shared_schema.client; assert not {'torch', 'fastapi', 'requests', 'bpy'} & set(sys.modules)"
        "; import refine_server.client; assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_client_refine_and_errors(server: str, strict_server: str) -> None:
    sc = make_scene(30, n=3)
    c = RefineClient(server, timeout=30)
    assert c.health()["status"] == "ok" and c.ready()
    assert c.model()["model_id"] == "tiny-test"
    res = c.refine(sc.image_png, sc.instances_png, sc.annotations)
    assert res.annotations == sc.annotations and res.model_id == "tiny-test"
    assert res.image_png.startswith(b"\x89PNG") and res.timings["total_ms"] > 0
    with pytest.raises(RequestRejected) as e:
        c.refine(b"junk", sc.instances_png, sc.annotations)
    assert e.value.status == 400 and e.value.code == "invalid_image" and e.value.field == "image"
    anon = RefineClient(strict_server, retries=0)
    with pytest.raises(AuthError) as e2:
        anon.refine(sc.image_png, sc.instances_png, sc.annotations)
    assert e2.value.status == 401
    authed = RefineClient(strict_server, token="s3cret-token")
    assert "s3cret" not in repr(authed)
    assert authed.refine(sc.image_png, sc.instances_png, sc.annotations).model_id == "tiny-test"


def test_client_unavailable_after_retries() -> None:
    port = free_port()
    c = RefineClient(f"http://127.0.0.1:{port}", timeout=1, retries=2, backoff=0.01)
    t0 = time.perf_counter()
    with pytest.raises(ServerUnavailable, match="3 attempts"):
        c.refine(b"a", b"b", b"c")
    assert time.perf_counter() - t0 < 5
    assert not c.ready()


def test_client_retries_503_then_succeeds() -> None:
    gate = threading.Event()
    card = ModelCard(model_id="slow", architecture="identity", crop_size=32)
    s = Settings(model="identity", device="cpu", max_queue_requests=1, warmup=False, retry_after_s=0)
    sc = make_scene(31, n=2)
    with running_server(s, model=(GatedModel(gate), card)) as base:
        c = RefineClient(base, retries=6, backoff=0.05)
        first = threading.Thread(target=c.refine, args=(sc.image_png, sc.instances_png, sc.annotations))
        first.start()
        time.sleep(0.3)
        threading.Timer(0.2, gate.set).start()  # queue frees up while the second call is retrying
        res = c.refine(sc.image_png, sc.instances_png, sc.annotations)
        first.join()
        assert res.model_id == "slow"
        assert 'status="503"' in c.session.get(base + "/metrics").text


def test_cli_missing_default_model_names_the_path(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "refine_server", "serve", "--model", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == 2 and str(tmp_path / "nope") in r.stderr


def test_cli_serves_a_checkpoint(checkpoint_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "REFINE_TORCH_THREADS": "1"}
    token = tmp_path / "token"
    token.write_text("tok\n")
    args = ["--model", str(checkpoint_dir), "--device", "cpu", "--token-file", str(token), "--log-level", "warning"]
    log = tmp_path / "serve.log"
    with (
        log.open("w") as fh,
        serve_local(args, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, ready_timeout_s=60) as server,
    ):
        c = RefineClient(server.url, token="tok", timeout=30)
        sc = make_scene(32, n=3)
        res = c.refine(sc.image_png, sc.instances_png, sc.annotations)
        assert res.annotations == sc.annotations and res.model_id == "tiny-test"
        assert len(base64.b64encode(res.image_png)) > 0 and np.any(sc.imap)
    out = log.read_text()
    assert "tok" not in out.replace("token", "")


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys) -> None:
    from refine_server.__main__ import main

    assert main(["train", "--config", str(tmp_path / "missing.json")]) == 2
    assert "No such file" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"steps": -5}')
    assert main(["train", "--config", str(bad)]) == 2
    assert "steps" in capsys.readouterr().err
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(tmp_path),
                "--synthetic",
                str(tmp_path),
                "--real-config",
                str(bad),
                "--out",
                str(tmp_path / "e"),
            ]
        )
        == 2
    )
    assert "model card" in capsys.readouterr().err


def test_wait_ready_stops_when_the_server_process_died() -> None:
    from refine_server.client import RefineClient, ServerUnavailable

    client = RefineClient(f"http://127.0.0.1:{free_port()}", timeout=0.5)
    with pytest.raises(ServerUnavailable, match="exited before it was ready"):
        client.wait_ready(timeout=30, alive=lambda: False)
    with pytest.raises(ServerUnavailable, match="not ready within"):
        client.wait_ready(timeout=0.3, interval=0.05)
