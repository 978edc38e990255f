"""The original-space kNN graph of a whole set (each row's ``k`` nearest other rows), built once.

The live map ships this graph to the page (a click highlights the neighbours without asking the
server) and the server's neighbour table reads the same rows, so both always agree. Three ways,
chosen by :func:`neighbor_graph`:

- **exact** up to :data:`GRAPH_EXACT_MAX_POINTS` rows: :func:`viz_app.explore.neighbors.knn_indices`
  over all rows (the same order and tie rule as :func:`~viz_app.explore.neighbors.most_similar`).
  Its cost grows as ``n**2 * d`` (float32 matrix products plus one ``argpartition`` per row):
  measured here 2.1 s per 2,000 rows at 20k GloVe rows and 7.8 s per 2,000 rows at 100k (load
  average ~8 on 2 cores), i.e. ~21 s for all of 20k but ~390 s for all of 100k.
- **NN-descent** above it (Dong, Charikar & Li 2011, via **pynndescent**): ``NNDescent(metric,
  n_neighbors=max(k + 1, 30), random_state)`` and its ``neighbor_graph``, self column dropped.
  Measured on GloVe (same load): 20k rows 5.8 s, recall@20 against exact 0.999; 100k rows 45 s,
  recall@20 0.999. pynndescent's NN-descent kernels come from numba's disk cache
  (:func:`viz_app.reduce.nndescent.pynndescent`; filled by the install's warm-up): a fresh
  server's first 30k graph measured 9.5 s with no compile (load ~8.6), 72 s before (load 5.6-10).
- **UMAP's own graph** when the map is a UMAP map fitted on every row with the same metric
  (umap-learn keeps it as ``UMAP._knn_indices``, self first, ``n_neighbors`` columns): its
  columns 1..k when ``n_neighbors > k``; otherwise UMAP's own search index
  (``UMAP._knn_search_index``, kept for ``transform``) is queried for ``k + 1`` neighbours of
  every row, so no second index is built: exact (scikit-learn, see :mod:`viz_app.reduce.umap`)
  from 4,096 to 20,000 rows, pynndescent's NN-descent above. Below 4,096 rows umap-learn
  computes its graph exactly and keeps no index: then too few columns fall back to the exact
  graph.

Graphs are kept in a byte-bounded LRU cache (``cachetools``; :data:`GRAPH_CACHE_BYTES`) keyed by
the set's content fingerprint, the metric, ``k`` and the source (exact, NN-descent seed, or the
UMAP projection's parameters), so maps that differ only in colours, tooltips or labels share one
graph.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

import numpy as np
from cachetools import LRUCache
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError
from viz_app.explore.ann import check_metric
from viz_app.explore.neighbors import knn_indices
from viz_app.reduce import Projection
from viz_app.reduce.nndescent import pynndescent

__all__ = [
    "GRAPH_CACHE_BYTES",
    "GRAPH_EXACT_MAX_POINTS",
    "clear_graph_cache",
    "graph_method",
    "neighbor_graph",
]

#: Sets up to this many rows get the exact graph; larger ones NN-descent (see the module docstring).
GRAPH_EXACT_MAX_POINTS = 20_000
#: Bytes of graphs kept in memory (a 200k x 50 uint32 graph is 40 MB).
GRAPH_CACHE_BYTES = 256 * 2**20

_cache: LRUCache = LRUCache(maxsize=GRAPH_CACHE_BYTES, getsizeof=lambda g: max(1, g.nbytes))
_lock = threading.Lock()
_build_locks: dict[Hashable, threading.Lock] = {}


def clear_graph_cache() -> None:
    """Drop every cached graph."""
    with _lock:
        _cache.clear()
        _build_locks.clear()


def _umap_model(projection: Projection | None, es: EmbeddingSet, metric: str) -> Any:
    """The fitted umap-learn model of ``projection`` when its graph covers every row of ``es``."""
    if projection is None or projection.model is None:
        return None
    p = projection.params
    if p.reducer != "umap" or p.metric != metric or p.fit_sample is not None:
        return None
    if projection.source_fingerprint != es.fingerprint:
        return None
    own = getattr(projection.model, "_knn_indices", None)
    return projection.model if own is not None and np.shape(own)[0] == es.n_samples else None


def graph_method(
    es: EmbeddingSet,
    k: int,
    *,
    metric: str = "cosine",
    projection: Projection | None = None,
    exact_max_points: int | None = None,
) -> str:
    """Which way :func:`neighbor_graph` builds the graph: ``"umap"``, ``"exact"`` or ``"nndescent"``."""
    model = _umap_model(projection, es, metric)
    if model is not None and (
        np.shape(model._knn_indices)[1] > k or getattr(model, "_knn_search_index", None) is not None
    ):
        return "umap"
    limit = GRAPH_EXACT_MAX_POINTS if exact_max_points is None else exact_max_points
    return "exact" if es.n_samples <= limit or k + 2 >= es.n_samples else "nndescent"


def _drop_self(es: EmbeddingSet, idx: NDArray[np.integer], k: int, metric: str) -> NDArray[np.uint32]:
    """Each row's first ``k`` entries other than the row itself; a row that has fewer (NN-descent
    may leave -1 slots) gets its exact list instead."""
    n = len(idx)
    idx = np.asarray(idx, dtype=np.int64)
    keep = (idx != np.arange(n)[:, None]) & (idx >= 0)
    out = np.empty((n, k), dtype=np.uint32)
    short = keep.sum(axis=1) < k
    order = np.argsort(~keep, axis=1, kind="stable")[:, :k]  # kept entries first, in their order
    out[:] = np.take_along_axis(np.where(keep, idx, 0), order, 1)
    if short.any():
        out[short] = knn_indices(es, np.flatnonzero(short), k=k, metric=metric)
    return out


def _exact(es: EmbeddingSet, k: int, metric: str) -> NDArray[np.uint32]:
    return knn_indices(es, np.arange(es.n_samples), k=k, metric=metric).astype(np.uint32)


def _nndescent(es: EmbeddingSet, k: int, metric: str, random_state: int) -> NDArray[np.uint32]:
    x = np.ascontiguousarray(es.vectors, dtype=np.float32)
    nn = min(es.n_samples - 1, max(k + 1, 30))
    index = pynndescent().NNDescent(
        x, metric=metric, n_neighbors=nn, random_state=random_state, n_jobs=None, compressed=True
    )
    idx = index.neighbor_graph[0]
    return _rescore(es, _drop_self(es, idx, k, metric), metric)


def _rescore(es: EmbeddingSet, g: NDArray[np.uint32], metric: str) -> NDArray[np.uint32]:
    """Sort each row's neighbours by exact float64 similarity (ties: lower row first), in place order."""
    x = es.vectors
    out = np.empty_like(g)
    step = max(1, 2**22 // max(1, g.shape[1] * x.shape[1]))
    for a in range(0, len(g), step):
        rows = g[a : a + step].astype(np.intp)
        v = x[rows].astype(np.float64)
        q = x[a : a + step, None, :].astype(np.float64)
        if metric == "euclidean":
            s = -np.sqrt(np.einsum("mkd,mkd->mk", v - q, v - q))
        else:
            dot = np.einsum("mkd,mkd->mk", v, np.broadcast_to(q, v.shape))
            den = np.sqrt(np.einsum("mkd,mkd->mk", v, v) * np.einsum("mkd,mkd->mk", q, q))
            s = np.divide(dot, den, out=np.zeros_like(dot), where=den > 0)
        order = np.lexsort((rows, -s), axis=-1)
        out[a : a + step] = np.take_along_axis(rows, order, 1)
    return out


def _umap(es: EmbeddingSet, k: int, metric: str, model: Any) -> NDArray[np.uint32]:
    own = np.asarray(model._knn_indices)
    if own.shape[1] > k:
        return _rescore(es, _drop_self(es, own, k, metric), metric)
    index = model._knn_search_index
    idx, _ = index.query(np.ascontiguousarray(es.vectors, dtype=np.float32), k=min(es.n_samples, k + 1))
    return _rescore(es, _drop_self(es, idx, k, metric), metric)


def neighbor_graph(
    es: EmbeddingSet,
    k: int,
    *,
    metric: str = "cosine",
    projection: Projection | None = None,
    exact_max_points: int | None = None,
    random_state: int = 0,
) -> NDArray[np.uint32]:
    """Each row's ``k`` nearest other rows in the original space, nearest first.

    Exact up to ``exact_max_points`` rows, NN-descent (pynndescent) above, or UMAP's own graph
    when ``projection`` is a UMAP map of ``es`` fitted on every row with this metric (see the
    module docstring). Approximate lists are re-sorted by exact similarity (so their order agrees
    with :func:`~viz_app.explore.neighbors.most_similar`; only recall is approximate). Cached per
    content (:data:`GRAPH_CACHE_BYTES`); concurrent callers for the same graph wait for one build.

    Parameters
    ----------
    es : EmbeddingSet
    k : int
        1 <= k <= n_samples - 1.
    metric : {"cosine", "euclidean"}, default="cosine"
    projection : Projection, optional
        The map's projection: a UMAP projection lends its graph.
    exact_max_points : int, optional
        Default :data:`GRAPH_EXACT_MAX_POINTS` (read at call time).
    random_state : int, default=0
        Seed of NN-descent's random projection trees.

    Returns
    -------
    ndarray of shape (n_samples, k), dtype uint32
        Read-only; row ``i`` never lists ``i``.

    Raises
    ------
    ParameterError
        ``k`` out of range or an unknown metric (``"dot"`` has no graph: use cosine).
    """
    check_metric(metric)
    if metric == "dot":
        raise ParameterError("the neighbour graph supports the cosine and euclidean metrics, not 'dot'")
    n = es.n_samples
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n - 1:
        raise ParameterError(f"k={k!r} not in 1..{n - 1}")
    k = int(k)
    method = graph_method(es, k, metric=metric, projection=projection, exact_max_points=exact_max_points)
    source: Hashable = {"exact": "exact", "nndescent": ("nnd", random_state)}.get(method) or (
        "umap",
        projection.params if projection is not None else None,
    )
    key = (es.fingerprint, metric, k, source)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            return hit
        build = _build_locks.setdefault(key, threading.Lock())
    with build:
        with _lock:
            hit = _cache.get(key)
        if hit is not None:
            return hit
        if method == "exact":
            g = _exact(es, k, metric)
        elif method == "nndescent":
            g = _nndescent(es, k, metric, random_state)
        else:
            g = _umap(es, k, metric, _umap_model(projection, es, metric))
        g = np.ascontiguousarray(g, dtype=np.uint32)
        g.setflags(write=False)
        with _lock:
            _cache[key] = g
            _build_locks.pop(key, None)
        return g
