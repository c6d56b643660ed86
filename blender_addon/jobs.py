"""Background jobs for the add-on UI: a subprocess runner (batch renders) and a thread runner (HTTP calls).

Pure Python (no bpy): the operators poll these objects from a modal timer, so Blender's UI never waits on
them, and the tests drive them directly.

The batch protocol (``render_batch.py`` ⇄ its runner) lives here: one progress line per image,
``R2PROGRESS {"done": 3, "total": 10, "image_id": "000001_000002", "status": "...", "eta_s": 8.4, ...}``
(:func:`format_progress_line` writes it, :func:`parse_progress_line` reads it), and the exit codes
``EXIT_*``.
"""

from __future__ import annotations

import collections
import enum
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "EXIT_OK",
    "EXIT_RENDER_FAILED",
    "EXIT_UNREFINED",
    "EXIT_USAGE",
    "PROGRESS_PREFIX",
    "JobState",
    "Progress",
    "SubprocessJob",
    "ThreadJob",
    "batch_command",
    "format_eta",
    "format_progress_line",
    "parse_progress_line",
]

PROGRESS_PREFIX = "R2PROGRESS "

#: Exit codes of ``render_batch.py``: every image rendered (and refined when asked) / some image failed to render /
#: bad input or missing dependencies / every image rendered but some not refined (server down or refusing).
EXIT_OK, EXIT_RENDER_FAILED, EXIT_USAGE, EXIT_UNREFINED = 0, 1, 2, 3


