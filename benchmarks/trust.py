"""Time and memory of a map's trust metrics (``viz_app.trust``) next to the projection's own time.

Goal (issue 12): the metrics cost at most 10% of the projection's time (a UMAP fit after numba's
compile: a 5,000-point fit runs first), and their peak memory stays under 2x the kNN graph's
(no n x n matrix; scikit-learn's ``trustworthiness`` builds one: 15 s and 2.1 GB at 10k
points on this machine). For each size, on the first n GloVe 6B 50-d words: fits the projection
(UMAP by default, seed 0), then times ``viz_app.trust`` in two parts, the original-space kNN graph
(:func:`viz_app.map.prepare.knn_graph`: UMAP's own graph when it has one, i.e. from 4,096 points)
and the metrics (:func:`viz_app.explore.trust.trust_metrics`), with the peak of Python/numpy
allocations during the metrics (``tracemalloc``), the graph's own size and the figures. With
``--sklearn`` also times ``sklearn.manifold.trustworthiness`` on the same data (10k at most).

With ``--scores``, instead: the trust figures (T, C, preservation@10, chance) of PCA, t-SNE and
UMAP maps (defaults, seed 0) of the bundled GloVe (10,000 words) and news & reviews (550 texts)
samples, as the app computes them (:func:`viz_app.trust`, the map's own graph).

Run: ``python benchmarks/trust.py [--sizes 10000 100000] [--reducer umap] [--sklearn]`` or
``python benchmarks/trust.py --scores``.
Wall times depend on the machine's load; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--reducer", default="umap")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--sklearn", action="store_true", help="also time sklearn.manifold.trustworthiness (<= 10k)")
    ap.add_argument("--scores", action="store_true", help="PCA, t-SNE and UMAP scores on GloVe and news instead")
    args = ap.parse_args()
    if args.scores:
        scores(args.k)
        return

    from viz_app import project
    from viz_app.data.samples import glove
    from viz_app.explore.trust import trust_metrics
    from viz_app.map.prepare import knn_graph
    from viz_app.map.trust import graph_source

    print(f"load average before: {_load()} ({os.cpu_count()} cores)")
    warmed = False
    for n in args.sizes:
        es = glove(n)
        if args.reducer == "umap" and not warmed:  # numba's compile is not the projection's time
            project(glove(5000), reducer="umap", random_state=1)
            warmed = True
        t0, c0 = time.perf_counter(), time.process_time()
        proj = project(es, reducer=args.reducer, random_state=0)
        t_proj, c_proj = time.perf_counter() - t0, time.process_time() - c0
        trust_metrics(es.vectors[:100], proj.coords[:100], knn_graph(es.subset(range(100)), args.k), k=args.k)
        t0 = time.perf_counter()
        graph = knn_graph(es, args.k, projection=proj)
        t_graph = time.perf_counter() - t0
        tracemalloc.start()
        t0, c0 = time.perf_counter(), time.process_time()
        r = trust_metrics(es.vectors, proj.coords, graph, k=args.k, ids=es.ids, graph_source=graph_source(es, proj))
        t_metrics, c_metrics = time.perf_counter() - t0, time.process_time() - c0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"n={n:,} {args.reducer}: projection {t_proj:.1f} s ({c_proj:.1f} s CPU) | graph ({r.graph}) {t_graph:.2f} s, "
            f"{graph.nbytes / 2**20:.1f} MiB | metrics {t_metrics:.2f} s ({c_metrics:.2f} s CPU) "
            f"({(t_graph + t_metrics) / t_proj:.1%} of the projection with the graph, "
            f"{t_metrics / t_proj:.1%} without), peak {peak / 2**20:.2f} MiB = {peak / graph.nbytes:.2f}x the graph | "
            f"ranked {r.ranked:,} | "
            f"T {r.trustworthiness:.4f} C {r.continuity:.4f} P@{r.k} {r.preservation:.4f} (chance {r.chance:.5f})"
            f" | load {_load()}",
            flush=True,
        )
        if args.sklearn and n <= 10_000:
            from sklearn.manifold import trustworthiness

            tracemalloc.start()
            t0 = time.perf_counter()
            t = trustworthiness(es.vectors, proj.coords, n_neighbors=args.k, metric="cosine")
            wall = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"  sklearn.manifold.trustworthiness: {wall:.1f} s, peak {peak / 2**20:.0f} MiB, T {t:.4f}")
    print(f"load average after: {_load()}")


def scores(k: int) -> None:
    """Print T, C and preservation@k of the three reducers' maps of two bundled samples."""
    from viz_app import project, trust
    from viz_app.data.samples import load_sample

    print(f"load average before: {_load()} ({os.cpu_count()} cores)")
    for key in ("glove", "news-reviews"):
        es = load_sample(key)
        for reducer in ("pca", "tsne", "umap"):
            t0 = time.perf_counter()
            proj = project(es, reducer=reducer, random_state=0)
            t_proj = time.perf_counter() - t0
            r = trust(es, proj, k=k)
            print(
                f"{key} ({es.n_samples:,}) {reducer}: T {r.trustworthiness:.3f} C {r.continuity:.3f} "
                f"P@{r.k} {r.preservation:.3f} (chance {r.chance:.4f}; ranked {r.ranked:,}"
                f"{f', +-{r.stderr:.3f}' if r.sampled else ''}) | projection {t_proj:.1f} s, "
                f"metrics {r.elapsed_s:.2f} s | load {_load()}",
                flush=True,
            )


if __name__ == "__main__":
    main()
