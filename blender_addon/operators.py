"""Operators of the Render & Refine panel.

* ``render_refine.generate_scene`` — build the randomized scene in the open file (undoable).
* ``render_refine.roll_seed`` — the dice button.
* ``render_refine.render_refine`` — render, write image + instances + annotations, POST to the server, write the
  refined image, show both side by side. ``invoke`` (the button) is modal: the UI redraws before the render and
  the HTTP round-trip runs on a worker thread; ``execute`` (scripts, tests) runs it synchronously.
* ``render_refine.render_batch`` — N images in a background ``render_batch.py`` process; a timer polls it.
* ``render_refine.cancel_job`` — stops the batch process or abandons the pending refinement (the render stays).

The work itself lives in :mod:`.services` and :mod:`.jobs` (no bpy).
"""

# ruff: noqa: RUF012 - Blender reads bl_options as a plain class attribute

import contextlib
import os
import random
import sys
from pathlib import Path
from types import SimpleNamespace

import bpy
from bpy.props import BoolProperty, IntProperty
from bpy.types import Operator

from . import jobs, services
from .preferences import server_settings
from .properties import examples_dir, output_root

COMPARISON_IMAGE = "Render & Refine: synthetic | refined"

# Python-side state that Blender properties cannot hold.
_BUILT: dict[str, tuple[tuple, object]] = {}  # scene name -> (settings key, BuiltScene)
_ACTIVE: dict[str, object] = {}  # "job" -> the running SubprocessJob / ThreadJob (one at a time)


# -- helpers ---------------------------------------------------------------------------------------------------
def _status(context):
    return context.window_manager.render_refine


def _redraw(context) -> None:
    wm = context.window_manager
    for window in wm.windows:
        screen = window.screen
        if screen is None:
            continue
        for area in screen.areas:
            if area.type in {"VIEW_3D", "STATUSBAR", "IMAGE_EDITOR"}:
                area.tag_redraw()


def _set_status(context, *, message=None, error=None, progress=None, busy=None, kind=None) -> None:
    st = _status(context)
    if message is not None:
        st.message = message[:1000]
    if error is not None:
        st.error = error[:1000]
    if progress is not None:
        st.progress = max(0.0, min(1.0, float(progress)))
    if busy is not None:
        st.busy = busy
    if kind is not None:
        st.job_kind = kind
    _redraw(context)


def job_running() -> bool:
    job = _ACTIVE.get("job")
    return job is not None and not job.state.finished


def active_job():
    return _ACTIVE.get("job")


def _people_overrides(s):
    if not s.override_people:
        return None
    return {"standing": (s.standing_min, s.standing_max), "sitting": (s.sitting_min, s.sitting_max)}


def _settings_key(s) -> tuple:
    src = s.config_path if s.config_source == "FILE" else s.example
    mtime = 0.0
    if s.config_source == "FILE":
        with contextlib.suppress(OSError):
            mtime = Path(bpy.path.abspath(s.config_path)).stat().st_mtime
    return (s.config_source, src, mtime, repr(_people_overrides(s)), s.seed, s.resolution, s.samples)


def _load_config(s):
    return services.load_scene_config(
        source=s.config_source,
        example=s.example,
        path=bpy.path.abspath(s.config_path) if s.config_path else None,
        people=_people_overrides(s),
    )


def _snapshot(settings) -> dict:
    return {
        p.identifier: getattr(settings, p.identifier)
        for p in settings.bl_rna.properties
        if p.identifier != "rna_type" and not p.is_readonly
    }


def _build(context):
    """Build the scene. The builder makes its own scene (and shows it in the window): the panel settings are
    copied onto it, so the panel keeps showing them and Render & Refine finds the build by either scene."""
    source = context.scene
    source_name = source.name
    values = _snapshot(source.render_refine)  # the builder may delete `source` (regenerating its own scene)
    snap = SimpleNamespace(**values)
    config = _load_config(snap)
    pipeline = services.pipeline_module()
    built = pipeline.build_scene(config, int(snap.seed), resolution=int(snap.resolution), samples=int(snap.samples))
    key = _settings_key(snap)
    target = getattr(built, "scene", None)
    if target is not None and getattr(target, "name", None) and hasattr(target, "render_refine"):
        dst = target.render_refine
        for name, value in values.items():
            with contextlib.suppress(TypeError, ValueError, AttributeError):
                setattr(dst, name, value)
        _BUILT[target.name] = (key, built)
    if source_name in bpy.data.scenes:
        _BUILT[source_name] = (key, built)
    return config, built


