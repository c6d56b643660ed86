"""blender_addon.jobs (no bpy): progress parsing, the subprocess and thread runners, the batch command line."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from blender_addon.jobs import (
    EXIT_UNREFINED,
    PROGRESS_PREFIX,
    JobState,
    SubprocessJob,
    ThreadJob,
    batch_command,
    format_eta,
    format_progress_line,
    parse_progress_line,
)


def test_progress_line_round_trip():
    line = format_progress_line(3, 10, image_id="000000_000002", status="rendered 2 people", eta_s=8.0, seconds=1.2)
    assert line.startswith(PROGRESS_PREFIX) and "\n" not in line
    p = parse_progress_line(line)
    assert p is not None and (p.done, p.total, p.eta_s) == (3, 10, 8.0)
    assert p.message == "000000_000002 rendered 2 people" and p.fraction == 0.3


def test_progress_line_refuses_non_finite_numbers():
    with pytest.raises(ValueError):
        format_progress_line(1, 2, eta_s=float("nan"))


@pytest.mark.parametrize(
    "line",
    [
        "",
        "Fra:10 Mem:31.20M | Time:00:00.56",
        "[render_batch] summary {}",
        "R2PROGRESS {bad",
        "[5/3]",
        "[render_batch] 3/10 000000_000002 rendered (1.2s) elapsed 4s ETA 8s",
        'R2PROGRESS {"done": 5, "total": 3}',
        'R2PROGRESS {"done": -1, "total": 3}',
        'R2PROGRESS {"done": 1}',
    ],
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
        from blender_addon.jobs import format_progress_line
        for k in range(1, 4):
            print(format_progress_line(k, 3, image_id=f"id{k}", status="rendered", eta_s=3 - k), flush=True)
        print("[render_batch] summary {}")
        """,
    )
    job = SubprocessJob(argv, total=3, log_path=tmp_path / "batch.log", cwd=Path(__file__).parents[2]).start()
    assert job.wait(30) is JobState.DONE
    assert (job.progress.done, job.progress.total, job.fraction) == (3, 3, 1.0)
    assert job.returncode == 0
    assert "summary" in (tmp_path / "batch.log").read_text()


def test_subprocess_job_failure_message(tmp_path: Path):
    body = f"import sys\nprint('[render_batch] ERROR: boom', flush=True)\nsys.exit({EXIT_UNREFINED})\n"
    argv = _script(tmp_path, body)
    job = SubprocessJob(argv).start()
    assert job.wait(30) is JobState.FAILED
    assert job.returncode == EXIT_UNREFINED == 3
    assert "boom" in job.message and "code 3" in job.message


def test_subprocess_job_cancel_kills_the_process_group(tmp_path: Path):
    line = format_progress_line(1, 100, image_id="a")
    argv = _script(tmp_path, f"import time\nprint({line!r}, flush=True)\ntime.sleep(60)\n")
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
            if __name__ == "__main__":
                print("[1/1]", VALUE, __package__, "refine_server" in sys.modules, sys.argv[1:], flush=True)
            """
        )
    )
    argv = batch_command(package_dir=pkg, args=["--count", "1"], python_executable=sys.executable)
    job = SubprocessJob(argv, total=1).start()
    assert job.wait(30) is JobState.DONE, job.tail
    line = next(t for t in job.tail if t.startswith("[1/1]"))
    assert "relative import ok" in line and "render_and_refine" in line and "['--', '--count', '1']" in line
    assert "False" in line  # no stand-in refine_server package is planted in the child


def test_batch_command_for_a_blender_binary(tmp_path: Path):
    argv = batch_command(package_dir=tmp_path / "pkg", args=["--count", "2"], blender_binary="/opt/blender/blender")
    assert argv[:5] == ["/opt/blender/blender", "-b", "--factory-startup", "--python-exit-code", "1"]
    assert argv[5] == "--python-expr" and "render_batch" in argv[6]
