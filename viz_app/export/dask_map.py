"""A map file computed by partitions on a Dask cluster (``embedding-lens map --engine dask``):
no process ever holds the whole set.

The workers read the input by partitions themselves (:mod:`viz_app.data.partitions`: parquet row
groups through pyarrow, a ``.npy`` through numpy's memory map), each task only the rows it needs.
Other inputs (CSV, ``.npz``, texts) are staged first as part files (texts embedded into them by
the workers, :meth:`~viz_app.explore.dask_engine.DaskEngine.embed_to_parts`).

Steps (:func:`map_partitions`; tasks are functions of this module, run on the workers):

1. the fit: the seeded sample :func:`~viz_app.reduce.budget.sample_fit_rows` is taken from each
   partition by one task per partition and fitted in one task (the rows of the single-process
   path, in the same order, so the same model); without a fit sample (at most
   :data:`~viz_app.explore.dask_engine.FIT_ALL_MAX_POINTS` points) one task fits every point
   with :func:`~viz_app.reduce.project.project_with` and, when the map's own UMAP graph is the
   graph the local engine would use, takes the kNN graph from it;
2. the other rows are placed with the fitted reducer's ``transform``, one task per chunk of
   :func:`~viz_app.reduce.project.transform_chunks` (the very chunks of the single-process path:
   umap-learn's ``transform`` depends on its batch), each reading its rows from the partitions
   it spans;
3. the kNN graph, exact, by blocks: the partitions are the blocks; task ``(i, j)`` reads
   partitions ``i`` and ``j`` and finds the candidates (``_knn_pair`` of the Dask engine), a tree
   of merge tasks keeps the best ``k`` per row (:meth:`DaskEngine.merge_tree`);
4. meanwhile this process computes the set's fingerprint (SHA-256 of the vectors, the
   :func:`~viz_app.data.model.fingerprint_vectors` of the whole set) by reading the partitions
   one after the other (:func:`~viz_app.data.model.fingerprint_blocks`);
5. each partition's writer task reads its rows again, gathers its coordinates (from the fit and
   the transform chunks) and its kNN rows, and writes its part file (``id``, ``label``,
   metadata, ``vector``, coordinates, ``knn``, ``knn_distance``) with the map description and
   the settings record in the parquet key-value metadata of every part
   (:func:`~viz_app.export.mapfile.map_table`).

This process receives only small things: row counts, the fit's quality figures and each
writer's row count; it holds the sample's row numbers and, while hashing, one partition. A
worker holds at most two partitions per kNN task, a transform chunk's partitions (a chunk is at
most :data:`~viz_app.reduce.project.TRANSFORM_CHUNK_ROWS` rows), or the fit sample; between
tasks it keeps the transform outputs (``chunk x n_components`` float32) and the merged kNN
lists (``rows x k``: int64, float64, float32) until the partition's writer ran. Nothing else of
the set stays on the workers. Trust metrics and clusters need every point in one process and are
not computed here (the CLI refuses ``--clusters`` with ``--engine dask``).

The workers must reach the input and the output folder under the same paths (this machine for
a ``LocalCluster``; shared storage for a remote cluster).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from viz_app.data.io import part_name
from viz_app.data.model import EmbeddingSet, fingerprint_blocks
from viz_app.data.partitions import Layout, Part, read_part
from viz_app.data.readers.common import ReadOptions
from viz_app.data.readers.mapfile import COORD_COLUMNS
from viz_app.errors import DataFormatError, ParameterError
from viz_app.explore.ann import check_metric
from viz_app.explore.dask_engine import DaskEngine, _fit_part, _knn_pair, _worker_setup, check_fit_all
from viz_app.explore.engine import LocalEngine
from viz_app.explore.graph import graph_method
from viz_app.export.mapfile import MAP_VERSION, map_key_value, map_table, part_folder
from viz_app.export.settings import settings_record
from viz_app.progress import Progress, null_progress, scaled
from viz_app.reduce.budget import check_points, sample_fit_rows
from viz_app.reduce.project import project_with, transform, transform_chunk_rows
from viz_app.reduce.registry import ProjectionParams

__all__ = ["map_partitions"]


# ---- worker side ----------------------------------------------------------------------------------


def _vectors(part: Part, options: ReadOptions, file: str) -> NDArray[np.float32]:
    _worker_setup()
    return read_part(part, options, file=file)[0]


def _take_rows(part: Part, options: ReadOptions, file: str, local: NDArray[np.intp]) -> NDArray[np.float32]:
    """Rows ``local`` (positions in the partition) of one partition: its share of the fit sample."""
    return _vectors(part, options, file)[local]


def _fit_rows(p: ProjectionParams, *pieces: NDArray[np.float32]) -> Any:
    """The reducer fitted on the sample, whose rows come in order in ``pieces``."""
    return _fit_part(np.concatenate(pieces), p)


def _fit_all(
    p: ProjectionParams, k: int, metric: str, *pieces: NDArray[np.float32]
) -> tuple[Any, tuple[NDArray[np.int32], NDArray[np.float32]] | None]:
    """Every point fitted (``project_with``, as the local engine) and, when the local engine would
    take the map's own UMAP graph, that graph; else None (the graph is then built by blocks)."""
    _worker_setup()
    es = EmbeddingSet(np.concatenate(pieces))
    proj = project_with(es.vectors, p, fingerprint=es.fingerprint)
    graph = None
    if graph_method(es, k, metric=metric, projection=proj) == "umap":
        graph = LocalEngine().knn(es, k=k, metric=metric, projection=proj, random_state=p.random_state)
    return proj, graph