def _built_alive(built) -> bool:
    """False when undo or a file load freed the Blender scene the cached BuiltScene points at."""
    scene = getattr(built, "scene", None)
    if scene is None:
        return True
    try:
        return scene.name in bpy.data.scenes
    except ReferenceError:
        return False


def _current_built(context):
    """The scene built by Generate Scene, rebuilt when missing, stale or made with other settings."""
    entry = _BUILT.get(context.scene.name)
    s = context.scene.render_refine
    if entry is not None and entry[0] == _settings_key(s) and _built_alive(entry[1]):
        return entry[1], False
    return _build(context)[1], True


def _render(context):
    s = context.scene.render_refine
    built, _rebuilt = _current_built(context)
    paths = services.output_paths(output_root(s), s.effective_image_id())
    pipeline = services.pipeline_module()
    pipeline.render_and_annotate(built, paths.root, paths.image_id)
    missing = [str(p) for p in paths.render_files if not p.is_file()]
    if missing:
        raise RuntimeError(f"the render did not write {', '.join(missing)}")
    return paths


def _client(context):
    cfg = server_settings(context)
    return cfg.server_url, services.make_client(cfg.server_url, cfg.token, timeout=cfg.timeout, retries=cfg.retries)


def _load_image(path: Path):
    img = bpy.data.images.load(str(path), check_existing=True)
    img.reload()
    return img


