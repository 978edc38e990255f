"""The Dask engine (``--engine dask``, issue 14): embedding throughput on 1 and 2 workers, and
``embedding-lens map`` of all 400k GloVe 6B 50-d words with ``--fit-sample 50000`` (UMAP).

1. Embedding: for each worker count, a fresh ``LocalCluster`` (:class:`DaskEngine`); every worker
   first loads all-MiniLM-L6-v2 (timed: ``load``) by embedding a few texts, then the engine embeds
   ``--texts`` real sentences (gensim's test corpora, as ``benchmarks/bench.py``; never the warm-up
   ones, so no per-worker text cache helps) by partitions: texts/s.
2. Map: what ``embedding-lens map glove400k.npz -o map.parquet --reducer umap --fit-sample 50000
   --engine dask --workers 2`` does (start a ``LocalCluster`` of ``--workers`` processes with
   ``--memory-limit`` each, :func:`viz_app.load`, :func:`~viz_app.export.mapfile.build_map`,
   :func:`~viz_app.export.mapfile.write_map` as part files, close the cluster), in this process so
   each phase is timed from the progress reports: the fit task, placing the rest with
   ``transform``, the kNN graph by blocks, trust and writing. Each worker's peak memory is its
   process's peak resident set (``VmHWM``), read through the cluster at the end of each phase and
   then reset (the fit, placing points, the kNN graph); this process's own peak is the client's. The output is reopened with
   :func:`~viz_app.export.mapfile.load_map`.

Run: ``python benchmarks/dask_map.py [--texts 2000] [--rows 400000] [--fit-sample 50000]``;
``--skip-embed``/``--skip-map`` run one part. Wall times depend on the machine's load; the load
average is printed before and after each part. Temporary files go into a temporary folder that
is deleted at the end. Nothing is downloaded (MiniLM and GloVe come from installed packages).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _say(*parts: object) -> None:
    print(*parts, flush=True)


def _peak_rss_mb() -> float:
    """Peak resident set of the calling process, MB (Linux ``ru_maxrss`` is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> bool:
    """Reset the calling process's peak resident set (Linux: ``5`` into ``/proc/self/clear_refs``
    resets ``VmHWM``); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_since_reset_mb() -> float:
    """``VmHWM`` of the calling process (its peak resident set since the last reset), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s() -> float:
    """CPU seconds (user + system) the calling process has used so far."""
    t = os.times()
    return t.user + t.system


def embed_throughput(n_texts: int, workers: int) -> None:
    from bench import real_sentences

    from viz_app.explore.dask_engine import DaskEngine

    sents, _ = real_sentences()
    warm, texts = sents[: 8 * workers], sents[8 * workers : 8 * workers + n_texts]
    _say(f"\n[embed] {workers} worker(s), {len(texts):,} sentences; load average {_load()}")
    t0 = time.perf_counter()
    with DaskEngine(workers=workers, partition_rows=max(100, -(-len(texts) // (4 * workers)))) as eng:
        started = time.perf_counter() - t0
        t1 = time.perf_counter()
        eng.embed(warm)  # 4 partitions per worker: every worker loads the model
        loaded = time.perf_counter() - t1
        cpu0 = eng.client.run(_cpu_s)
        t2 = time.perf_counter()
        vecs = eng.embed(texts)
        took = time.perf_counter() - t2
        cpu1 = eng.client.run(_cpu_s)
        peaks = eng.client.run(_peak_rss_mb)
    cpu = sum(cpu1[w] - cpu0[w] for w in cpu0)
    _say(f"  cluster start {started:.1f} s; model load on every worker (with {len(warm)} texts) {loaded:.1f} s")
    _say(
        f"  embedded {len(texts):,} texts -> {vecs.shape} in {took:.1f} s: {len(texts) / took:.1f} texts/s "
        f"({len(texts) / took / workers:.1f} per worker); worker peak RSS "
        + ", ".join(f"{v:.0f} MB" for v in peaks.values())
    )
    _say(
        f"  workers' CPU time for them {cpu:.0f} s: {len(texts) / cpu:.1f} texts per CPU-second "
        f"(what one worker on a core of its own would do; the wall rate above is what this load left)"
    )
    _say(f"  load average after: {_load()}")


def map_400k(rows: int, fit_sample: int, workers: int, memory_limit: str, partition_rows: int) -> None:
    import numpy as np

    import viz_app
    from viz_app.data.samples import glove_full
    from viz_app.explore.dask_engine import DaskEngine
    from viz_app.explore.neighbors import knn_indices
    from viz_app.export.mapfile import build_map, load_map, write_map
    from viz_app.reduce import use_numba_disk_cache
    from viz_app.reduce.registry import make_params

    use_numba_disk_cache()
    vectors, tokens = glove_full()
    n = min(rows, len(vectors))
    seen: list[tuple[float, str]] = []
    phases = {"sending the fitted model": "fit", "kNN graph (k=": "place", "trust": "kNN graph"}
    phase_peaks: dict[str, dict[str, float]] = {}
    phase_cpu: dict[str, float] = {}  # workers' CPU seconds per phase, summed
    last_cpu: dict[str, float] = {}
    box: dict[str, DaskEngine] = {}

    def record(fraction: float, text: str, /) -> None:
        seen.append((time.perf_counter(), text))
        for prefix, phase in phases.items():  # each worker's peak RSS per phase (VmHWM, reset after)
            if text.startswith(prefix) and phase not in phase_peaks:
                phase_peaks[phase] = box["eng"].client.run(_peak_since_reset_mb)
                box["eng"].client.run(_reset_peak)
                cpu_now = box["eng"].client.run(_cpu_s)
                phase_cpu[phase] = sum(cpu_now[w] - last_cpu.get(w, 0.0) for w in cpu_now)
                last_cpu.update(cpu_now)

    def first(prefix: str) -> float:
        return next(t for t, text in seen if text.startswith(prefix))

    with tempfile.TemporaryDirectory(prefix="dask-map-") as tmp:
        src = Path(tmp) / f"glove{n}.npz"
        np.savez(src, vectors=np.asarray(vectors[:n], dtype=np.float32), labels=np.asarray(tokens[:n], dtype=str))
        out = Path(tmp) / "map.parquet"
        _say(f"\n[map] {n:,} GloVe words ({src.stat().st_size / 2**20:.0f} MB .npz), UMAP, --fit-sample {fit_sample:,}")
        _say(f"  LocalCluster: {workers} worker processes, 1 thread and {memory_limit} each; load average {_load()}")
        t0 = time.perf_counter()
        with DaskEngine(workers=workers, partition_rows=partition_rows, memory_limit=memory_limit) as eng:
            t_start = time.perf_counter()
            box["eng"] = eng
            eng.client.run(_reset_peak)
            last_cpu.update(eng.client.run(_cpu_s))
            es = viz_app.load(src)  # what `embedding-lens map` does: read, build_map, write_map
            t_read = time.perf_counter()
            params = make_params("umap", n_samples=es.n_samples, fit_sample=fit_sample, random_state=0)
            m = build_map(es, params, k=15, engine=eng, progress=record, dataset_ref=es.name)
            t_map = time.perf_counter()
            write_map(m, out, rows_per_part=partition_rows)
            t_write = time.perf_counter()
            peaks = eng.client.run(_peak_since_reset_mb)  # since the kNN step
            cpu = eng.client.run(_cpu_s)
        t_closed = time.perf_counter()
        fit_end, place_end = first("sending the fitted model"), first("kNN graph (k=")
        knn_end = first("trust")
        _say(f"  end-to-end {t_closed - t0:.0f} s ({(t_closed - t0) / 60:.1f} min); load average after: {_load()}")
        _say(f"    cluster start {t_start - t0:.1f} s, read {t_read - t_start:.1f} s")
        _say(f"    fit UMAP on {fit_sample:,} sampled points (one task) {fit_end - t_read:.0f} s")
        placed = m.projection.quality.get("placed_by_transform", 0)
        _say(
            f"    place {placed:,} points with transform (model broadcast + tasks) {place_end - fit_end:.0f} s "
            f"= {placed / (place_end - fit_end):.0f} points/s"
        )
        _say(
            f"    kNN graph k=15 by blocks of {partition_rows:,} rows at most "
            f"{knn_end - place_end:.0f} s = {n / (knn_end - place_end):.0f} rows/s"
        )
        _say(f"    trustworthiness + settings {t_map - knn_end:.1f} s, write part files {t_write - t_map:.1f} s")
        _say(f"    close the cluster {t_closed - t_write:.1f} s")
        overall = {w: max([peaks[w]] + [by[w] for by in phase_peaks.values() if w in by]) for w in peaks}
        _say(
            "  worker peak RSS (the highest of the phases below): " + ", ".join(f"{v:.0f} MB" for v in overall.values())
        )
        for phase, by_worker in phase_peaks.items():
            _say(
                f"    during {phase}: "
                + ", ".join(f"{v:.0f} MB" for v in by_worker.values())
                + f"; workers' CPU {phase_cpu[phase]:.0f} s"
            )
        _say("  worker CPU time: " + ", ".join(f"{v:.0f} s" for v in cpu.values()))
        _say(f"  this process's peak RSS (the client: all {n:,} vectors, results): {_peak_rss_mb():.0f} MB")
        rng = np.random.default_rng(0)
        rows_checked = np.sort(rng.choice(n, size=min(200, n), replace=False))
        exact = knn_indices(es, rows_checked, k=15, metric="cosine", exact_max_elements=10**12)
        same = int((np.asarray(m.knn)[rows_checked] == exact).all(axis=1).sum())
        recall = float(np.mean([len(set(a) & set(b)) / 15 for a, b in zip(np.asarray(m.knn)[rows_checked], exact)]))
        _say(
            f"  graph check: {same} of {len(rows_checked)} random rows have exactly knn_indices' exact list "
            f"(recall@15 {recall:.4f})"
        )
        parts = sorted(out.iterdir())
        t1 = time.perf_counter()
        again = load_map(out)
        _say(
            f"  output: {len(parts)} part files, {sum(p.stat().st_size for p in parts) / 2**20:.0f} MB; "
            f"load_map {time.perf_counter() - t1:.1f} s -> coords {again.projection.coords.shape}, "
            f"knn {again.knn.shape}; trustworthiness {m.info['trust'].get('trustworthiness', float('nan')):.3f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=2_000, help="sentences to embed per worker count")
    ap.add_argument("--rows", type=int, default=400_000, help="GloVe words to map (all: 400,000)")
    ap.add_argument("--fit-sample", type=int, default=50_000)
    ap.add_argument("--workers", type=int, default=2, help="workers of the map run")
    ap.add_argument("--memory-limit", default="4GiB", help="per worker of the map run")
    ap.add_argument("--partition-rows", type=int, default=20_000)
    ap.add_argument("--skip-embed", action="store_true")
    ap.add_argument("--skip-map", action="store_true")
    args = ap.parse_args()
    _say(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {os.cpu_count()} CPUs; load average {_load()}")
    if not args.skip_embed:
        for w in (1, 2):
            embed_throughput(args.texts, w)
    if not args.skip_map:
        map_400k(args.rows, args.fit_sample, args.workers, args.memory_limit, args.partition_rows)


if __name__ == "__main__":
    main()