def _fit_coords(fit: Any) -> NDArray[np.float32]:
    return np.asarray(fit[0].coords if isinstance(fit, tuple) else fit.coords, dtype=np.float32)


def _fit_quality(fit: Any) -> tuple[dict[str, float], bool]:
    """The fit's quality figures and whether it carries the kNN graph (small: sent to the client)."""
    if isinstance(fit, tuple):
        return {key: float(v) for key, v in fit[0].quality.items()}, fit[1] is not None
    return {key: float(v) for key, v in fit.quality.items()}, False


def _graph_rows(fit: Any, a: int, b: int) -> tuple[NDArray[np.int64], None, NDArray[np.float32]]:
    idx, dist = fit[1]
    return np.asarray(idx[a:b], dtype=np.int64), None, np.asarray(dist[a:b], dtype=np.float32)


def _chunk_rows(r0: int, r1: int, sample_in: NDArray[np.intp]) -> NDArray[np.intp]:
    """Rows ``r0..r1`` that are not in the fit sample: one transform chunk."""
    return np.setdiff1d(np.arange(r0, r1 + 1), sample_in)


def _transform_chunk(
    fit: Any,
    p: ProjectionParams,
    r0: int,
    r1: int,
    sample_in: NDArray[np.intp],
    options: ReadOptions,
    file: str,
    parts: list[Part],
) -> NDArray[np.float32]:
    """One chunk of :func:`~viz_app.reduce.project.transform_chunks` placed with ``transform``, its
    rows read from the partitions ``parts`` it spans. Shape ``(rows, n_components)`` float32."""
    rows = _chunk_rows(r0, r1, sample_in)
    x = np.concatenate(
        [_vectors(q, options, file)[rows[(rows >= q.start) & (rows < q.start + q.n)] - q.start] for q in parts]
    )
    return transform(fit.model, p, x)


def _knn_pair_parts(
    pi: Part, pj: Part, options: ReadOptions, file: str, k: int, metric: str
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float32]]:
    """Candidates of partition ``pi``'s rows among partition ``pj``'s (``_knn_pair``)."""
    same = pi == pj
    xi = _vectors(pi, options, file)
    return _knn_pair(xi, xi if same else _vectors(pj, options, file), pj.start, same, k, metric)


def _write_part(
    part: Part,
    options: ReadOptions,
    file: str,
    path: str,
    key_value: dict[bytes, bytes],
    n_components: int,
    sample_local: NDArray[np.intp],
    sample_at: tuple[int, int],
    chunk_spans: list[tuple[int, int, NDArray[np.intp]]],
    sample_coords: NDArray[np.float32],
    knn: tuple[NDArray[np.int64], Any, NDArray[np.float32]],
    *chunk_coords: NDArray[np.float32],
) -> int:
    """Write one partition's part file of the map; returns its row count."""
    import pyarrow.parquet as pq

    _worker_setup()
    vectors, labels, meta = read_part(part, options, file=file)
    coords = np.full((part.n, n_components), np.nan, np.float32)
    coords[sample_local] = sample_coords[sample_at[0] : sample_at[1]]
    for (r0, r1, sample_in), xy in zip(chunk_spans, chunk_coords):
        rows = _chunk_rows(r0, r1, sample_in)
        inside = (rows >= part.start) & (rows < part.start + part.n)
        coords[rows[inside] - part.start] = xy[inside]
    if not np.isfinite(coords).all():  # every row is either sampled or in a chunk
        raise RuntimeError(f"rows of partition {part.start}.. were not placed")
    ids = np.array([str(part.start + i) for i in range(part.n)], dtype=object)
    es = EmbeddingSet(vectors, ids=ids, labels=np.asarray(labels, dtype=object), metadata=meta, name=file)
    table = map_table(es, coords, knn=knn[0], knn_distance=knn[2], key_value=key_value)
    pq.write_table(table, path, compression="zstd")
    return part.n


