"""Benchmark: build + skin + pose one person (median of 20), and peak RSS of a 10-person scene.

    .venv/bin/python bench/humans.py

Prints one JSON line. Targets: <= 0.5 s per person, <= 2 GB peak RSS for 10 people.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bpy

from blender_addon.humans import PersonParams, make_person


def main() -> int:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    t0 = time.perf_counter()
    make_person(PersonParams("standing", (0.0, 0.0), 0.0, instance_id=99, seed=999)).remove()
    first = time.perf_counter() - t0  # includes loading/parsing the assets once per process
    times = []
    for i in range(20):
        posture = "sitting" if i % 4 == 3 else "standing"
        p = PersonParams(posture, (0.0, 0.0), 17.0 * i, 0.45 if posture == "sitting" else None, i + 1, 1000 + i)
        t = time.perf_counter()
        h = make_person(p, frame=1)
        times.append(time.perf_counter() - t)
        h.remove()
    scene = [make_person(PersonParams("standing", (i * 1.0, 0.0), 36.0 * i, None, i + 1, 2000 + i)) for i in range(10)]
    t = time.perf_counter()
    for h in scene:
        h.world_vertices()
    eval_s = (time.perf_counter() - t) / len(scene)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(
        json.dumps(
            {
                "bench": "humans",
                "person_build_skin_pose_s_median": round(statistics.median(times), 4),
                "person_s_max": round(max(times), 4),
                "first_person_incl_asset_load_s": round(first, 3),
                "world_vertices_s": round(eval_s, 4),
                "peak_rss_mb_10_people": round(rss_mb, 1),
                "target_s": 0.5,
                "target_rss_mb": 2048,
                "ok": statistics.median(times) <= 0.5 and rss_mb <= 2048,
                "blender": bpy.app.version_string,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
