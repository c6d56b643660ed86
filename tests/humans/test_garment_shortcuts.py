"""The fast paths of garment building give exactly what the plain computations give."""

from __future__ import annotations

import numpy as np
import pytest

from blender_addon.core import garments, mhdata


def test_nearest_is_the_brute_force_argmin_ties_included():
    rng = np.random.default_rng(3)
    coords = np.round(rng.uniform(-0.3, 0.3, (900, 3)), 2)  # a coarse grid: many exact ties
    points = np.round(rng.uniform(-0.5, 0.5, (170, 3)), 2)
    brute = np.argmin(((points[:, None, :] - coords[None, :, :]) ** 2).sum(-1), axis=1)
    assert np.array_equal(garments.nearest(points, coords), brute)
    assert np.array_equal(
        garments.nearest(points + 5.0, coords),
        np.argmin(((points[:, None, :] + 5.0 - coords[None, :, :]) ** 2).sum(-1), axis=1),
    )


def _plain_edges_and_rim(quads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    e = np.stack([quads, np.roll(quads, -1, axis=1)], axis=-1).reshape(-1, 2).astype(np.int64)
    key = np.minimum(e[:, 0], e[:, 1]) * (int(e.max(initial=0)) + 1) + np.maximum(e[:, 0], e[:, 1])
    _, first, inv, cnt = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    return e[first], e[cnt[inv.ravel()] == 1]


@pytest.mark.parametrize("seed", [0, 1])
def test_subset_edges_match_sorting_the_subset(seed):
    quads = mhdata.base_mesh().face_verts.reshape(-1, 4)
    topo = garments.quad_topology(quads)
    covered = np.random.default_rng(seed).random(len(quads)) < 0.3
    covered[: len(quads) // 3] = True  # a large connected block plus scattered quads
    edges, rim = garments._subset_edges(topo, covered)
    sel = quads[covered]
    used = np.unique(sel)
    remap = np.full(quads.max() + 1, -1)
    remap[used] = np.arange(len(used))
    plain_edges, plain_rim = _plain_edges_and_rim(remap[sel])
    assert np.array_equal(remap[edges], plain_edges)
    assert np.array_equal(remap[rim], plain_rim)
