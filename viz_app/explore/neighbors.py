"""Nearest neighbours in the original embedding space: exact (numpy) or approximate (pynndescent).

- Exact: one float32 matrix product per block of queries (at most ``2**24`` scores, 64 MiB, at a
  time) and ``numpy.argpartition`` for the ``k + max(k, 10)`` best candidates, which are then
  re-scored in float64 and sorted stably (ties keep row order). A query whose k-th and last
  candidates are closer than the float32 error bound is redone in float64 over all rows, so the
  result equals a float64 brute force, ties included.
- Approximate, for sets with more than :data:`EXACT_MAX_ELEMENTS` vector entries: an NN-descent
  graph index (Dong, Charikar & Li 2011) via **pynndescent** (:mod:`viz_app.explore.ann`), built once
  per ``(fingerprint, metric)`` and kept in a small in-process cache (:data:`INDEX_CACHE_SIZE`
  indexes, least recently used dropped). Its ``k + max(k, 10)`` candidates are re-scored exactly, so reported
  scores are exact; only recall is approximate. pynndescent's ``"dot"`` normalises the data
  (i.e. is cosine), so ``"dot"`` is searched as euclidean after the transform of Bachrach et al.
  (2014): each row gets a coordinate ``sqrt(max_norm**2 - |x|**2)``, each query a 0.

Measured on GloVe 6B 50-d (``samples.glove_full()``, first n rows), 200 random rows as queries,
k=10, cosine, on the 2-core machine while other jobs kept its load average at 4-7 (per-query
times are noisy at that load; an earlier run at load 8-14 was 1.5-4x slower, same recall):

======  ================  ===========  ==========================  =========================
rows    exact, per query  index build  approximate, per query       recall@10 vs exact
                                       (in a batch of 200)          (without re-ranking)
======  ================  ===========  ==========================  =========================
20k     8.1 ms            5.2 s        1.4 ms (0.033 ms)           0.996 (0.980)
100k    12.8 ms           19 s         1.2 ms (0.042 ms)           0.990 (0.984)
200k    7.9 ms            65 s         1.3 ms (0.057 ms)           0.978 (0.967)
400k    27 ms             246 s        6.7 ms (0.18 ms)            0.959 (0.942)
======  ================  ===========  ==========================  =========================

pynndescent's NN-descent kernels were compiled by the first build of every process (70 s at
that load); they now come from numba's disk cache (:func:`viz_app.reduce.nndescent.pynndescent`,
filled by the install's warm-up: no compile in a fresh process). An index still pays back only
after thousands of queries, while exact search of one query costs
O(n_samples * n_features) and stays interactive up to about 10**8 entries (one float32
matrix-vector product over 400 MB). Hence :data:`EXACT_MAX_ELEMENTS` = 10**8: all of GloVe
400k x 50 (2 * 10**7) is searched exactly; larger sets (e.g. more than 260k MiniLM 384-d rows)
use the index, which the Explore page starts building in the background as it opens
(:func:`build_index_in_background`), with a caption saying so. Pass ``exact_max_elements`` to
override.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.cache import store
from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError, UnknownIdError
from viz_app.explore import ann as _ann
from viz_app.explore.ann import (
    INDEX_CACHE_SIZE,
    METRICS,
    NeighborIndex,
    build_index_in_background,
    check_metric,
    get_index,
    has_index,
    index_cache_info,
)

__all__ = [
    "EXACT_MAX_ELEMENTS",
    "INDEX_CACHE_SIZE",
    "METRICS",
    "NeighborIndex",
    "build_index_in_background",
    "clear_index_cache",
    "exact_block_knn",
    "get_index",
    "has_index",
    "index_cache_info",
    "knn_indices",
    "most_similar",
    "suggest_labels",
]

#: Sets with more than this many vector entries (n_samples * n_features) are searched with the
#: approximate index (see the module docstring).
EXACT_MAX_ELEMENTS = 100_000_000
_BLOCK = 2**24  # scores per exact block: 64 MiB of float32
_EPS32 = float(np.finfo(np.float32).eps)


def clear_index_cache() -> None:
    """Drop every cached approximate index (and row-norm cache) and reset the counters."""
    _ann.clear_index_cache()
    store("norms").clear()


def _norms(es: EmbeddingSet) -> NDArray[np.float32]:
    """L2 norms of the rows, shape (n_samples,) float32, cached by fingerprint in the ``norms``
    store of :mod:`viz_app.cache`."""

    def compute() -> NDArray[np.float32]:
        n = np.sqrt(np.einsum("ij,ij->i", es.vectors, es.vectors, dtype=np.float64)).astype(np.float32)
        n.setflags(write=False)
        return n

    return store("norms").get_or_compute(es.fingerprint, compute)


def _check_k(k: Any, available: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ParameterError(f"k must be an integer, got {k!r}")
    if not 1 <= k <= available:
        raise ParameterError(f"k must be in 1..{available} (rows that can be returned), got {k}")
    return int(k)


def _score64(x: NDArray[np.float32], q: NDArray[np.float32], metric: str) -> NDArray[np.float64]:
    """Exact float64 scores (higher is better) of rows ``x`` (..., d) against ``q`` (..., d).

    cosine: similarity, 0 where a norm is 0; dot: inner product; euclidean: minus the distance.
    """
    x64, q64 = x.astype(np.float64), q.astype(np.float64)
    if metric == "euclidean":
        return -np.sqrt(np.einsum("...d,...d->...", x64 - q64, x64 - q64))
    dot = np.einsum("...d,...d->...", x64, q64)
    if metric == "dot":
        return dot
    den = np.sqrt(np.einsum("...d,...d->...", x64, x64) * np.einsum("...d,...d->...", q64, q64))
    return np.divide(dot, den, out=np.zeros_like(dot), where=den > 0)


def _score32(x, norms, q, metric):
    """Float32 selection scores (c, n), higher is better, and their error bound per query (c,)."""
    qn = np.sqrt(np.einsum("ij,ij->i", q, q, dtype=np.float64))
    d, top = x.shape[1], float(norms.max(initial=0.0))
    if metric == "cosine":
        inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        qs = np.divide(q, qn[:, None], out=np.zeros_like(q), where=qn[:, None] > 0).astype(np.float32)
        s, scale = (qs @ x.T) * inv, np.ones_like(qn)
    elif metric == "dot":
        s, scale = q @ x.T, top * qn
    else:  # -|x - q|^2 + |q|^2
        s, scale = 2.0 * (q @ x.T) - norms**2, (top + qn) ** 2
    return s, 2.0 * (d + 4) * _EPS32 * scale + 1e-30


def _exact_one(x, q, k, metric, blocked):
    """Top-k rows of one query by float64 scores over all rows (ties: lower row first)."""
    step = max(1, _BLOCK // max(1, x.shape[1]))
    s = np.concatenate([_score64(x[i : i + step], q, metric) for i in range(0, len(x), step)])
    s[blocked] = -np.inf
    kth = np.partition(s, len(s) - k)[len(s) - k]
    cand = np.flatnonzero(s >= kth)
    return cand[np.lexsort((cand, -s[cand]))][:k]


def _exact(x, norms, q, k, metric, blocked, self_rows):
    """(m, k) top-k rows of queries ``q`` (m, d): float32 selection, float64 re-ranking."""
    n, out = len(x), np.empty((len(q), k), dtype=np.intp)
    avail = n - int(blocked.sum()) - (self_rows >= 0)  # rows each query can return, (m,)
    kk = min(k + max(k, 10), int(avail.min()))
    step = max(1, _BLOCK // n)
    for a in range(0, len(q), step):
        qc, sr = q[a : a + step], self_rows[a : a + step]
        s, tol = _score32(x, norms, qc, metric)
        s[:, blocked] = -np.inf
        s[np.flatnonzero(sr >= 0), sr[sr >= 0]] = -np.inf
        cand = np.argpartition(s, n - kk, axis=1)[:, n - kk :]
        cs = -np.sort(-np.take_along_axis(s, cand, 1), axis=1)
        ok = (cs[:, k - 1] - cs[:, kk - 1] > tol) | (kk >= avail[a : a + step])
        v = _score64(x[cand], qc[:, None, :], metric)
        order = np.lexsort((cand, -v), axis=-1)[:, :k]
        out[a : a + len(qc)] = np.take_along_axis(cand, order, 1)
        for i in np.flatnonzero(~ok):
            b = blocked.copy()
            if sr[i] >= 0:
                b[sr[i]] = True
            out[a + i] = _exact_one(x, qc[i], k, metric, b)
    return out


def exact_block_knn(
    x: NDArray[np.float32],
    q: NDArray[np.float32],
    k: int,
    metric: str = "cosine",
    *,
    self_rows: NDArray[np.integer] | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Exact top-``k`` rows of the block ``x`` for each query row of ``q``, with their scores.

    The exact search of :func:`knn_indices` (float32 selection, float64 re-ranking, ties to the
    lower row) on one block of rows, for a kNN graph built by blocks (the Dask engine): the
    graph's row ``r`` is the best ``k`` of the union of its per-block results, ordered by
    (score descending, row ascending), which is exactly :func:`knn_indices`'s answer.

    Parameters
    ----------
    x : ndarray of shape (n, d), float32
        The block's rows.
    q : ndarray of shape (m, d), float32
        The queries.
    k : int
        1 <= k <= n, and k <= n - 1 when ``self_rows`` is given.
    metric : {"cosine", "euclidean", "dot"}, default="cosine"
    self_rows : ndarray of shape (m,), int, optional
        Row of ``x`` that is query ``i`` itself (excluded from its answer), or -1.

    Returns
    -------
    (ndarray of shape (m, k), intp; ndarray of shape (m, k), float64)
        Rows of ``x``, best first, and their float64 scores (higher is better: cosine
        similarity, dot product, minus the euclidean distance).

    Raises
    ------
    ParameterError
        Unknown metric, or ``k`` out of range for the block.
    """
    check_metric(metric)
    x = np.ascontiguousarray(x, dtype=np.float32)
    q = np.ascontiguousarray(q, dtype=np.float32)
    sr = np.full(len(q), -1, dtype=np.intp) if self_rows is None else np.asarray(self_rows, dtype=np.intp)
    k = _check_k(k, len(x) - int(bool((sr >= 0).any())))
    norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64)).astype(np.float32)
    idx = _exact(x, norms, q, k, metric, np.zeros(len(x), dtype=bool), sr)
    return idx, _score64(x[idx], q[:, None, :], metric)