class JobState(enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    eta_s: float | None = None
    message: str = ""

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else max(0.0, min(1.0, self.done / self.total))


def format_progress_line(done: int, total: int, *, image_id: str = "", status: str = "", **extra: Any) -> str:
    """The one progress line format (``R2PROGRESS`` + compact JSON); ``extra`` adds e.g. ``eta_s``."""
    data = {"done": int(done), "total": int(total), "image_id": image_id, "status": status, **extra}
    return PROGRESS_PREFIX + json.dumps(data, separators=(",", ":"), allow_nan=False)


def parse_progress_line(line: str) -> Progress | None:
    """Progress from one ``R2PROGRESS`` line, or None when the line carries none (or is malformed)."""
    text = line.strip()
    if not text.startswith(PROGRESS_PREFIX):
        return None
    try:
        data = json.loads(text[len(PROGRESS_PREFIX) :])
        done, total = int(data["done"]), int(data["total"])
    except (ValueError, KeyError, TypeError):
        return None
    if total < 0 or not 0 <= done <= total:
        return None
    eta = data.get("eta_s")
    eta_s = float(eta) if isinstance(eta, int | float) and not isinstance(eta, bool) and eta >= 0 else None
    msg = " ".join(str(data.get(k) or "") for k in ("image_id", "status")).strip()
    return Progress(done, total, eta_s, msg)


def format_eta(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return ""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{sec:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{sec:02d}"


class _JobBase:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = JobState.PENDING
        self._message = ""
        self._error: str | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None

    @property
    def state(self) -> JobState:
        with self._lock:
            return self._state

    @property
    def message(self) -> str:
        with self._lock:
            return self._message

    @property
    def error(self) -> str | None:
        with self._lock:
            return self._error

    @property
    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.monotonic()) - self.started_at

    def _set(self, state: JobState | None = None, message: str | None = None, error: str | None = None) -> None:
        with self._lock:
            if state is not None:
                # A cancelled job stays cancelled even when its worker finishes afterwards.
                if not (self._state is JobState.CANCELLED and state.finished):
                    self._state = state
                if state.finished and self.finished_at is None:
                    self.finished_at = time.monotonic()
            if message is not None:
                self._message = message
            if error is not None:
                self._error = error


class SubprocessJob(_JobBase):
    """Runs a command, reads its merged stdout/stderr on a thread and tracks progress lines.

    ``cancel()`` terminates the whole process group (then kills it after ``grace_s``).
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
        total: int = 0,
        log_path: str | Path | None = None,
        tail_lines: int = 200,
        grace_s: float = 5.0,
    ) -> None:
        super().__init__()
        self.argv = [str(a) for a in argv]
        self.env = env
        self.cwd = str(cwd) if cwd is not None else None
        self.log_path = Path(log_path) if log_path is not None else None
        self.grace_s = grace_s
        self._progress = Progress(0, total)
        self._tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self.returncode: int | None = None

    # -- state -------------------------------------------------------------------------------------------
    @property
    def progress(self) -> Progress:
        with self._lock:
            return self._progress

    @property
    def fraction(self) -> float:
        return self.progress.fraction

    @property
    def tail(self) -> list[str]:
        with self._lock:
            return list(self._tail)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    # -- control -----------------------------------------------------------------------------------------
    def start(self) -> SubprocessJob:
        if self._proc is not None:
            raise RuntimeError("job already started")
        kwargs: dict[str, Any] = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True
        else:  # pragma: no cover - Windows
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        self.started_at = time.monotonic()
        try:
            self._proc = subprocess.Popen(
                self.argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
                **kwargs,
            )
        except OSError as exc:
            self._set(JobState.FAILED, message=f"could not start: {exc}", error=str(exc))
            return self
        self._set(JobState.RUNNING, message="started")
        self._reader = threading.Thread(target=self._read, name="render-refine-job", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        log = self.log_path.open("a", encoding="utf-8") if self.log_path else None
        try:
            for raw in proc.stdout:
                line = raw.rstrip("\r\n")
                if log:
                    log.write(line + "\n")
                    log.flush()
                prog = parse_progress_line(line)
                with self._lock:
                    self._tail.append(line)
                    if prog is not None:
                        self._progress = prog
                        self._message = prog.message or f"{prog.done}/{prog.total}"
        finally:
            if log:
                log.close()
        rc = proc.wait()
        self.returncode = rc
        if rc == 0:
            p = self.progress
            if p.total and p.done < p.total:
                self._set(JobState.DONE, message=f"finished ({p.done}/{p.total} reported)")
            else:
                self._set(JobState.DONE, message="finished")
        else:
            last = next((t for t in reversed(self.tail) if t.strip()), "")
            self._set(JobState.FAILED, message=f"exited with code {rc}: {last}"[:300], error=last or f"exit {rc}")

    def poll(self) -> JobState:
        return self.state

    def cancel(self, *, wait: bool = False) -> None:
        """SIGTERM the process group now, SIGKILL it ``grace_s`` later if still alive (on a helper thread
        unless ``wait``, so a UI calling this never blocks)."""
        proc = self._proc
        self._set(JobState.CANCELLED, message="cancelled")
        if proc is None or proc.poll() is not None:
            return
        self._signal(signal.SIGTERM)

        def reap() -> None:
            try:
                proc.wait(timeout=self.grace_s)
            except subprocess.TimeoutExpired:
                self._signal(getattr(signal, "SIGKILL", signal.SIGTERM))
                proc.wait(timeout=self.grace_s)

        if wait:
            reap()
        else:
            threading.Thread(target=reap, name="render-refine-reaper", daemon=True).start()

    def _signal(self, sig: int) -> None:
        proc = self._proc
        if proc is None:
            return
        try:
            if os.name == "posix":
                os.killpg(proc.pid, sig)
            else:  # pragma: no cover - Windows
                proc.terminate() if sig == signal.SIGTERM else proc.kill()
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self, timeout: float | None = None) -> JobState:
        if self._reader is not None:
            self._reader.join(timeout)
        return self.state


class ThreadJob(_JobBase):
    """Runs ``fn(*args, **kwargs)`` on a daemon thread; the result or the exception is kept.

    Cancel is cooperative: ``cancelled`` is an Event that ``fn`` may receive (``pass_cancel_event=True``);
    a cancelled job's result is ignored by the caller either way.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, pass_cancel_event: bool = False, **kwargs: Any) -> None:
        super().__init__()
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.cancelled = threading.Event()
        if pass_cancel_event:
            self.kwargs["cancel_event"] = self.cancelled
        self.result: Any = None
        self.exception: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ThreadJob:
        self.started_at = time.monotonic()
        self._set(JobState.RUNNING, message="running")
        self._thread = threading.Thread(target=self._run, name="render-refine-worker", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:
            self.exception = exc
            self._set(JobState.FAILED, message=str(exc)[:300], error=f"{type(exc).__name__}: {exc}")
            return
        self._set(JobState.DONE, message="finished")

    def poll(self) -> JobState:
        return self.state

    def cancel(self) -> None:
        self.cancelled.set()
        self._set(JobState.CANCELLED, message="cancelled")

    def wait(self, timeout: float | None = None) -> JobState:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state


# -- command line of a batch render ---------------------------------------------------------------------------
_BOOTSTRAP = """\
import runpy, sys
sys.stdout.reconfigure(line_buffering=True)
sys.path.insert(0, {parent!r})
sys.path.extend(p for p in {extra!r} if p not in sys.path)
sys.argv = [{script!r}, "--", *{args!r}]
runpy.run_module({package!r} + "." + {module!r}, run_name="__main__", alter_sys=True)
"""


def batch_command(
    *,
    package_dir: str | Path,
    args: Sequence[str],
    blender_binary: str | None = None,
    python_executable: str | None = None,
    extra_sys_path: Sequence[str] = (),
    module: str = "render_batch",
) -> list[str]:
    """The argv that runs ``<package>/render_batch.py`` in a fresh process.

    The package is imported under its folder name from its parent folder (``blender_addon`` in the repo,
    ``render_and_refine`` when installed), so its relative imports work however it was installed.
    With ``blender_binary`` it runs as ``blender -b --factory-startup --python-expr ...``; otherwise with
    ``python_executable`` (a Python that has ``bpy``, e.g. the PyPI wheel). ``extra_sys_path`` is appended
    to the child's ``sys.path`` (the parent's site-packages holding the bundled wheels).
    """
    package_dir = Path(package_dir).resolve()
    code = _BOOTSTRAP.format(
        parent=str(package_dir.parent),
        extra=[str(p) for p in extra_sys_path],
        script=str(package_dir / f"{module}.py"),
        args=[str(a) for a in args],
        package=package_dir.name,
        module=module,
    )
    if blender_binary:
        return [
            blender_binary,
            "-b",
            "--factory-startup",
            "--python-exit-code",
            "1",
            "--python-expr",
            code,
        ]
    return [python_executable or sys.executable, "-c", code]