# ---- client side ----------------------------------------------------------------------------------


def _check(layout: Layout, p: ProjectionParams, k: int, metric: str) -> NDArray[np.intp]:
    """The fit rows (all rows without a fit sample); every refusal before anything is sent."""
    n = layout.n_samples
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n - 1:
        raise ParameterError(f"k={k!r} not in 1..{n - 1}")
    check_metric(metric)
    if p.fit_sample is None or p.fit_sample >= n:
        check_fit_all(p.spec.display, p.reducer, n)
        return np.arange(n)
    rows = sample_fit_rows(n, p.fit_sample, p.random_state)
    check_points(p.reducer, len(rows))
    return rows


def _chunk_spans(n: int, rows: NDArray[np.intp]) -> list[tuple[int, int, NDArray[np.intp]]]:
    """The transform chunks as ``(first row, last row, sample rows between)``: the chunks of
    :func:`~viz_app.reduce.project.transform_chunks` of the rows not in ``rows``, found without
    listing those rows (the ``t``-th of them is ``t`` plus the sampled rows up to it)."""
    m = n - len(rows)
    if m == 0:
        return []
    step = transform_chunk_rows(m)
    gaps = rows - np.arange(len(rows))  # rows not sampled before each sampled row (non-decreasing)

    def rest_at(t: int) -> int:
        return int(t + np.searchsorted(gaps, t, side="right"))

    spans = []
    for t0 in range(0, m, step):
        r0, r1 = rest_at(t0), rest_at(min(m, t0 + step) - 1)
        spans.append((r0, r1, rows[np.searchsorted(rows, r0) : np.searchsorted(rows, r1, side="right")]))
    return spans


