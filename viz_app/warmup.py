"""``python -m viz_app.warmup``: prepare a machine so the app's first map is instant.

1. Compiles umap-learn's numba kernels (kept in numba's on-disk cache where numba can cache
   them; see :func:`warm_up`).
2. Computes the default sample's default projection (GloVe 10k, UMAP 2-D, seed 0) into the
   on-disk projection cache (:mod:`viz_app.store`), which the app reads before computing.

Prints the seconds each step took. Safe to run again: the second run finds both cached.
"""

from __future__ import annotations

import time

import numpy as np

from viz_app.model import ProjectionParams

__all__ = ["warm_up", "main", "DEFAULT_VIEW"]
from viz_app.project import make_params, project_with, transform
from viz_app.samples import DEFAULT_SAMPLE, load_sample
from viz_app.store import ProjectionDiskCache

#: The view a first visitor sees.
DEFAULT_VIEW: ProjectionParams = make_params("umap", n_components=2)


def warm_up() -> float:
    """Compile umap-learn's numba kernels on small inputs, so the first real UMAP is fast.

    Also places two points with ``UMAP.transform`` on each (its first call compiles more
    kernels: 120 s measured under load on a cold numba cache). Covers both of umap-learn's kNN paths: exact for small sets and NN-descent (pynndescent)
    above 4,096 points, with the cosine metric (the app's default) and euclidean for small sets.

    Returns
    -------
    float
        Seconds spent (35-56 s in a fresh process without a numba disk cache; less with one).
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    small = rng.normal(size=(300, 8)).astype(np.float32)  # umap-learn's exact kNN path
    for metric in ("cosine", "euclidean"):
        p = make_params("umap", n_samples=len(small), metric=metric, n_neighbors=10)
        transform(project_with(small, p).model, p, small[:2])  # transform compiles its own kernels
    large = rng.normal(size=(4200, 8)).astype(np.float32)  # above 4,096 points: NN-descent (pynndescent)
    p = make_params("umap", n_samples=len(large), metric="cosine", n_neighbors=10)
    transform(project_with(large, p).model, p, large[:2])
    return time.perf_counter() - t0


def main() -> None:
    """Run both steps and print their timings."""
    t0 = time.perf_counter()
    print(f"numba warm-up (UMAP on 300 points): {warm_up():.1f} s", flush=True)
    es = load_sample(DEFAULT_SAMPLE)
    disk = ProjectionDiskCache()
    if disk.get(es.fingerprint, DEFAULT_VIEW) is None:
        proj = project_with(es.vectors, DEFAULT_VIEW, fingerprint=es.fingerprint)
        disk.put(proj)
        print(f"default map ({es.name}, {DEFAULT_VIEW.describe()}): {proj.elapsed_s:.1f} s", flush=True)
    else:
        print("default map: already cached", flush=True)
    print(f"warm-up done in {time.perf_counter() - t0:.1f} s -> {disk.folder}", flush=True)


if __name__ == "__main__":
    main()
