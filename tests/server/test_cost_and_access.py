"""The cost estimate and memory budget (pure), the instance pixel counter, and who may start an open server."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from refine_server.cost import MIB, MemoryBudget, RequestCost
from refine_server.imaging import instance_pixel_counts
from refine_server.serve_cli import check_access, is_loopback, read_token_file
from refine_server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_estimate_grows_with_image_persons_and_padding() -> None:
    base = RequestCost(4096, 4096, 64, 2000, 128)
    assert 0.4 * 1024 < base.mib < Settings().max_request_mib  # the 4096² / 64-person request fits one request
    assert RequestCost(4096, 4096, 64, 4096 * 4096 - 63, 128).mib > 50 * base.mib  # one huge + 63 tiny persons
    assert RequestCost(512, 512, 6, 2000, 128).nbytes < base.nbytes


def test_budget_admits_one_always_and_others_only_within_the_limit() -> None:
    budget = MemoryBudget(10 * MIB)
    big = budget.reserve(50 * MIB)  # alone: admitted even above the limit
    assert big is not None and budget.reserve(1) is None
    big.release()
    big.release()  # idempotent
    assert budget.used == 0
    a, b = budget.reserve(4 * MIB), budget.reserve(4 * MIB)
    assert a is not None and b is not None and budget.reserve(4 * MIB) is None
    assert a.grow_to(6 * MIB) and not a.grow_to(7 * MIB) and a.nbytes == 6 * MIB
    assert budget.used == 10 * MIB
    a.release()
    b.release()
    assert budget.used == 0


def test_instance_pixel_counts_match_bincount_in_chunks() -> None:
    imap = np.random.default_rng(0).integers(0, 300, (97, 103)).astype(np.uint16)
    imap[0, 0] = 65535
    got = instance_pixel_counts(imap, chunk=1000)
    assert np.array_equal(got, np.bincount(imap.ravel()))


def test_token_file_and_loopback_rules(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "token"
    f.write_text("  s3cret\n")
    assert read_token_file(f) == "s3cret"
    f.write_text("\n")
    with pytest.raises(ValueError, match="empty"):
        read_token_file(f)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    assert check_access(Settings(host="0.0.0.0", token="t")) is None
    assert "refusing" in (check_access(Settings(host="0.0.0.0", token="")) or "")
    with caplog.at_level(logging.WARNING, logger="refine_server"):
        assert check_access(Settings(host="0.0.0.0", allow_anonymous=True)) is None
        assert check_access(Settings(host="127.0.0.1")) is None
    assert sum("anonymous requests" in r.getMessage() for r in caplog.records) == 2


def test_cli_refuses_an_open_public_server_and_has_no_token_flag() -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "refine_server", "serve", "--model", "identity", "--host", "0.0.0.0"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert r.returncode == 2 and "refusing to serve" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run(
        [*cmd, "--token", "visible-in-ps"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert r.returncode == 2 and "unrecognized arguments: --token" in r.stderr
