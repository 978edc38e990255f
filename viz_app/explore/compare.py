"""Compare two embeddings of the same items: where do their neighbourhoods agree, which items moved?

After the Embedding Comparator (Boggust, Carter & Satyanarayan, IUI 2022):

1. **Match** the items of the two sets by id or by label (:func:`match`); the others are reported.
2. **Per item**, the Jaccard similarity of its ``k`` nearest neighbours in each space, among the
   matched items: ``|N_a ∩ N_b| / |N_a ∪ N_b|`` in [0, 1]. Neighbours come from
   :func:`viz_app.explore.neighbors.knn_indices` (exact below 10**8 vector entries, a pynndescent
   index above), cosine by default. Items are ranked by how much their neighbourhood changed:
   Jaccard, then the distance ratio (in each space, the mean distance to its own k neighbours
   over the mean distance to the other space's k neighbours, averaged over the two spaces; 1
   when the other space's neighbours are as close as its own), then row order.
3. **Globally**: the mean Jaccard@k; linear CKA (Kornblith, Norouzi, Lee & Hinton, ICML 2019),
   invariant to rotations and isotropic scaling, computed from the d×d cross-covariances
   (O(n·d²), no n×n matrix unless n is smaller than the dimensions); and, when both spaces have
   the same dimension, the orthogonal Procrustes disparity (Schönemann 1966, via
   ``scipy.linalg.orthogonal_procrustes``), equal to ``scipy.spatial.procrustes``'s.

A side can also be a map, ``(EmbeddingSet, Projection)``: its 2-D/3-D coordinates, with
euclidean distance. Two projections of one set then compare the same way (map vs map), and a set
against its own map measures how well the map keeps neighbourhoods.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from cachetools import LRUCache
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError, UnknownIdError
from viz_app.explore.matching import MATCH_ON, Matching, match
from viz_app.explore.neighbors import knn_indices, suggest_labels
from viz_app.explore.similarity import linear_cka, procrustes_disparity
from viz_app.reduce import Projection

__all__ = [
    "GRAPH_CACHE_BYTES",
    "MATCH_ON",
    "MAX_K",
    "METRICS",
    "Comparison",
    "Matching",
    "compare",
    "knn_graph",
    "linear_cka",
    "match",
    "procrustes_disparity",
]

METRICS = ("cosine", "euclidean")
#: Largest k offered (neighbour lists of k ids per item and side are kept in the table).
MAX_K = 100
_CHUNK = 2**22  # vector entries gathered at a time for the distance ratio (16 MiB of float32)
#: Bytes of kNN graphs kept for reuse (a 10,000-item graph at k=10 takes 0.8 MB).
GRAPH_CACHE_BYTES = 64 * 2**20
_graphs: LRUCache = LRUCache(maxsize=GRAPH_CACHE_BYTES, getsizeof=lambda g: g.nbytes)
_graphs_lock = threading.Lock()

Side = EmbeddingSet | tuple[EmbeddingSet, Projection]


def _side(side: Side, metric: str, which: str) -> tuple[EmbeddingSet, str]:
    """The set to compare (a map becomes a set of its coordinates) and the metric it uses."""
    if isinstance(side, EmbeddingSet):
        return side, metric
    if isinstance(side, tuple) and len(side) == 2 and isinstance(side[1], Projection):
        es, proj = side
        if proj.coords.shape[0] != es.n_samples or (proj.source_fingerprint not in ("", es.fingerprint)):
            raise ParameterError(f"side {which}: the projection was not computed from {es.name!r}")
        name = f"{es.name} · {proj.params.describe()}"
        return EmbeddingSet(proj.coords, ids=es.ids, labels=es.labels, metadata=es.metadata, name=name), "euclidean"
    raise ParameterError(
        f"side {which} must be an EmbeddingSet or (EmbeddingSet, Projection), got {type(side).__name__}"
    )


def knn_graph(es: EmbeddingSet, rows: NDArray[np.intp], *, k: int, metric: str = "cosine") -> NDArray[np.intp]:
    """The k nearest neighbours of each of ``rows`` among ``rows`` only (the matched items).

    Computed by :func:`viz_app.explore.neighbors.knn_indices` on the subset and kept in a
    byte-bounded LRU cache (``cachetools``; :data:`GRAPH_CACHE_BYTES`) keyed by the set's
    fingerprint, the rows and the metric; a graph with more neighbours serves a smaller k (the
    first k columns: the same neighbours, nearest first).

    Parameters
    ----------
    es : EmbeddingSet
    rows : ndarray of shape (m,), dtype intp
        Distinct row indices of ``es``.
    k : int
        1 <= k <= m - 1.
    metric : {"cosine", "euclidean"}

    Returns
    -------
    ndarray of shape (m, k), dtype intp
        Positions into ``rows`` (not rows of ``es``), nearest first; read-only.
    """
    whole = len(rows) == es.n_samples and bool((rows == np.arange(es.n_samples)).all())
    key = (
        es.fingerprint,
        metric,
        "all" if whole else hashlib.sha256(np.ascontiguousarray(rows, np.int64).tobytes()).hexdigest(),
    )
    with _graphs_lock:
        graph = _graphs.get(key)
    if graph is None or graph.shape[1] < k:
        graph = knn_indices(es if whole else es.subset(rows), np.arange(len(rows)), k=k, metric=metric)
        graph.setflags(write=False)
        with _graphs_lock:
            _graphs[key] = graph
    return graph[:, :k]


def _shared(na: NDArray[np.intp], nb: NDArray[np.intp]) -> NDArray[np.int64]:
    """Per row, how many entries two (m, k) lists of distinct positions have in common."""
    s = np.sort(np.hstack([na, nb]), axis=1)
    return (s[:, 1:] == s[:, :-1]).sum(axis=1)


def _mean_distance(x: NDArray[np.float32], nbrs: NDArray[np.intp], metric: str) -> NDArray[np.float64]:
    """(m,) mean distance (cosine distance 1 - similarity, or euclidean) from row i to rows nbrs[i]."""
    if metric == "cosine":
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    out = np.empty(len(x))
    step = max(1, _CHUNK // max(1, nbrs.shape[1] * x.shape[1]))
    for i in range(0, len(x), step):
        q, v = x[i : i + step, None, :], x[nbrs[i : i + step]]
        if metric == "cosine":
            d = 1.0 - np.einsum("mkd,mkd->mk", v, np.broadcast_to(q, v.shape), dtype=np.float64)
        else:
            d = np.sqrt(np.einsum("mkd,mkd->mk", v - q, v - q, dtype=np.float64))
        out[i : i + step] = d.mean(axis=1)
    return out


def _distance_ratio(xa, xb, na, nb, ma, mb) -> NDArray[np.float64]:
    ratios = []
    for x, own, other, metric in ((xa, na, nb, ma), (xb, nb, na, mb)):
        d_own, d_other = _mean_distance(x, own, metric), _mean_distance(x, other, metric)
        ratios.append(np.divide(d_own, d_other, out=np.ones_like(d_own), where=d_other > 0))
    return np.clip((ratios[0] + ratios[1]) / 2.0, 0.0, 1.0)


@dataclass(frozen=True, eq=False)
class Comparison:
    """Result of :func:`compare`: per-item agreement of two embeddings of the same items.

    Attributes
    ----------
    table : DataFrame of shape (n_matched, 11)
        One row per matched item, in A's row order: ``id`` and ``label`` (A's), ``id_b`` (B's id),
        ``jaccard`` (float in [0, 1]), ``n_shared`` (neighbours in both lists, 0..k),
        ``distance_ratio`` (float in [0, 1], see the module docstring), ``change_rank`` (1 = the
        most changed), ``neighbors_a`` / ``neighbors_b`` (lists of k ids, nearest first, each
        side's own ids), ``row_a`` / ``row_b`` (row index in each set).
    summary : dict
        ``mean_jaccard``, ``median_jaccard``, ``chance_jaccard`` (what random neighbour lists
        would give: ``k / (2(n_matched - 1) - k)``), ``cka`` (linear CKA in [0, 1]),
        ``procrustes`` (disparity in [0, 1], or None when the dimensions differ),
        ``n_matched``, ``n_unmatched``, ``n_unmatched_a``, ``n_unmatched_b``, ``matched_on``,
        ``k``, ``metric_a``, ``metric_b``, ``n_features_a``, ``n_features_b``, ``name_a``,
        ``name_b``, ``elapsed_s`` (seconds).
    unmatched : DataFrame
        Items of either set without a partner: ``side`` ("a"/"b"), ``id``, ``label``, ``reason``.
    a, b : EmbeddingSet
        The sets as compared (a map side: its coordinates as vectors).
    rows_a, rows_b : ndarray of shape (n_matched,), dtype intp
        Matched item i is row ``rows_a[i]`` of ``a`` and ``rows_b[i]`` of ``b``.
    neighbors_a, neighbors_b : ndarray of shape (n_matched, k), dtype intp
        Each matched item's neighbours in each space, as matched-item positions (0..n_matched-1).
    """

    table: pd.DataFrame
    summary: dict[str, Any]
    unmatched: pd.DataFrame
    a: EmbeddingSet
    b: EmbeddingSet
    rows_a: NDArray[np.intp]
    rows_b: NDArray[np.intp]
    neighbors_a: NDArray[np.intp]
    neighbors_b: NDArray[np.intp]

    @property
    def k(self) -> int:
        """Neighbours per item."""
        return int(self.neighbors_a.shape[1])

    def most_changed(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` items whose neighbourhood changed most: lowest Jaccard, then lowest distance
        ratio, then row order. Rows of :attr:`table` (index = matched position)."""
        t = self.table
        order = np.lexsort((np.arange(len(t)), t["distance_ratio"].to_numpy(), t["jaccard"].to_numpy()))
        return t.iloc[order[: max(0, n)]]

    def most_stable(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` items whose neighbourhood changed least: highest Jaccard, then highest
        distance ratio, then row order. Rows of :attr:`table` (index = matched position)."""
        t = self.table
        order = np.lexsort((np.arange(len(t)), -t["distance_ratio"].to_numpy(), -t["jaccard"].to_numpy()))
        return t.iloc[order[: max(0, n)]]

    def position(self, item: str) -> int:
        """Matched position (row of :attr:`table`) of an id or label of A (else of B).

        Raises
        ------
        UnknownIdError
            ``item`` is not a matched item (the message suggests close labels).
        """
        t = self.table
        for col in ("id", "label", "id_b"):
            hit = np.flatnonzero(t[col].to_numpy() == item)
            if len(hit):
                return int(hit[0])
        hit = np.flatnonzero(self.b.labels[self.rows_b] == item)
        if len(hit):
            return int(hit[0])
        close = suggest_labels(str(item), pd.unique(t["label"].to_numpy()))
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownIdError(f"{item!r} is not an item found in both sets{hint}")

    def neighbors(self, item: str | int) -> pd.DataFrame:
        """One item's neighbours in each space, side by side, shared ones marked.

        Parameters
        ----------
        item : str or int
            An id or label (see :meth:`position`), or a matched position.

        Returns
        -------
        DataFrame of shape (k, 9)
            ``rank`` (1-based), then for each space ``id_a``, ``label_a``, ``score_a``
            (cosine similarity, or euclidean distance for a euclidean side), ``shared_a`` (bool:
            also among the other space's k neighbours), and the same with ``_b``.
        """
        p = self.position(item) if isinstance(item, str) else int(item)
        if not 0 <= p < len(self.rows_a):
            raise ParameterError(f"matched position must be in 0..{len(self.rows_a) - 1}, got {p}")
        out: dict[str, Any] = {"rank": np.arange(1, self.k + 1)}
        for s, es, rows, own, other in (
            ("a", self.a, self.rows_a, self.neighbors_a, self.neighbors_b),
            ("b", self.b, self.rows_b, self.neighbors_b, self.neighbors_a),
        ):
            r = rows[own[p]]
            x, q = es.vectors[r].astype(np.float64), es.vectors[rows[p]].astype(np.float64)
            if self.summary[f"metric_{s}"] == "cosine":
                den = np.linalg.norm(x, axis=1) * np.linalg.norm(q)
                score = np.divide(x @ q, den, out=np.zeros(len(r)), where=den > 0)
            else:
                score = np.linalg.norm(x - q, axis=1)
            out |= {f"id_{s}": es.ids[r], f"label_{s}": es.labels[r], f"score_{s}": score}
            out[f"shared_{s}"] = np.isin(own[p], other[p])
        return pd.DataFrame(out)


def _procrustes_or_none(xa: NDArray[np.float32], xb: NDArray[np.float32]) -> float | None:
    """The disparity when the dimensions agree and neither side is constant, else None."""
    if xa.shape[1] != xb.shape[1]:
        return None
    try:
        return procrustes_disparity(xa, xb)
    except ParameterError:
        return None


def _check_k(k: Any, n_matched: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ParameterError(f"k must be an integer, got {k!r}")
    top = min(MAX_K, n_matched - 1)
    if not 1 <= k <= top:
        raise ParameterError(
            f"k must be in 1..{top} (at most {MAX_K} and fewer than the {n_matched} matched items), got {k}"
        )
    return int(k)


def compare(a: Side, b: Side, *, k: int = 10, metric: str = "cosine", on: str = "auto") -> Comparison:
    """Compare two embeddings of the same items (see the module docstring for the methods).

    Parameters
    ----------
    a, b : EmbeddingSet or (EmbeddingSet, Projection)
        The two spaces; a pair stands for the map's coordinates (euclidean distance).
    k : int, default=10
        Neighbours per item, 1..min(100, n_matched - 1).
    metric : {"cosine", "euclidean"}, default="cosine"
        Distance in each embedding space (map sides always use euclidean).
    on : {"auto", "id", "label"}, default="auto"
        How items are matched (:func:`match`).

    Returns
    -------
    Comparison

    Raises
    ------
    ParameterError
        Unknown ``metric`` or ``on``, ``k`` out of range, no matched item, or a projection that
        does not belong to its set.
    """
    t0 = time.perf_counter()
    if metric not in METRICS:
        raise ParameterError(f"metric must be one of {METRICS}, got {metric!r}")
    (sa, ma), (sb, mb) = _side(a, metric, "a"), _side(b, metric, "b")
    m = match(sa, sb, on=on)
    n = len(m.rows_a)
    k = _check_k(k, n)
    na, nb = knn_graph(sa, m.rows_a, k=k, metric=ma), knn_graph(sb, m.rows_b, k=k, metric=mb)
    shared = _shared(na, nb)
    jac = shared / (2.0 * k - shared)
    xa, xb = sa.vectors[m.rows_a], sb.vectors[m.rows_b]
    ratio = _distance_ratio(xa, xb, na, nb, ma, mb)
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((np.arange(n), ratio, jac))] = np.arange(1, n + 1)
    ids_a, ids_b = sa.ids[m.rows_a], sb.ids[m.rows_b]
    table = pd.DataFrame(
        {
            "id": ids_a,
            "label": sa.labels[m.rows_a],
            "id_b": ids_b,
            "jaccard": jac,
            "n_shared": shared.astype(np.int64),
            "distance_ratio": ratio,
            "change_rank": rank,
            "neighbors_a": list(ids_a[na]),
            "neighbors_b": list(ids_b[nb]),
            "row_a": m.rows_a.astype(np.int64),
            "row_b": m.rows_b.astype(np.int64),
        }
    )
    table["neighbors_a"] = table["neighbors_a"].map(list)
    table["neighbors_b"] = table["neighbors_b"].map(list)
    n_un_a = int((m.unmatched["side"] == "a").sum())
    summary = {
        "mean_jaccard": float(jac.mean()),
        "median_jaccard": float(np.median(jac)),
        "chance_jaccard": k / (2.0 * (n - 1) - k),
        "cka": linear_cka(xa, xb),
        "procrustes": _procrustes_or_none(xa, xb),
        "n_matched": n,
        "n_unmatched": len(m.unmatched),
        "n_unmatched_a": n_un_a,
        "n_unmatched_b": len(m.unmatched) - n_un_a,
        "matched_on": m.on,
        "k": k,
        "metric_a": ma,
        "metric_b": mb,
        "n_features_a": sa.n_features,
        "n_features_b": sb.n_features,
        "name_a": sa.name,
        "name_b": sb.name,
    }
    summary["elapsed_s"] = time.perf_counter() - t0
    return Comparison(table, summary, m.unmatched, sa, sb, m.rows_a, m.rows_b, na, nb)