def _approximate(es, q, k, metric, blocked, self_rows):
    """(m, k) rows from the cached pynndescent index, re-scored exactly; exact where it runs short."""
    x, n, index = es.vectors, es.n_samples, get_index(es, metric)
    want = min(n, k + max(k, 10) + int(blocked.sum()) + 1)
    cand = index.query(q, want)
    out = np.empty((len(q), k), dtype=np.intp)
    for i, row in enumerate(cand):
        row = row[row >= 0]
        row = np.unique(row[~blocked[row] & (row != self_rows[i])])
        if len(row) < k:
            b = blocked.copy()
            if self_rows[i] >= 0:
                b[self_rows[i]] = True
            out[i] = _exact_one(x, q[i], k, metric, b)
            continue
        v = _score64(x[row], q[i], metric)
        out[i] = row[np.lexsort((row, -v))][:k]
    return out


def _search(es, q, k, metric, blocked, self_rows, exact_max_elements):
    if es.n_samples * es.n_features > exact_max_elements:
        return _approximate(es, q, k, metric, blocked, self_rows)
    return _exact(es.vectors, _norms(es), q, k, metric, blocked, self_rows)


def _edits1(q: str) -> set[str]:
    """Strings one deletion, transposition, substitution or insertion away (Norvig's speller)."""
    letters = set("abcdefghijklmnopqrstuvwxyz0123456789-'") | set(q)
    splits = [(q[:i], q[i:]) for i in range(len(q) + 1)]
    return (
        {a + b[1:] for a, b in splits if b}
        | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
        | {a + c + b[1:] for a, b in splits if b for c in letters}
        | {a + c + b for a, b in splits for c in letters}
    )


