"""run_batch / render_batch.py: sharding, resume after SIGKILL, refine failures, Debian's blender binary."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

from blender_addon import pipeline  # noqa: E402
from blender_addon.core.png import read_png  # noqa: E402
from blender_addon.jobs import EXIT_UNREFINED, PROGRESS_PREFIX, parse_progress_line  # noqa: E402
from shared_schema.annotation import SceneAnnotation  # noqa: E402
from shared_schema.client import RefineClient  # noqa: E402
from shared_schema.dataset import complete_ids, image_id_for, write_indexes  # noqa: E402
from tests.live_server import free_port, identity_server  # noqa: E402

from .conftest import small_config  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "blender_addon" / "render_batch.py"
FAST = {"standing": (1, 1), "sitting": (1, 1)}


def _files(root: Path, subs: tuple[str, ...] = ("annotations", "instances")) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for sub in subs for p in sorted((root / sub).glob("*"))}


@pytest.mark.slow
def test_shards_merge_to_unsharded_run(tmp_path):
    cfg = small_config(res=96, **FAST)
    full = pipeline.run_batch(cfg, 3, 42, tmp_path / "full", report=False)
    assert full.ok and len(full.rendered) == 3
    a = pipeline.run_batch(cfg, 3, 42, tmp_path / "a", shard=(0, 2), report=False)
    b = pipeline.run_batch(cfg, 3, 42, tmp_path / "b", shard=(1, 2), report=False)
    assert a.ids == [image_id_for(42, 0), image_id_for(42, 2)] and b.ids == [image_id_for(42, 1)]
    merged = tmp_path / "merged"
    for src in (tmp_path / "a", tmp_path / "b"):
        shutil.copytree(src, merged, dirs_exist_ok=True)
    write_indexes(merged)
    assert _files(merged) == _files(tmp_path / "full")
    for name in ("coco.json", "rotated_boxes.json"):
        assert json.loads((merged / name).read_text()) == json.loads((tmp_path / "full" / name).read_text())
    # resume: a second run skips every complete id and changes nothing
    again = pipeline.run_batch(cfg, 3, 42, tmp_path / "full", report=True)
    assert again.skipped == full.ids and not again.rendered
    assert _files(tmp_path / "full") == _files(merged)
    report = (tmp_path / "full" / "report.html").read_text()
    assert all(f"images/{i}.png" in report for i in full.ids)
    assert (tmp_path / "full" / "report_overlays" / f"{full.ids[0]}.png").is_file()


@pytest.mark.slow
def test_dead_refine_server_keeps_renders(tmp_path):
    cfg = small_config(res=96, **FAST)
    client = RefineClient(f"http://127.0.0.1:{free_port()}", retries=1, backoff=0.01, timeout=2)
    res = pipeline.run_batch(
        cfg, 1, 9, tmp_path, refine_client=client, refine_rounds=1, refine_backoff=0.01, report=False
    )
    assert res.ok and res.rendered == res.ids
    assert set(res.refine_failed) == set(res.ids)
    assert complete_ids(tmp_path) == res.ids
    assert not (tmp_path / "refined").exists() or not any((tmp_path / "refined").iterdir())


def _statuses(log: str) -> dict[str, str]:
    return {
        p["image_id"]: p["status"]
        for p in (
            json.loads(line[len(PROGRESS_PREFIX) :]) for line in log.splitlines() if line.startswith(PROGRESS_PREFIX)
        )
    }


@pytest.mark.slow
def test_dead_server_exits_3_naming_the_unrefined_then_rerun_refines_only_those(tmp_path):
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(small_config(res=64, samples=1, **FAST).dump())
    out = tmp_path / "out"
    args = [
        sys.executable,
        str(SCRIPT),
        "--",
        "--config",
        str(cfg_path),
        "--count",
        "4",
        "--seed",
        "8",
        "--out",
        str(out),
        "--no-report",
        "--refine-url",
    ]
    dead = subprocess.run([*args, f"http://127.0.0.1:{free_port()}"], capture_output=True, text=True, timeout=600)
    ids = [image_id_for(8, i) for i in range(4)]
    assert dead.returncode == EXIT_UNREFINED == 3, dead.stderr[-3000:]
    assert complete_ids(out) == ids and not (out / "refined").exists()  # every render kept
    (line,) = [ln for ln in dead.stderr.splitlines() if "not refined" in ln]
    assert "Traceback" not in dead.stderr and line.endswith(" ".join(ids)) and "3 times in a row" in line
    status = _statuses(dead.stdout)
    assert status[ids[2]].endswith("server given up for this run")
    assert status[ids[3]] == "rendered 2 people, not refined (server given up)"  # never sent
    synthetic = _files(out, ("annotations", "instances", "images"))
    with identity_server(tmp_path / "server.log") as url:
        again = subprocess.run([*args, url], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert set(_statuses(again.stdout).values()) == {"skipped, refined"}  # nothing rendered again
    assert sorted(p.stem for p in (out / "refined").iterdir() if not p.name.startswith(".")) == ids
    assert _files(out, ("annotations", "instances", "images")) == synthetic


def test_stale_temp_cleanup(tmp_path):
    tmp = tmp_path / "images" / ".x.png.abc.tmp"
    tmp.parent.mkdir()
    tmp.write_bytes(b"partial")
    assert pipeline.clean_stale_temps(tmp_path) == 0  # fresh: may belong to a running shard
    os.utime(tmp, (time.time() - 3600, time.time() - 3600))
    assert pipeline.clean_stale_temps(tmp_path) == 1 and not tmp.exists()


def _run_script(args: list[str], **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), "--", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        **kw,
    )


@pytest.mark.slow
def test_sigkill_mid_batch_then_resume(tmp_path):
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(small_config(res=96, **FAST).dump())
    out = tmp_path / "out"
    args = ["--config", str(cfg_path), "--count", "4", "--seed", "5", "--out", str(out), "--no-report"]
    proc = _run_script(args)
    deadline = time.time() + 240
    while time.time() < deadline and len(list((out / "annotations").glob("*.json"))) < 1:
        time.sleep(0.05)
        assert proc.poll() is None, proc.stdout.read()
    time.sleep(0.3)  # land somewhere inside the next image
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = complete_ids(out)
    assert 1 <= len(done_before) < 4
    proc2 = _run_script(args)
    log, _ = proc2.communicate(timeout=300)
    assert proc2.returncode == 0, log
    progress = [p for p in map(parse_progress_line, log.splitlines()) if p]
    assert (progress[-1].done, progress[-1].total) == (4, 4) and progress[-1].eta_s is not None
    ids = [image_id_for(5, i) for i in range(4)]
    assert complete_ids(out) == ids
    for sub, ext in (("images", "png"), ("instances", "png"), ("annotations", "json")):
        files = sorted(p.name for p in (out / sub).iterdir() if not p.name.startswith("."))
        assert files == [f"{i}.{ext}" for i in ids], files  # no duplicates
        # a write cut by SIGKILL can only leave a hidden temp file, never a truncated final file
        assert all(p.name.endswith(".tmp") for p in (out / sub).iterdir() if p.name.startswith("."))
    for i in ids:
        SceneAnnotation.model_validate_json((out / "annotations" / f"{i}.json").read_bytes())
        assert read_png(out / "images" / f"{i}.png").shape == (96, 96, 3)
        assert read_png(out / "instances" / f"{i}.png").shape == (96, 96, 1)
    # the images rendered before the kill were skipped, not rendered again
    status = _statuses(log)
    assert [i for i in ids if status[i] == "skipped"] == done_before
    coco = json.loads((out / "coco.json").read_text())
    assert len(coco["images"]) == 4


@pytest.mark.slow
@pytest.mark.blender_binary
def test_blender_binary_headless(tmp_path):
    blender = shutil.which("blender")
    if blender is None:
        pytest.skip("no `blender` executable on PATH (Debian: apt-get install -y blender python3-numpy)")
    cfg_path = tmp_path / "cfg.json"
    cfg = small_config(res=96, **FAST)
    cfg = cfg.model_copy(update={"render": cfg.render.model_copy(update={"denoise": True})})  # 3.4: no OIDN
    cfg_path.write_text(cfg.dump())
    out = tmp_path / "out"
    cmd = [
        blender,
        "-b",
        "--factory-startup",
        "--python-exit-code",
        "1",
        "-P",
        str(SCRIPT),
        "--",
        "--config",
        str(cfg_path),
        "--count",
        "1",
        "--seed",
        "3",
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert any((p.done, p.total) == (1, 1) for p in map(parse_progress_line, log.splitlines()) if p)
    (iid,) = complete_ids(out)
    ann = SceneAnnotation.model_validate_json((out / "annotations" / f"{iid}.json").read_bytes())
    assert ann.render.blender_version.startswith(tuple("0123456789"))
    assert ann.persons and ann.sampled["humans"] == "mpfb2"
    bad = subprocess.run(
        [*cmd[:-8], "--config", str(tmp_path / "missing.json"), "--count", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0


class _FakeRefiner:
    """Stands in for refine_server.client.RefineClient (same result fields: annotations come back as the bytes
    sent): fails ``fail`` times, then returns a darker image."""

    def __init__(self, fail: int = 0):
        self.fail = fail
        self.calls = 0

    def refine(self, image_png: bytes, instances_png: bytes, annotations_json: bytes):
        from types import SimpleNamespace

        from blender_addon.core.png import decode_png, encode_png

        self.calls += 1
        if self.calls <= self.fail:
            raise ConnectionError("server down")
        img = decode_png(image_png)
        return SimpleNamespace(
            image_png=encode_png(img // 2), annotations=annotations_json, model_id="fake", timings={}
        )


@pytest.mark.slow
def test_refine_retried_and_stored(tmp_path):
    cfg = small_config(res=96, **FAST)
    fake = _FakeRefiner(fail=1)
    res = pipeline.run_batch(cfg, 1, 21, tmp_path, refine_client=fake, refine_backoff=0.01)
    assert res.ok and res.refined == res.ids and not res.refine_failed and fake.calls == 2
    (iid,) = res.ids
    assert read_png(tmp_path / "refined" / f"{iid}.png").shape == (96, 96, 3)
    assert f"refined/{iid}.png" in (tmp_path / "report.html").read_text()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("missing.json", "cannot load scene config"),
        ("castle", "available: ['office', 'shop']"),
        ("BAD", "people.standing: Value error, high must be >= low"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path, config, message):
    if config == "BAD":
        config = str(tmp_path / "bad.json")
        Path(config).write_text('{"people": {"standing": {"low": 3, "high": 1}}}')
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--", "--config", config, "--count", "1", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