def show_side_by_side(context, synthetic: Path, refined: Path):
    """A ``synthetic | refined`` image in bpy.data, shown in an Image Editor (opened in a new window if none)."""
    left, right = _load_image(synthetic), _load_image(refined)
    comp = None
    try:
        import numpy as np

        (w, h), (w2, h2) = tuple(left.size), tuple(right.size)
        if (w, h) == (w2, h2) and w > 0:
            gap = max(2, w // 64)
            a = np.empty(w * h * 4, dtype=np.float32)
            b = np.empty(w * h * 4, dtype=np.float32)
            left.pixels.foreach_get(a)
            right.pixels.foreach_get(b)
            out = np.ones((h, 2 * w + gap, 4), dtype=np.float32)
            out[:, :w] = a.reshape(h, w, 4)
            out[:, w + gap :] = b.reshape(h, w, 4)
            comp = bpy.data.images.get(COMPARISON_IMAGE)
            if comp is not None and tuple(comp.size) != (2 * w + gap, h):
                bpy.data.images.remove(comp)
                comp = None
            if comp is None:
                comp = bpy.data.images.new(COMPARISON_IMAGE, 2 * w + gap, h, alpha=True)
            comp.pixels.foreach_set(out.ravel())
            comp.update()
    except Exception as exc:  # a missing numpy must not lose the result: show the refined image alone
        print(f"Render & Refine: no side-by-side image ({exc})")
    _show_in_image_editor(context, comp or right)
    return comp


def _show_in_image_editor(context, image) -> None:
    wm = context.window_manager
    if not wm.windows:
        return  # background / bpy module: nothing to show
    for window in wm.windows:
        for area in window.screen.areas:
            if area.type == "IMAGE_EDITOR":
                area.spaces.active.image = image
                area.tag_redraw()
                return
    window = context.window or wm.windows[0]
    area = next((a for a in window.screen.areas if a.type == "VIEW_3D"), window.screen.areas[0])
    try:
        with context.temp_override(window=window, area=area):
            bpy.ops.wm.window_new()
        new_window = wm.windows[-1]
        new_area = max(new_window.screen.areas, key=lambda a: a.width * a.height)
        new_area.type = "IMAGE_EDITOR"
        new_area.spaces.active.image = image
    except Exception as exc:
        print(f"Render & Refine: could not open an Image Editor ({exc}); see image {image.name!r}")


# -- operators -------------------------------------------------------------------------------------------------
class _Guarded:
    @classmethod
    def poll(cls, context):
        if context.scene is None or not hasattr(context.scene, "render_refine"):
            return False
        if job_running():
            if hasattr(cls, "poll_message_set"):  # Blender 3.0+
                cls.poll_message_set("a Render & Refine job is running")
            return False
        return True


class RENDER_REFINE_OT_roll_seed(Operator):
    """Pick a random seed"""

    bl_idname = "render_refine.roll_seed"
    bl_label = "Random Seed"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and hasattr(context.scene, "render_refine")

    def execute(self, context):
        context.scene.render_refine.seed = random.SystemRandom().randrange(0, 2**31 - 1)
        return {"FINISHED"}


class RENDER_REFINE_OT_generate_scene(_Guarded, Operator):
    """Build the randomized scene (room, people, lights, fisheye camera) in the open file"""

    bl_idname = "render_refine.generate_scene"
    bl_label = "Generate Scene"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        try:
            config, built = _build(context)
        except Exception as exc:
            msg = f"Generate Scene failed: {exc}"
            _set_status(context, message="", error=msg)
            self.report({"ERROR"}, msg)
            return {"CANCELLED"}
        n = len(built.persons)
        people = "person" if n == 1 else "people"
        msg = f"Generated '{config.name}' with seed {context.scene.render_refine.seed}: {n} {people}"
        _set_status(context, message=msg, error="")
        self.report({"INFO"}, msg)
        return {"FINISHED"}


class RENDER_REFINE_OT_render_refine(_Guarded, Operator):
    """Render the scene, write image, instance mask and annotations, send them to the refinement server,
    write the refined image and show both side by side"""

    bl_idname = "render_refine.render_refine"
    bl_label = "Render & Refine"
    bl_options = {"REGISTER"}

    refine: BoolProperty(name="Refine", description="Send the render to the server (off: render only)", default=True)

    _timer = None
    _phase = ""
    _paths = None
    _job = None
    _url = ""

    # synchronous path (scripts, tests, F3 with EXEC) ------------------------------------------------------
    def execute(self, context):
        _set_status(context, busy=True, kind="render", message="Rendering…", error="", progress=0.0)
        try:
            paths = _render(context)
        except Exception as exc:
            return self._fail(context, f"Render failed: {exc}")
        if not self.refine:
            return self._done(context, paths, None)
        url, client = "", None
        try:
            url, client = _client(context)
            outcome = services.refine_files(paths, client)
        except Exception as exc:
            return self._fail(context, services.friendly_refine_error(exc, url), paths)
        return self._done(context, paths, outcome)

    # interactive path ------------------------------------------------------------------------------------------
    def invoke(self, context, event):
        if context.window is None:
            return self.execute(context)
        _set_status(context, busy=True, kind="render", message="Rendering…", error="", progress=0.05)
        self._phase = "render"
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC" or (self._job is not None and self._job.state is jobs.JobState.CANCELLED):
            if self._job is not None:
                self._job.cancel()
            self._cleanup(context)
            msg = "Refinement cancelled; the synthetic render is kept" if self._paths else "Cancelled"
            _set_status(context, busy=False, message=msg, progress=0.0)
            self.report({"WARNING"}, msg)
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        if self._phase == "render":
            # The panel has redrawn with "Rendering…"; the render itself runs here, on Blender's main thread.
            self._phase = "rendering"
            try:
                self._paths = _render(context)
            except Exception as exc:
                self._cleanup(context)
                return self._fail(context, f"Render failed: {exc}")
            if not self.refine:
                self._cleanup(context)
                return self._done(context, self._paths, None)
            try:
                self._url, client = _client(context)
            except Exception as exc:
                self._cleanup(context)
                return self._fail(context, services.friendly_refine_error(exc, self._url), self._paths)
            self._job = jobs.ThreadJob(services.refine_files, self._paths, client).start()
            _ACTIVE["job"] = self._job
            self._phase = "refine"
            _set_status(context, kind="refine", message=f"Refining on {self._url}…", progress=0.5)
            return {"RUNNING_MODAL"}
        if self._phase == "refine":
            state = self._job.state
            if not state.finished:
                # No real progress from one HTTP call: creep toward 95 % so the bar shows life.
                st = _status(context)
                _set_status(context, progress=st.progress + (0.95 - st.progress) * 0.05)
                return {"RUNNING_MODAL"}
            self._cleanup(context)
            if state is jobs.JobState.DONE:
                return self._done(context, self._paths, self._job.result)
            return self._fail(context, services.friendly_refine_error(self._job.exception, self._url), self._paths)
        return {"RUNNING_MODAL"}

    def _cleanup(self, context) -> None:
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
        if _ACTIVE.get("job") is self._job:
            _ACTIVE.pop("job", None)

    def _done(self, context, paths, outcome):
        st = _status(context)
        st.last_image = str(paths.image)
        if outcome is None:
            msg = f"Rendered {paths.image_id} into {paths.root}"
        else:
            st.last_refined = str(outcome.refined)
            total = outcome.timings.get("total_ms") or outcome.timings.get("total")
            msg = f"Refined {paths.image_id} with {outcome.model_id or 'the server model'}" + (
                f" ({total:.0f} ms)" if isinstance(total, int | float) else ""
            )
            try:
                show_side_by_side(context, paths.image, outcome.refined)
            except Exception as exc:
                print(f"Render & Refine: could not show the images ({exc})")
        _set_status(context, busy=False, message=msg, error="", progress=1.0)
        self.report({"INFO"}, msg)
        return {"FINISHED"}

    def _fail(self, context, msg, paths=None):
        if paths is not None:
            _status(context).last_image = str(paths.image)
        _set_status(context, busy=False, message="", error=msg, progress=0.0)
        self.report({"ERROR"}, msg)
        return {"CANCELLED"}


def _batch_timer():
    """bpy.app.timers callback: mirror the batch job into the panel; stops itself when the job ends."""
    job = _ACTIVE.get("job")
    context = bpy.context
    if job is None or not isinstance(job, jobs.SubprocessJob):
        return None
    p = job.progress
    eta = jobs.format_eta(p.eta_s)
    if not job.state.finished:
        text = f"Batch {p.done}/{p.total}" + (f", ETA {eta}" if eta else "")
        _set_status(context, message=text, progress=p.fraction)
        return 0.5
    _finish_batch(context, job)
    return None


def _finish_batch(context, job) -> str:
    p = job.progress
    if job.state is jobs.JobState.DONE:
        _set_status(context, busy=False, message=f"Batch finished: {p.done}/{p.total} images", error="", progress=1.0)
    elif job.state is not jobs.JobState.CANCELLED and job.returncode == jobs.EXIT_UNREFINED:
        error = (
            f"Batch rendered {p.done}/{p.total} images, but some were not refined (server down or refusing; "
            "renders kept): run the batch again with the server up to refine only those"
        )
        _set_status(context, busy=False, message="", error=error, progress=1.0)
    elif job.state is jobs.JobState.CANCELLED:
        _set_status(context, busy=False, message=f"Batch cancelled after {p.done}/{p.total} images", progress=0.0)
    else:
        _set_status(context, busy=False, message="", error=f"Batch failed: {job.message}", progress=p.fraction)
    if _ACTIVE.get("job") is job:
        _ACTIVE.pop("job", None)
    return job.state.value


def _batch_config_path(context, out: Path) -> Path:
    s = context.scene.render_refine
    if s.config_source == "FILE" and not s.override_people:
        return Path(bpy.path.abspath(s.config_path))
    if s.config_source == "EXAMPLE" and not s.override_people and examples_dir() is not None:
        path = examples_dir() / f"{s.example}.json"
        if path.is_file():
            return path
    config = _load_config(s)  # overrides applied, validated
    out.mkdir(parents=True, exist_ok=True)
    path = out / "batch_config.json"
    path.write_text(config.dump(), encoding="utf-8")
    return path


def batch_argv(context, count: int) -> tuple[list[str], dict[str, str], Path]:
    s = context.scene.render_refine
    out = output_root(s)
    args = [
        "--config",
        str(_batch_config_path(context, out)),
        "--count",
        str(count),
        "--seed",
        str(s.seed),
        "--out",
        str(out),
        "--resolution",
        str(s.resolution),
        "--samples",
        str(s.samples),
    ]
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    if s.batch_refine:
        cfg = server_settings(context)
        args += ["--refine-url", cfg.server_url]
        if cfg.token:
            # Through the environment, so the token never shows in a process listing.
            env["REFINE_TOKEN"] = cfg.token
    package_dir = Path(__file__).resolve().parent
    extra = [p for p in sys.path if p and os.path.isabs(p) and os.path.isdir(p)]
    # Blender runs the batch with its own binary; bpy from PyPI has none (binary_path is "") and runs it with
    # this Python. The preferences can name another Blender.
    binary = server_settings(context).blender_binary or bpy.app.binary_path or ""
    argv = jobs.batch_command(
        package_dir=package_dir,
        args=args,
        blender_binary=binary or None,
        python_executable=sys.executable,
        extra_sys_path=extra,
    )
    return argv, env, out


class RENDER_REFINE_OT_render_batch(_Guarded, Operator):
    """Render N images with annotations in a background Blender process (the UI stays responsive)"""

    bl_idname = "render_refine.render_batch"
    bl_label = "Render Batch…"
    bl_options = {"REGISTER"}

    count: IntProperty(name="Images", min=1, max=1_000_000, default=10)
    wait: BoolProperty(
        name="Wait", description="Block until the batch ends (scripts)", default=False, options={"HIDDEN", "SKIP_SAVE"}
    )

    def invoke(self, context, event):
        self.count = context.scene.render_refine.batch_count
        return context.window_manager.invoke_props_dialog(self)

    def draw(self, context):
        s = context.scene.render_refine
        layout = self.layout
        layout.prop(self, "count")
        layout.prop(s, "batch_refine")
        layout.label(text=f"Run seed {s.seed}: ids {s.seed:06d}_000000…{self.count - 1:06d} into {output_root(s)}")

    def execute(self, context):
        s = context.scene.render_refine
        s.batch_count = self.count
        try:
            argv, env, out = batch_argv(context, self.count)
            out.mkdir(parents=True, exist_ok=True)
        except Exception as exc:
            msg = f"Render Batch failed to start: {exc}"
            _set_status(context, error=msg, busy=False)
            self.report({"ERROR"}, msg)
            return {"CANCELLED"}
        job = jobs.SubprocessJob(argv, env=env, total=self.count, log_path=out / "batch.log").start()
        _ACTIVE["job"] = job
        _set_status(context, busy=True, kind="batch", message=f"Batch 0/{self.count}", error="", progress=0.0)
        if self.wait or not context.window_manager.windows:
            job.wait()
            state = _finish_batch(context, job)
            level = {"done": "INFO", "cancelled": "WARNING"}.get(state, "ERROR")
            self.report({level}, _status(context).message or _status(context).error)
            return {"FINISHED"} if state == "done" else {"CANCELLED"}
        bpy.app.timers.register(_batch_timer, first_interval=0.5)
        self.report({"INFO"}, f"Batch of {self.count} started (log: {out / 'batch.log'})")
        return {"FINISHED"}


class RENDER_REFINE_OT_cancel_job(Operator):
    """Stop the running batch, or abandon the pending refinement (the synthetic render is kept)"""

    bl_idname = "render_refine.cancel_job"
    bl_label = "Cancel"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return job_running()

    def execute(self, context):
        job = _ACTIVE.get("job")
        if job is None:
            return {"CANCELLED"}
        job.cancel()
        if isinstance(job, jobs.SubprocessJob) and not bpy.app.timers.is_registered(_batch_timer):
            _finish_batch(context, job)
        self.report({"WARNING"}, "Render & Refine job cancelled")
        return {"FINISHED"}


classes = (
    RENDER_REFINE_OT_roll_seed,
    RENDER_REFINE_OT_generate_scene,
    RENDER_REFINE_OT_render_refine,
    RENDER_REFINE_OT_render_batch,
    RENDER_REFINE_OT_cancel_job,
)


def register() -> None:
    for cls in classes:
        bpy.utils.register_class(cls)


def unregister() -> None:
    job = _ACTIVE.pop("job", None)
    if job is not None and not job.state.finished:
        job.cancel()
    if bpy.app.timers.is_registered(_batch_timer):
        bpy.app.timers.unregister(_batch_timer)
    _BUILT.clear()
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
