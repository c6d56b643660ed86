"""How much of each person the camera sees, by casting the camera's pixel rays (imports bpy).

* :func:`unoccluded_areas`: pixels each person would cover with no occluder (its own BVH only).
* :func:`visible_fractions`: the share of those pixels where the person is the first thing the ray hits among
  furniture, walls and the other people (before rendering).
* :func:`drop_hidden_people`: ``people.min_visible_fraction`` — people seen less than that are removed from
  the scene before it is rendered (so they are neither in the image nor in the annotation) and the rest are
  renumbered 1..K.
"""

from __future__ import annotations

import numpy as np
from mathutils import Vector
from mathutils.bvhtree import BVHTree

MAX_RAYS_PER_PERSON = 20_000


def person_rays(camera, handle, max_rays: int | None = None) -> np.ndarray:
    """Unit directions (N, 3) of the pixel centres inside the person's projected bounding box (a regular
    subsample of at most ``max_rays`` when given)."""
    verts = handle.world_vertices()
    if len(verts) > 4000:
        verts = verts[:: max(1, len(verts) // 4000)]
    px = camera.project(verts)
    px = px[np.isfinite(px).all(axis=1)]
    if len(px) == 0:
        return np.zeros((0, 3))
    c0, r0 = np.floor(px.min(0)).astype(int) - 2
    c1, r1 = np.ceil(px.max(0)).astype(int) + 2
    c0, r0, c1, r1 = max(c0, 0), max(r0, 0), min(c1, camera.width), min(r1, camera.height)
    if c1 <= c0 or r1 <= r0:
        return np.zeros((0, 3))
    cc, rr = np.meshgrid(np.arange(c0, c1) + 0.5, np.arange(r0, r1) + 0.5)
    dirs = camera.unproject(np.stack([cc.ravel(), rr.ravel()], axis=1))
    dirs = dirs[np.isfinite(dirs).all(axis=1)]
    if max_rays is not None and len(dirs) > max_rays:
        dirs = dirs[:: len(dirs) // max_rays + 1]
    return dirs


def own_bvh(built, i: int):
    from .bodies import bvh_of_objects, scene_depsgraph

    bvh = built.person_bvh[i] if i < len(built.person_bvh) else None
    if bvh is None:
        bvh = bvh_of_objects(built.persons[i].objects, scene_depsgraph(built.scene))
        if i < len(built.person_bvh):
            built.person_bvh[i] = bvh
    return bvh


def unoccluded_areas(built) -> list[int]:
    """Pixels each person would cover with no occluder (same pixel-centre sampling as the index pass)."""
    origin = Vector(built.camera.position)
    out = []
    for i, handle in enumerate(built.persons):
        bvh = own_bvh(built, i)
        dirs = person_rays(built.camera, handle) if bvh is not None else np.zeros((0, 3))
        out.append(sum(1 for d in dirs if bvh.ray_cast(origin, Vector(d))[0] is not None))
    return out


def _scene_bvh(built, occluder_objects) -> tuple[BVHTree | None, np.ndarray]:
    """One BVH of the occluders and every person, and the owner of each triangle (0 = not a person)."""
    from .bodies import scene_depsgraph, world_triangles

    dg = scene_depsgraph(built.scene)
    groups = [(0, ob) for ob in occluder_objects] + [
        (k, ob) for k, h in enumerate(built.persons, start=1) for ob in h.objects
    ]
    verts, tris, owners, base = [], [], [], 0
    for owner, ob in groups:
        got = world_triangles(ob, dg)
        if got is None:
            continue
        verts.append(got[0])
        tris.append(got[1] + base)
        owners.append(np.full(len(got[1]), owner, dtype=np.int64))
        base += len(got[0])
    if not tris:
        return None, np.zeros(0, dtype=np.int64)
    bvh = BVHTree.FromPolygons(np.concatenate(verts).tolist(), np.concatenate(tris).tolist(), all_triangles=True)
    return bvh, np.concatenate(owners)


def visible_fractions(built, occluder_objects) -> list[float]:
    """Per person: visible / unoccluded pixel rays, against ``occluder_objects`` and the other people."""
    scene_bvh, owner = _scene_bvh(built, occluder_objects)
    origin = Vector(built.camera.position)
    out = []
    for i, handle in enumerate(built.persons):
        bvh = own_bvh(built, i)
        if bvh is None or scene_bvh is None:
            out.append(0.0)
            continue
        own = seen = 0
        for d in person_rays(built.camera, handle, MAX_RAYS_PER_PERSON):
            v = Vector(d)
            if bvh.ray_cast(origin, v)[0] is None:
                continue
            own += 1
            face = scene_bvh.ray_cast(origin, v)[2]
            seen += face is not None and owner[face] == i + 1
        out.append(seen / own if own else 0.0)
    return out


def drop_hidden_people(built, occluder_objects, min_fraction: float) -> list[dict]:
    """Remove the people seen less than ``min_fraction`` (one pass, all measured with everyone present) and
    renumber the rest; returns what was dropped (recorded in the annotation's ``sampled``)."""
    if min_fraction <= 0 or not built.persons:
        return []
    fractions = visible_fractions(built, occluder_objects)
    keep = [i for i, f in enumerate(fractions) if f >= min_fraction]
    meta = built.person_meta
    dropped = [
        {"position": list(meta[i].position), "posture": meta[i].posture, "visible_fraction": round(fractions[i], 4)}
        for i in range(len(fractions))
        if i not in keep
    ]
    for i in range(len(built.persons)):
        if i not in keep:
            built.persons[i].remove()
    built.persons = [built.persons[i] for i in keep]
    built.person_meta = [built.person_meta[i] for i in keep]
    built.person_bvh = [built.person_bvh[i] if i < len(built.person_bvh) else None for i in keep]
    for k, handle in enumerate(built.persons, start=1):
        handle.instance_id = k
        if isinstance(handle.sampled, dict) and "instance_id" in handle.sampled:
            handle.sampled["instance_id"] = k
        for ob in handle.objects:
            ob.pass_index = k
    return dropped