#: Longest query :func:`suggest_labels` looks for suggestions for (its one-edit set has
#: ~70 x len variants of len characters each: 5,000 characters took 1.5 GB).
MAX_SUGGEST_CHARS = 48
#: Most labels compared by ``difflib`` (each comparison is quadratic in the label's length).
MAX_SUGGEST_CANDIDATES = 20_000


def suggest_labels(query: str, labels: NDArray[np.object_] | list[str], n: int = 3) -> list[str]:
    """Up to ``n`` labels close to ``query`` (for "did you mean ...?" messages).

    Case-insensitive. First the labels one deletion, transposition, substitution or insertion
    away (in row order: most frequent first in frequency-ordered sets like GloVe), then the
    closest by ``difflib.get_close_matches`` (ratio >= 0.6) among the first
    :data:`MAX_SUGGEST_CANDIDATES` labels of similar length. Bounded: a query longer than
    :data:`MAX_SUGGEST_CHARS` gets no suggestion.

    Parameters
    ----------
    query : str
    labels : sequence of str
        Candidate labels, e.g. ``pd.unique(es.labels)``.
    n : int, default=3

    Returns
    -------
    list of str
        At most ``n`` labels, as spelt in ``labels``; empty if nothing is close.
    """
    if len(query) > MAX_SUGGEST_CHARS:
        return []
    first: dict[str, tuple[int, str]] = {}
    for i, w in enumerate(labels):
        first.setdefault(str(w).lower(), (i, str(w)))
    q = query.lower()
    hits = sorted((e != q,) + first[e] for e in _edits1(q) | {q} if e in first)
    out = [w for _, _, w in hits[:n]]
    if len(out) < n:
        near = [w for w in first if abs(len(w) - len(q)) <= max(2, len(q) // 2) and first[w][1] not in out]
        near = near[:MAX_SUGGEST_CANDIDATES]
        out += [first[c][1] for c in difflib.get_close_matches(q, near, n=n - len(out), cutoff=0.6)]
    return out


def _row_of(es: EmbeddingSet, query: str) -> int:
    """Row of an id, else of the first row with that label; UnknownIdError with suggestions."""
    for column in (es.ids, es.labels):
        hit = np.flatnonzero(column == query)
        if len(hit):
            return int(hit[0])
    close = suggest_labels(query, pd.unique(es.labels))
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownIdError(f"{query!r} is neither an id nor a label in {es.name!r}{hint}")


def _resolve(es: EmbeddingSet, query: Any) -> tuple[NDArray[np.float32], int]:
    """Query vector (n_features,) float32 and its row (-1 for a free vector)."""
    if isinstance(query, str):
        row = _row_of(es, query)
    elif isinstance(query, (int, np.integer)) and not isinstance(query, (bool, np.bool_)):
        if not 0 <= query < es.n_samples:
            raise ParameterError(f"row index {query} is out of range 0..{es.n_samples - 1}")
        row = int(query)
    else:
        try:
            v = np.asarray(query, dtype=np.float32)
        except (TypeError, ValueError):
            raise ParameterError(f"query must be an id, a label, a row index or a vector, got {query!r}") from None
        if v.shape != (es.n_features,):
            raise ParameterError(f"query vector has shape {v.shape}; this set needs ({es.n_features},)")
        if not np.isfinite(v).all():
            raise ParameterError("query vector contains NaN or infinite values")
        return v, -1
    return es.vectors[row], row


def most_similar(
    es: EmbeddingSet,
    query: str | int | NDArray[np.floating],
    *,
    k: int = 10,
    metric: str = "cosine",
    exclude: Collection[str] = (),
    exact_max_elements: int = EXACT_MAX_ELEMENTS,
) -> pd.DataFrame:
    """The ``k`` items nearest to ``query`` in the original embedding space.

    Exact (numpy) up to ``exact_max_elements`` vector entries, approximate above (pynndescent
    index, built once per set and metric); see the module docstring for recall and timings.

    Parameters
    ----------
    es : EmbeddingSet
    query : str, int or ndarray of shape (n_features,)
        An id or label (an id match wins; a label shared by several rows means its first row),
        a row index (0 <= query < n_samples), or a vector (any float dtype, must be finite).
        An item query is left out of its own list.
    k : int, default=10
        1 <= k <= n_samples - (rows left out).
    metric : {"cosine", "euclidean", "dot"}, default="cosine"
        Cosine similarity in [-1, 1] (0 when either vector is all zeros), euclidean distance
        (>= 0, in the vectors' units), or the inner product.
    exclude : collection of str, default=()
        Ids to leave out (e.g. the terms of a vector-arithmetic expression).
    exact_max_elements : int, default=EXACT_MAX_ELEMENTS
        Sets with more than this many vector entries (n_samples * n_features) use the
        approximate index; 0 forces it, a huge value forbids it.

    Returns
    -------
    DataFrame of shape (k, 5)
        ``rank`` (int, 1-based), ``id``, ``label`` (str), then ``similarity`` (float, cosine or
        dot, descending) or ``distance`` (float, euclidean, ascending), and ``row`` (int, row
        index in ``es``). Equal scores keep row order.

    Raises
    ------
    UnknownIdError
        ``query`` (str) is neither an id nor a label (the message suggests up to 3 labels one
        edit away or close by difflib's ratio), or an ``exclude`` id is not in the set.
    ParameterError
        ``k`` out of range, unknown ``metric``, row index out of range, vector of the wrong
        length or not finite.
    """
    check_metric(metric)
    q, row = _resolve(es, query)
    blocked = np.zeros(es.n_samples, dtype=bool)
    if isinstance(exclude, str):
        raise ParameterError(f"exclude must be a collection of ids, not the string {exclude!r}")
    ex = list(exclude)
    if ex:
        blocked[es.index_of(ex)] = True
    k = _check_k(k, es.n_samples - int(blocked.sum()) - int(row >= 0 and not blocked[row]))
    if row >= 0:
        blocked[row] = False  # handled as the query's own row
    top = _search(es, q[None, :], k, metric, blocked, np.array([row]), exact_max_elements)[0]
    score = _score64(es.vectors[top], q, metric)
    name = "distance" if metric == "euclidean" else "similarity"
    return pd.DataFrame(
        {
            "rank": np.arange(1, k + 1),
            "id": es.ids[top],
            "label": es.labels[top],
            name: -score if metric == "euclidean" else score,
            "row": top.astype(np.int64),
        }
    )


def knn_indices(
    es: EmbeddingSet,
    rows: Collection[int] | Collection[str] | NDArray[np.integer],
    *,
    k: int = 10,
    metric: str = "cosine",
    exact_max_elements: int = EXACT_MAX_ELEMENTS,
) -> NDArray[np.intp]:
    """Row indices of the ``k`` nearest neighbours of several items at once (each without itself).

    Same search, order and tie rule as :func:`most_similar`, for highlighting neighbours of a
    selection in the plot.

    Parameters
    ----------
    rows : sequence of int (row indices) or of str (ids), length n_queries
    k : int, default=10
        1 <= k <= n_samples - 1.
    metric : {"cosine", "euclidean", "dot"}, default="cosine"
    exact_max_elements : int, default=EXACT_MAX_ELEMENTS

    Returns
    -------
    ndarray of shape (n_queries, k), dtype intp
        Row ``i`` lists the neighbours of ``rows[i]``, nearest first.

    Raises
    ------
    UnknownIdError
        An id is not in the set.
    ParameterError
        ``k`` out of range, unknown ``metric``, row index out of range.
    """
    check_metric(metric)
    r = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows)
    if r.size and r.dtype.kind in "OUS":
        r = es.index_of(r)
    elif r.size and r.dtype.kind not in "iu":
        raise ParameterError(f"rows must be row indices (int) or ids (str), got dtype {r.dtype}")
    r = r.astype(np.intp).ravel()
    if r.size and (r.min() < 0 or r.max() >= es.n_samples):
        raise ParameterError(f"row indices must be in 0..{es.n_samples - 1}, got {r.min()}..{r.max()}")
    k = _check_k(k, es.n_samples - 1)
    if r.size == 0:
        return np.empty((0, k), dtype=np.intp)
    blocked = np.zeros(es.n_samples, dtype=bool)
    return _search(es, es.vectors[r], k, metric, blocked, r, exact_max_elements)
