"""Time ``viz_app.compare`` on the bundled 10,000-word pair (GloVe 50-d vs MiniLM 384-d).

Target (issue 16): comparing 10k items takes under 5 s, beyond the two projections. Prints, per
run, the wall and CPU seconds of a cold comparison (empty kNN-graph cache) and of its stages,
then a warm one (graphs reused, e.g. after changing k downwards), and the alignment of two
linked maps given their projections (PCA here; the projections themselves are not timed).
CPU seconds are the process's (both cores), less sensitive than wall time to other jobs on the
machine; the load average is printed before and after.

Run: ``python benchmarks/compare.py [--runs 3] [--pair glove-vs-minilm]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pair", default="glove-vs-minilm")
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()

    from viz_app import compare, load_pair, project
    from viz_app.explore import compare as cmp_mod
    from viz_app.explore.matching import match
    from viz_app.explore.similarity import linear_cka
    from viz_app.map.compare import linked_maps

    print(f"load average before: {_load()} ({os.cpu_count()} cores)")
    (a, b), w, _ = _timed(lambda: load_pair(args.pair))
    print(f"pair {args.pair}: A {a.vectors.shape}, B {b.vectors.shape}; loaded in {w:.1f} s (vector cache)")
    for run in range(1, args.runs + 1):
        cmp_mod._graphs.clear()
        m, w_match, _ = _timed(lambda: match(a, b))
        _, w_ka, c_ka = _timed(lambda: cmp_mod.knn_graph(a, m.rows_a, k=args.k))
        _, w_kb, c_kb = _timed(lambda: cmp_mod.knn_graph(b, m.rows_b, k=args.k))
        _, w_cka, _ = _timed(lambda: linear_cka(a.vectors, b.vectors))
        cmp_mod._graphs.clear()
        c, wall, cpu = _timed(lambda: compare(a, b, k=args.k))
        print(
            f"run {run}: cold compare {wall:.2f} s wall, {cpu:.2f} s CPU "
            f"(stages alone: match {w_match:.2f} s, kNN A {w_ka:.2f} s / {c_ka:.2f} CPU, "
            f"kNN B {w_kb:.2f} s / {c_kb:.2f} CPU, CKA {w_cka:.2f} s); load {_load()}"
        )
    _, wall, cpu = _timed(lambda: compare(a, b, k=max(1, args.k // 2)))
    print(f"warm compare at k={max(1, args.k // 2)} (graphs reused): {wall:.2f} s wall, {cpu:.2f} s CPU")
    s = c.summary
    print(f"mean Jaccard@{args.k} {s['mean_jaccard']:.4f} (chance {s['chance_jaccard']:.5f}), CKA {s['cka']:.4f}")
    pa, pb = project(a, reducer="pca"), project(b, reducer="pca")
    maps, wall, _ = _timed(lambda: linked_maps(c, pa, pb))
    print(f"linked maps from two PCA projections: {wall * 1000:.0f} ms; 2-D disparity {maps.disparity:.3f}")
    rss = [ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith("VmHWM")]
    print(f"peak RSS: {int(rss[0].split()[1]) / 1024:.0f} MiB" if rss else "")
    print(f"load average after: {_load()}")
    assert np.isfinite(s["cka"])


if __name__ == "__main__":
    main()
