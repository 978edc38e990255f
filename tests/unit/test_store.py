from __future__ import annotations

import numpy as np

from viz_app import make_params
from viz_app.reduce import Projection
from viz_app.reduce.store import ProjectionDiskCache


def test_round_trip_and_keys(tmp_path):
    cache = ProjectionDiskCache(tmp_path)
    p = make_params("umap", n_neighbors=10)
    proj = Projection(np.arange(8, dtype=np.float32).reshape(4, 2), p, "fp1", {"q": 1.0}, 2.5)
    assert cache.get("fp1", p) is None
    cache.put(proj)
    got = cache.get("fp1", p)
    assert got is not None and np.array_equal(got.coords, proj.coords) and got.params == p
    assert got.quality == {"q": 1.0} and got.elapsed_s == 2.5
    assert cache.get("fp2", p) is None and cache.get("fp1", make_params("umap", n_neighbors=11)) is None


def test_corrupt_or_disabled_cache_is_a_miss(tmp_path):
    cache = ProjectionDiskCache(tmp_path)
    p = make_params("pca")
    stem = tmp_path / cache.key("fp", p)
    stem.with_suffix(".npy").write_bytes(b"garbage")
    stem.with_suffix(".json").write_text("{}")
    assert cache.get("fp", p) is None
    off = ProjectionDiskCache(None)
    off.put(Projection(np.zeros((2, 2)), p, "fp"))
    assert off.get("fp", p) is None
