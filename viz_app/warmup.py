"""``python -m viz_app.warmup``: prepare a machine so the app's first map is instant.

1. Compiles umap-learn's numba kernels (kept in numba's on-disk cache where numba can cache
   them; see :func:`viz_app.reduce.project.warm_up`).
2. Computes the default sample's default projection (GloVe 10k, UMAP 2-D, seed 0) into the
   on-disk projection cache (:mod:`viz_app.reduce.store`), which the app reads before computing.
3. Computes the vectors of the bundled comparison pairs (:data:`viz_app.data.samples.PAIRS`: the
   10,000 GloVe words and the news & reviews texts embedded with all-MiniLM-L6-v2, the texts as
   TF-IDF + LSA) into the on-disk vector cache (:mod:`viz_app.data.vector_cache`), and both sets'
   default maps (the Compare page's first view) into the projection cache.
4. Trains the MovieLens recommender (the "MovieLens (learned item embeddings)" sample) and its two
   evaluation models into the on-disk model cache (:class:`viz_app.embed.rating_store.RatingModelStore`).

Prints the seconds each step took. Safe to run again: the second run finds everything cached.
"""

from __future__ import annotations

import time

from viz_app.data.ratings import load_movielens
from viz_app.data.samples import DEFAULT_SAMPLE, PAIRS, load_pair, load_sample
from viz_app.data.vector_cache import vector_cache_dir
from viz_app.explore.recommend import train_recommender
from viz_app.reduce import warm_up
from viz_app.reduce.project import DEFAULT_VIEW, project_with
from viz_app.reduce.store import ProjectionDiskCache

__all__ = ["DEFAULT_VIEW", "main"]


def main() -> None:
    """Run the steps and print their timings."""
    t0 = time.perf_counter()
    print(f"numba warm-up (UMAP kernels of every kNN path, cached on disk): {warm_up():.1f} s", flush=True)
    es = load_sample(DEFAULT_SAMPLE)
    disk = ProjectionDiskCache()
    if disk.get(es.fingerprint, DEFAULT_VIEW) is None:
        proj = project_with(es.vectors, DEFAULT_VIEW, fingerprint=es.fingerprint)
        disk.put(proj)
        print(f"default map ({es.name}, {DEFAULT_VIEW.describe()}): {proj.elapsed_s:.1f} s", flush=True)
    else:
        print("default map: already cached", flush=True)
    for key in PAIRS:
        t = time.perf_counter()
        for side in load_pair(key):
            if disk.get(side.fingerprint, DEFAULT_VIEW) is None:
                disk.put(project_with(side.vectors, DEFAULT_VIEW, fingerprint=side.fingerprint))
        print(f"comparison pair {key} and its maps: {time.perf_counter() - t:.1f} s", flush=True)
    print(f"MovieLens recommender (1 fit + 2 evaluation fits): {movielens():.1f} s", flush=True)
    print(f"warm-up done in {time.perf_counter() - t0:.1f} s -> {disk.folder}, {vector_cache_dir()}", flush=True)


def movielens() -> float:
    """Train (or read from disk) the MovieLens recommender and its evaluation models; seconds taken."""
    t0 = time.perf_counter()
    train_recommender(load_movielens()).evaluate()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