def map_partitions(
    engine: DaskEngine,
    layout: Layout,
    out: str | Path,
    params: ProjectionParams,
    *,
    k: int = 15,
    dataset_ref: Any = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Compute the map of ``layout`` on ``engine``'s workers and let them write it to ``out`` as a
    folder of part files (one per partition, :func:`~viz_app.data.io.part_name`), which
    :func:`viz_app.load`, :func:`~viz_app.export.mapfile.load_map`, the app and the CLI open as
    one map file. Steps and memory: module docstring.

    Parameters
    ----------
    engine : DaskEngine
    layout : Layout
        From :func:`plan_partitions`.
    out : path
        The output folder (replaced when it holds only part files; never half-written).
    params : ProjectionParams
        ``fit_sample`` is needed above :data:`~viz_app.explore.dask_engine.FIT_ALL_MAX_POINTS`.
    k : int, default=15
        Neighbours per row of the exact kNN graph (cosine, or euclidean for a euclidean map).

    Returns
    -------
    dict
        ``n_samples``, ``n_features``, ``parts`` (files written), ``info`` (the map description
        written in every part), ``fingerprint`` and ``seconds`` (wall).

    Raises
    ------
    ParameterError, PointBudgetError
        Bad ``k``/metric, a full fit above the limit, a reducer budget (before anything is sent).
    DataFormatError
        A partition that cannot be read (the row is named).
    ResourceLimitError
        A worker died (memory).
    """
    t0 = time.perf_counter()
    report = progress or null_progress
    client, parts, opts, file = engine.client, layout.parts, layout.options, layout.name
    n = layout.n_samples
    metric = "euclidean" if params.spec.uses_metric and params.metric == "euclidean" else "cosine"
    rows = _check(layout, params, int(k), metric)
    k = int(k)
    starts = np.array([q.start for q in parts])
    report(0.0, f"{n:,} points in {len(parts)} partitions on {engine.n_workers} Dask workers")
    pieces, where = [], []  # the fit sample, taken from each partition
    for q in parts:
        a, b = int(np.searchsorted(rows, q.start)), int(np.searchsorted(rows, q.start + q.n))
        where.append((a, b))
        if b > a:
            pieces.append(client.submit(_take_rows, q, opts, file, rows[a:b] - q.start, pure=False, priority=5))
    full = len(rows) == n
    if full:
        fit = client.submit(_fit_all, params, k, metric, *pieces, pure=False, priority=5)
    else:  # the long serial step: first, while the kNN tasks fill the other workers
        fit = client.submit(_fit_rows, params, *pieces, pure=False, priority=5)
    spans = _chunk_spans(n, rows)
    chunks = []
    for r0, r1, s_in in spans:
        lo, hi = np.searchsorted(starts, r0, side="right") - 1, np.searchsorted(starts, r1, side="right")
        chunks.append(
            client.submit(_transform_chunk, fit, params, r0, r1, s_in, opts, file, list(parts[lo:hi]), pure=False)
        )
    sample_coords = client.submit(_fit_coords, fit, pure=False)
    quality_f = client.submit(_fit_quality, fit, pure=False)
    fitted = engine.run([quality_f], "fitting", null_progress, lambda d: "")[0] if full else None
    graph_from_fit = fitted is not None and fitted[1]
    if graph_from_fit:
        knn = [client.submit(_graph_rows, fit, q.start, q.start + q.n, pure=False) for q in parts]
    else:
        knn = [
            engine.merge_tree(
                [client.submit(_knn_pair_parts, qi, qj, opts, file, k, metric, pure=False) for qj in parts], k
            )
            for qi in parts
        ]
    fingerprint = _fingerprint(layout, scaled(report, 0.0, 0.3))
    report(0.3, "fitting, placing points and the kNN graph on the workers")
    quality = (fitted or engine.run([quality_f], "fitting", null_progress, lambda d: "")[0])[0]
    if not full:
        quality = {**quality, "fit_sample": float(len(rows)), "placed_by_transform": float(n - len(rows))}
    info = {
        "version": MAP_VERSION,
        "coords": list(COORD_COLUMNS[: params.n_components]),
        "knn": {"k": k, "metric": metric},
        "clusters": None,
        "trust": {},
        "quality": quality,
        "elapsed_s": time.perf_counter() - t0,
        "engine": engine.name,
        "name": layout.name,
        "model_name": layout.model_name,
        "text_column": layout.text_column,
    }
    dataset = {
        "name": layout.name,
        "fingerprint": fingerprint,
        "n_samples": n,
        "n_features": layout.n_features,
        "model_name": layout.model_name,
    }
    key_value = map_key_value(info, settings_record(dataset, params, dataset_ref=dataset_ref))
    with part_folder(out) as folder:
        writers = []
        for j, q in enumerate(parts):
            mine = [c for c, (r0, r1, _) in enumerate(spans) if r0 < q.start + q.n and r1 >= q.start]
            a, b = where[j]
            writers.append(
                client.submit(
                    _write_part,
                    q,
                    opts,
                    file,
                    str(Path(folder) / part_name(j)),
                    key_value,
                    params.n_components,
                    rows[a:b] - q.start,
                    (a, b),
                    [spans[c] for c in mine],
                    sample_coords,
                    knn[j],
                    *[chunks[c] for c in mine],
                    pure=False,
                    priority=10,
                )
            )
        del fit, chunks, knn, pieces, sample_coords

        def note(done: int) -> str:
            return f"wrote {done}/{len(parts)} part files"

        written = engine.run(writers, "computing and writing the map", scaled(report, 0.3, 1.0), note)
    if sum(written) != n:  # pragma: no cover - a bug, not bad input
        raise RuntimeError(f"wrote {sum(written):,} rows of {n:,}")
    report(1.0, "done")
    return {
        "n_samples": n,
        "n_features": layout.n_features,
        "parts": len(parts),
        "info": info,
        "fingerprint": fingerprint,
        "seconds": time.perf_counter() - t0,
    }


def _fingerprint(layout: Layout, report: Progress) -> str:
    """SHA-256 of the whole set's vectors, read here one partition at a time."""
    shape = (layout.n_samples, layout.n_features)

    def blocks():
        for j, q in enumerate(layout.parts):
            report(j / len(layout.parts), f"fingerprint: partition {j + 1}/{len(layout.parts)}")
            vectors = read_part(q, layout.options, file=layout.name)[0]
            if vectors.shape[1] != layout.n_features:
                raise DataFormatError(
                    f"rows {q.start + 1:,}..{q.start + q.n:,} have {vectors.shape[1]} dimensions, "
                    f"not {layout.n_features}",
                    file=layout.name,
                )
            yield vectors

    return fingerprint_blocks(shape, np.dtype(np.float32), blocks())
