"""blender_addon.jobs (no bpy): progress parsing, the subprocess and thread runners, the batch command line."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from blender_addon.jobs import (
    JobState,
    SubprocessJob,
    ThreadJob,
    batch_command,
    format_eta,
    parse_progress_line,
)


@pytest.mark.parametrize(
    ("line", "done", "total", "eta"),
    [
        ("[render_batch] 3/10 000000_000002 rendered 2 people (1.2s) elapsed 4s ETA 8s", 3, 10, 8.0),
        ("[4/10] img ETA 1:05", 4, 10, 65.0),
        ("[ 1 / 2 ] x", 1, 2, None),
        ('R2PROGRESS {"done": 5, "total": 6, "eta_s": 2.5, "image_id": "a"}', 5, 6, 2.5),
    ],
)
def test_parse_progress_line(line, done, total, eta):
    p = parse_progress_line(line)
    assert p is not None and (p.done, p.total, p.eta_s) == (done, total, eta)
    assert 0.0 <= p.fraction <= 1.0


@pytest.mark.parametrize(
    "line", ["", "Fra:10 Mem:31.20M | Time:00:00.56", "[render_batch] summary {}", "R2PROGRESS {bad", "[5/3]"]
)
def test_lines_without_progress(line):
    assert parse_progress_line(line) is None


def test_format_eta():
    assert format_eta(None) == ""
    assert format_eta(9.4) == "9 s"
    assert format_eta(125) == "2:05"
    assert format_eta(3725) == "1:02:05"


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "child.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, "-u", str(path)]


def test_subprocess_job_tracks_progress(tmp_path: Path):
    argv = _script(
        tmp_path,
        """
        for k in range(1, 4):
            print(f"[render_batch] {k}/3 id{k} rendered (0.0s) elapsed 0s ETA {3 - k}s", flush=True)
        print("[render_batch] summary {}")
        """,
    )
    job = SubprocessJob(argv, total=3, log_path=tmp_path / "batch.log").start()
    assert job.wait(30) is JobState.DONE
    assert (job.progress.done, job.progress.total, job.fraction) == (3, 3, 1.0)
    assert job.returncode == 0
    assert "summary" in (tmp_path / "batch.log").read_text()


def test_subprocess_job_failure_message(tmp_path: Path):
    argv = _script(tmp_path, "import sys\nprint('[render_batch] ERROR: boom', flush=True)\nsys.exit(3)\n")
    job = SubprocessJob(argv).start()
    assert job.wait(30) is JobState.FAILED
    assert job.returncode == 3
    assert "boom" in job.message and "code 3" in job.message


def test_subprocess_job_cancel_kills_the_process_group(tmp_path: Path):
    argv = _script(tmp_path, "import time\nprint('[1/100] start', flush=True)\ntime.sleep(60)\n")
    job = SubprocessJob(argv, total=100, grace_s=2).start()
    deadline = time.monotonic() + 20
    while job.progress.done < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    t0 = time.monotonic()
    job.cancel()  # returns at once; the process dies in the background
    assert time.monotonic() - t0 < 1.0
    job.wait(20)
    assert job.state is JobState.CANCELLED
    assert job._proc is not None and job._proc.poll() is not None


def test_subprocess_job_bad_executable():
    job = SubprocessJob(["/nonexistent/blender", "-b"]).start()
    assert job.state is JobState.FAILED and "could not start" in job.message


def test_thread_job_result_and_error():
    ok = ThreadJob(lambda a, b: a + b, 2, 3).start()
    assert ok.wait(10) is JobState.DONE and ok.result == 5

    def boom():
        raise ValueError("nope")

    bad = ThreadJob(boom).start()
    assert bad.wait(10) is JobState.FAILED
    assert isinstance(bad.exception, ValueError) and "nope" in bad.error


def test_thread_job_cancel_stays_cancelled():
    job = ThreadJob(lambda cancel_event: cancel_event.wait(5) and "late", pass_cancel_event=True).start()
    job.cancel()
    job.wait(10)
    assert job.state is JobState.CANCELLED


def test_batch_command_runs_the_package_module(tmp_path: Path):
    """The bootstrap imports the package under its folder name (any install layout) and passes the arguments."""
    pkg = tmp_path / "some_install" / "render_and_refine"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text("VALUE = 'relative import ok'\n")
    (pkg / "render_batch.py").write_text(
        textwrap.dedent(
            """
            import sys
            from .helper import VALUE
            import blender_addon  # the alias render_batch.py relies on
            if __name__ == "__main__":
                print("[1/1]", VALUE, blender_addon.__name__, sys.argv[1:], flush=True)
            """
        )
    )
    argv = batch_command(package_dir=pkg, args=["--count", "1"], python_executable=sys.executable)
    job = SubprocessJob(argv, total=1).start()
    assert job.wait(30) is JobState.DONE, job.tail
    line = next(t for t in job.tail if t.startswith("[1/1]"))
    assert "relative import ok" in line and "render_and_refine" in line and "['--', '--count', '1']" in line


def test_batch_command_for_a_blender_binary(tmp_path: Path):
    argv = batch_command(package_dir=tmp_path / "pkg", args=["--count", "2"], blender_binary="/opt/blender/blender")
    assert argv[:5] == ["/opt/blender/blender", "-b", "--factory-startup", "--python-exit-code", "1"]
    assert argv[5] == "--python-expr" and "render_batch" in argv[6]
