"""The Dask engine (``--engine dask``, issue 14): embedding throughput on 1 and 2 workers, and
``embedding-lens map`` of all 400k GloVe 6B 50-d words with ``--fit-sample 50000`` (UMAP).

1. Embedding: for each worker count, a fresh ``LocalCluster`` (:class:`DaskEngine`); every worker
   first loads all-MiniLM-L6-v2 (timed: ``load``) by embedding a few texts, then the engine embeds
   ``--texts`` real sentences (gensim's test corpora, as ``benchmarks/bench.py``; never the warm-up
   ones, so no per-worker text cache helps) by partitions: texts/s.
2. Map: what ``embedding-lens map glove.parquet -o map.parquet --reducer umap --fit-sample 50000
   --engine dask --workers 2`` does, the input being the GloVe words as parquet (``label``,
   ``vector``) with row groups of ``--partition-rows``: start a ``LocalCluster`` of ``--workers``
   processes with ``--memory-limit`` each, :func:`~viz_app.data.partitions.plan_partitions`,
   :func:`~viz_app.export.dask_map.map_partitions` (the workers read, fit, place, build the kNN
   graph and write), close the cluster; in this process so that its own peak resident set
   (``VmHWM``, reset before the cluster starts: the client plus the LocalCluster's scheduler) is
   measured. The steps overlap (the kNN tasks run beside the fit), so each is reported from
   ``distributed.get_task_stream``: tasks, worker compute seconds, and its wall span. Each worker's
   peak memory is its process's ``VmHWM``. The output is then reopened with
   :func:`~viz_app.export.mapfile.load_map` and 200 random rows' kNN lists are checked against
   ``knn_indices``' exact search.

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


def _rss_mb() -> float:
    """``VmRSS`` of the calling process, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _write_input(path: Path, n: int, row_group: int) -> None:
    """The first ``n`` GloVe words as parquet (``label``, ``vector``) with row groups of ``row_group``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from viz_app.data.samples import glove_full

    vectors, tokens = glove_full()
    flat = pa.array(np.ascontiguousarray(vectors[:n], dtype=np.float32).reshape(-1))
    table = pa.table({"label": [str(t) for t in tokens[:n]], "vector": pa.FixedSizeListArray.from_arrays(flat, 50)})
    pq.write_table(table, path, row_group_size=row_group, compression="zstd")


def _task_summary(stream: list[dict]) -> dict[str, tuple[int, float, float, float]]:
    """Per task function: (tasks, worker compute seconds, first start, last stop) from
    ``distributed.get_task_stream`` records."""
    out: dict[str, list[float]] = {}
    for rec in stream:
        name = str(rec["key"]).strip("()'\"").split("-")[0]
        for ss in rec.get("startstops", ()):
            if ss["action"] != "compute":
                continue
            t = out.setdefault(name, [0, 0.0, float("inf"), 0.0])
            t[0] += 1
            t[1] += ss["stop"] - ss["start"]
            t[2] = min(t[2], ss["start"])
            t[3] = max(t[3], ss["stop"])
    return {k: (int(v[0]), v[1], v[2], v[3]) for k, v in out.items()}


def map_400k(rows: int, fit_sample: int, workers: int, memory_limit: str, partition_rows: int) -> None:
    import gc

    import numpy as np
    from distributed import get_task_stream

    from viz_app.data.partitions import plan_partitions
    from viz_app.explore.dask_engine import DaskEngine
    from viz_app.explore.neighbors import knn_indices
    from viz_app.export.dask_map import map_partitions
    from viz_app.export.mapfile import load_map
    from viz_app.reduce import use_numba_disk_cache
    from viz_app.reduce.registry import make_params

    use_numba_disk_cache()
    with tempfile.TemporaryDirectory(prefix="dask-map-") as tmp:
        src, out = Path(tmp) / "glove.parquet", Path(tmp) / "map.parquet"
        _write_input(src, rows, partition_rows)
        gc.collect()
        _say(
            f"\n[map] {rows:,} GloVe words ({src.stat().st_size / 2**20:.0f} MB parquet, row groups of "
            f"{partition_rows:,}), UMAP, --fit-sample {fit_sample:,}: what `embedding-lens map glove.parquet "
            f"--engine dask` does (plan_partitions, map_partitions)"
        )
        _say(f"  LocalCluster: {workers} worker processes, 1 thread and {memory_limit} each")
        _say(
            f"  start {time.strftime('%H:%M:%S UTC', time.gmtime())}; /proc/loadavg {Path('/proc/loadavg').read_text().strip()}"
        )
        rss0 = _rss_mb()
        _reset_peak()
        t0 = time.perf_counter()
        with DaskEngine(workers=workers, partition_rows=partition_rows, memory_limit=memory_limit) as eng:
            t_start = time.perf_counter()
            eng.client.run(_reset_peak)
            cpu0 = eng.client.run(_cpu_s)
            layout = plan_partitions(src, partition_rows=partition_rows)
            params = make_params("umap", n_samples=layout.n_samples, fit_sample=fit_sample, random_state=0)
            with get_task_stream(client=eng.client) as ts:
                done = map_partitions(eng, layout, out, params, k=15, dataset_ref=layout.name)
            t_map = time.perf_counter()
            peaks = eng.client.run(_peak_since_reset_mb)
            cpu1 = eng.client.run(_cpu_s)
            stream = ts.data
        t_closed = time.perf_counter()
        client_peak = _peak_since_reset_mb()
        _say(
            f"  end {time.strftime('%H:%M:%S UTC', time.gmtime())}; /proc/loadavg {Path('/proc/loadavg').read_text().strip()}"
        )
        _say(f"  end-to-end {t_closed - t0:.0f} s ({(t_closed - t0) / 60:.1f} min)")
        _say(f"    cluster start {t_start - t0:.1f} s, map {t_map - t_start:.0f} s, close {t_closed - t_map:.1f} s")
        _say(f"  {len(layout.parts)} partitions; worker CPU: " + ", ".join(f"{cpu1[w] - cpu0[w]:.0f} s" for w in cpu1))
        _say("  per step (worker compute seconds summed over tasks; wall span from the first start to the last stop):")
        for name, (count, secs, first, last) in sorted(_task_summary(stream).items(), key=lambda kv: kv[1][2]):
            _say(
                f"    {name:18s} {count:5d} tasks  {secs:8.1f} worker-s  span {first - stream_t0(stream):7.1f} .. "
                f"{last - stream_t0(stream):7.1f} s"
            )
        _say("  worker peak RSS (VmHWM since the cluster started): " + ", ".join(f"{v:.0f} MB" for v in peaks.values()))
        _say(
            f"  this process's peak RSS during the map (the client and the LocalCluster's scheduler): {client_peak:.0f} MB "
            f"(RSS before the cluster started: {rss0:.0f} MB)"
        )
        m = load_map(out)  # now the whole map, after the measurements
        rng = np.random.default_rng(0)
        rows_checked = np.sort(rng.choice(rows, size=min(200, rows), replace=False))
        exact = knn_indices(m.es, rows_checked, k=15, metric="cosine", exact_max_elements=10**12)
        same = int((np.asarray(m.knn)[rows_checked] == exact).all(axis=1).sum())
        _say(f"  graph check: {same} of {len(rows_checked)} random rows have exactly knn_indices' exact list")
        parts = sorted(out.iterdir())
        _say(
            f"  output: {len(parts)} part files, {sum(p.stat().st_size for p in parts) / 2**20:.0f} MB; load_map -> "
            f"coords {m.projection.coords.shape}, knn {m.knn.shape}; placed by transform "
            f"{m.projection.quality.get('placed_by_transform', 0):,.0f}; fingerprint {done['fingerprint'][:12]}"
        )


def stream_t0(stream: list[dict]) -> float:
    """The first task's start time in a task stream."""
    return min(ss["start"] for rec in stream for ss in rec.get("startstops", ()) if ss["action"] == "compute")


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
