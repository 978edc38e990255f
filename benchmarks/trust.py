"""Time and memory of a map's trust metrics (``viz_app.trust``) next to the projection's own time.

Goal (issue 12): the metrics cost at most 10% of the projection's time (a UMAP fit after numba's
compile: a 5,000-point fit runs first), and their peak memory stays under 2x the kNN graph's
(no n x n matrix; scikit-learn's ``trustworthiness`` builds one: 15 s and 2.1 GB at 10k
points on this machine). For each size, on the first n GloVe 6B 50-d words: fits the projection
``--repeats`` times (UMAP by default, seed 0), builds the original-space kNN graph once
(:func:`viz_app.map.prepare.knn_graph`: UMAP's own graph when it has one, i.e. from 4,096 points;
the app reuses it, cached), runs the metrics (:func:`viz_app.explore.trust.trust_metrics`)
``--metric-repeats`` times, and prints the medians of both, in CPU seconds (every thread of the
process: UMAP's numba threads included) and wall seconds, with their ratios; then the peak of
Python/numpy allocations of one more metrics run under ``tracemalloc`` (not timed: tracing
doubles numpy's allocation cost), the graph's own size and the figures. With ``--sklearn`` also
times ``sklearn.manifold.trustworthiness`` on the same data (10k at most).

With ``--scores``, instead: the trust figures (T, C, preservation@10, chance) of PCA, t-SNE and
UMAP maps (defaults, seed 0) of the bundled GloVe (10,000 words) and news & reviews (550 texts)
samples, as the app computes them (:func:`viz_app.trust`, the map's own graph).

Run: ``python benchmarks/trust.py [--sizes 10000 100000] [--repeats 3] [--metric-repeats 5]
[--reducer umap] [--sklearn]`` or ``python benchmarks/trust.py --scores``.
Wall times depend on the machine's load (the CPU ratio much less); the load average (as
``uptime`` prints it) is printed before and after each size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

T = TypeVar("T")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--reducer", default="umap")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3, help="projection fits per size (median reported)")
    ap.add_argument("--metric-repeats", type=int, default=5, help="metric runs per size (median reported)")
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
    if args.reducer == "umap":  # numba's compile is not the projection's time
        project(glove(5000), reducer="umap", random_state=1)
    for n in args.sizes:
        es = glove(n)
        load0 = _load()
        fits = [_timed(lambda: project(es, reducer=args.reducer, random_state=0)) for _ in range(args.repeats)]
        proj = fits[-1][0]
        (graph, t_graph, c_graph) = _timed(lambda: knn_graph(es, args.k, projection=proj))  # then cached
        source = graph_source(es, proj)
        trust_metrics(es.vectors[:100], proj.coords[:100], knn_graph(es.subset(range(100)), args.k), k=args.k)
        runs = [
            _timed(lambda: trust_metrics(es.vectors, proj.coords, graph, k=args.k, ids=es.ids, graph_source=source))
            for _ in range(args.metric_repeats)
        ]
        r = runs[-1][0]
        tracemalloc.start()  # a separate run: tracing slows numpy's allocations (2x here), so untimed
        trust_metrics(es.vectors, proj.coords, graph, k=args.k, ids=es.ids, graph_source=source)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        pw, pc = _median(f[1] for f in fits), _median(f[2] for f in fits)
        mw, mc = _median(x[1] for x in runs), _median(x[2] for x in runs)
        print(
            f"n={n:,} {args.reducer}, medians of {args.repeats} fits and {args.metric_repeats} metric runs "
            f"(load {load0} -> {_load()}):\n"
            f"  projection  {pw:7.2f} s wall {pc:7.2f} s CPU   (CPU {_list(f[2] for f in fits)})\n"
            f"  metrics     {mw:7.2f} s wall {mc:7.2f} s CPU   (CPU {_list(x[2] for x in runs)})\n"
            f"  metrics / projection: {mc / pc:.1%} CPU, {mw / pw:.1%} wall (goal <= 10%)\n"
            f"  graph ({r.graph}): {t_graph:.2f} s wall, {c_graph:.2f} s CPU, {graph.nbytes / 2**20:.2f} MiB "
            f"(with it: {(mc + c_graph) / pc:.1%} CPU)\n"
            f"  peak of the metrics' allocations (tracemalloc) {peak / 2**20:.2f} MiB = "
            f"{peak / graph.nbytes:.2f}x the graph (goal <= 2x)\n"
            f"  ranked {r.ranked:,} | T {r.trustworthiness:.4f} C {r.continuity:.4f} "
            f"P@{r.k} {r.preservation:.4f} (chance {r.chance:.5f})",
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


def _timed(f: Callable[[], T]) -> tuple[T, float, float]:
    """``f()``, its wall seconds and its CPU seconds (all the process's threads)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = f()
    return out, time.perf_counter() - t0, time.process_time() - c0


def _median(xs: Iterable[float]) -> float:
    return float(statistics.median(list(xs)))


def _list(xs: Iterable[float]) -> str:
    return " ".join(f"{x:.2f}" for x in xs)


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
