"""Approximate kNN index (NN-descent, Dong, Charikar & Li 2011, via **pynndescent**) and its
in-process cache, used by :mod:`viz_app.explore.neighbors` for sets above ``EXACT_MAX_ELEMENTS``.

One index per ``(fingerprint, metric)``, built on first use and kept for the
:data:`INDEX_CACHE_SIZE` most recently used; concurrent callers for the same key wait for one
build. pynndescent's ``"dot"`` normalises the data (i.e. is cosine), so ``"dot"`` is indexed as
euclidean after the transform of Bachrach et al. (2014). Timings and recall: see
:mod:`viz_app.explore.neighbors`.
"""

from __future__ import annotations

import threading
import time
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from viz_app.cache import ByteCache, store
from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError
from viz_app.reduce.nndescent import pynndescent

__all__ = [
    "INDEX_CACHE_SIZE",
    "METRICS",
    "CacheInfo",
    "NeighborIndex",
    "build_index_in_background",
    "clear_index_cache",
    "get_index",
    "has_index",
    "index_cache_info",
]

METRICS = ("cosine", "euclidean", "dot")
#: How many approximate indexes (one per dataset and metric) are kept in memory.
INDEX_CACHE_SIZE = 4


def check_metric(metric: str) -> None:
    """Raise ParameterError unless ``metric`` is one of :data:`METRICS`."""
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}; allowed: {', '.join(METRICS)}")


class NeighborIndex:
    """Approximate kNN index of one vector array (NN-descent, Dong et al. 2011, via pynndescent).

    Parameters
    ----------
    vectors : ndarray of shape (n_samples, n_features), dtype float32
    metric : {"cosine", "euclidean", "dot"}
    random_state : int, default=0
        Seed of pynndescent's random projection trees.

    Attributes
    ----------
    metric : str
    n_samples : int
    build_seconds : float
        Wall time of the build (graph, search tree and first-query preparation), seconds.
    """

    def __init__(self, vectors: NDArray[np.float32], *, metric: str = "cosine", random_state: int = 0) -> None:
        check_metric(metric)

        pynnd = pynndescent()  # its NN-descent kernels from numba's disk cache
        t0 = time.perf_counter()
        x = np.asarray(vectors, dtype=np.float32)
        self.metric, self.n_samples = metric, int(x.shape[0])
        if metric == "dot":  # Bachrach et al. 2014: max inner product -> euclidean nearest neighbour
            sq = np.einsum("ij,ij->i", x, x, dtype=np.float64)
            x = np.hstack([x, np.sqrt(np.maximum(sq.max() - sq, 0.0))[:, None].astype(np.float32)])
        self._index = pynnd.NNDescent(
            x, metric="euclidean" if metric == "dot" else metric, random_state=random_state, n_jobs=None
        )
        self._index.prepare()
        self.build_seconds = time.perf_counter() - t0

    def query(self, queries: NDArray[np.float32], k: int, *, epsilon: float = 0.1) -> NDArray[np.intp]:
        """Candidate neighbour rows of each query, best first (approximate).

        Parameters
        ----------
        queries : ndarray of shape (n_queries, n_features), dtype float32
        k : int
            1 <= k <= n_samples.
        epsilon : float, default=0.1
            pynndescent's search breadth: larger is more accurate and slower (0 to 0.3).

        Returns
        -------
        ndarray of shape (n_queries, k), dtype intp
            Row indices; -1 where the search found fewer than ``k`` rows.
        """
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if self.metric == "dot":
            q = np.hstack([q, np.zeros((q.shape[0], 1), np.float32)])
        idx = self._index.query(q, k=int(k), epsilon=epsilon, return_distances=False)
        return np.asarray(idx, dtype=np.intp)


class CacheInfo(NamedTuple):
    """Counters of the approximate-index cache (as ``functools.lru_cache`` reports them)."""

    hits: int
    misses: int
    maxsize: int
    currsize: int


def _store() -> ByteCache:
    """The ``ann`` store of :mod:`viz_app.cache` (bytes-bounded; at most :data:`INDEX_CACHE_SIZE`)."""
    return store("ann", max_entries=INDEX_CACHE_SIZE)


_builders_lock = threading.Lock()


def get_index(es: EmbeddingSet, metric: str = "cosine") -> NeighborIndex:
    """The approximate index of ``es`` for ``metric``, built on first use and then reused.

    Keyed by ``es.fingerprint`` and ``metric`` (an index depends on the vectors only) in the
    byte-bounded ``ann`` store of :mod:`viz_app.cache` (at most :data:`INDEX_CACHE_SIZE`).
    Thread-safe: concurrent callers for the same key wait for one build.
    """
    check_metric(metric)
    return _store().get_or_compute((es.fingerprint, metric), lambda: NeighborIndex(es.vectors, metric=metric))


def has_index(es: EmbeddingSet, metric: str = "cosine") -> bool:
    """True when the index of ``es`` for ``metric`` is built and cached (a query will not wait)."""
    return (es.fingerprint, metric) in _store()


_builders: dict[tuple[str, str], threading.Thread] = {}


def build_index_in_background(es: EmbeddingSet, metric: str = "cosine") -> threading.Thread | None:
    """Start building the index of ``es`` for ``metric`` in a daemon thread, so that it is ready
    (or under way) before the first query; :func:`get_index` callers meanwhile wait for it.

    Returns the building thread, or None when the index is already cached. Calling again while
    a build runs returns the same thread (one build per key).

    Raises
    ------
    ParameterError
        ``metric`` is not one of :data:`METRICS`.
    """
    check_metric(metric)
    key = (es.fingerprint, metric)
    if key in _store():
        return None
    with _builders_lock:
        running = _builders.get(key)
        if running is not None and running.is_alive():
            return running
        for k in [k for k, t in _builders.items() if not t.is_alive()]:  # forget finished builds
            del _builders[k]
        thread = threading.Thread(
            target=get_index, args=(es, metric), daemon=True, name=f"ann-index-{es.fingerprint[:8]}-{metric}"
        )
        _builders[key] = thread
    thread.start()
    return thread


def index_cache_info() -> CacheInfo:
    """Hits, misses (= builds), maximum and current size of the approximate-index cache."""
    info = _store().info()
    return CacheInfo(info.hits, info.misses, INDEX_CACHE_SIZE, info.entries)


def clear_index_cache() -> None:
    """Drop every cached approximate index and reset the counters."""
    _store().clear()
