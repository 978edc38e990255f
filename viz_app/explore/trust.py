"""How faithful a map is, point by point: neighbourhood preservation, trustworthiness, continuity.

A 2-D or 3-D map keeps only part of the neighbourhoods of a 50- or 384-d space. This module
measures which part, from two kNN graphs:

- the **original-space graph** the map already has (the one the neighbour lists show:
  :func:`viz_app.map.prepare.knn_graph`, UMAP's own graph when the map is UMAP), passed in as
  ``graph``;
- the **map-space graph**, ``k`` nearest neighbours of every point on the map, from
  scikit-learn's ``KDTree`` on the 2-D/3-D coordinates (O(n log n)).

Per point ``i``, with ``U_k(i)`` its ``k`` true (original-space) neighbours and ``V_k(i)`` its
``k`` map neighbours:

- **preservation@k** ``|U_k(i) ∩ V_k(i)| / k`` (the "neighbourhood preservation" or
  "k-ary neighbourhood agreement" of Lee & Verleysen 2009, "Quality assessment of
  dimensionality reduction: rank-based criteria", Neurocomputing 72: its ``Q_NX(k)``; a random
  map scores ``k / (n - 1)`` on average);
- **trustworthiness term** ``t_i = 1 - 2 / (k (2n - 3k - 1)) * sum_{j in V_k(i) \\ U_k(i)}
  (r(i, j) - k)``, ``r(i, j)`` the rank of ``j`` among ``i``'s neighbours in the original space
  (1 = nearest): a map neighbour that is far in reality lowers it;
- **continuity term** ``c_i``, the same with the roles swapped: ``j in U_k(i) \\ V_k(i)`` ranked
  by map distance: a true neighbour that the map puts far away lowers it.

Venna & Kaski 2006 ("Local multidimensional scaling", Neural Networks 19; first in Venna &
Kaski 2001, ICANN) define trustworthiness ``T(k)`` and continuity ``C(k)`` as the means of these
terms, which is what :func:`trust_metrics` returns per map; ``T`` equals
``sklearn.manifold.trustworthiness`` when the graph is exact (tested on GloVe).

Cost. The map graph and preservation are O(n k log n) time (scikit-learn's ``KDTree``); so are
the continuity terms' map ranks (the tree counts the points within a radius). The
trustworthiness terms need original-space ranks *beyond* ``k`` (how far is a false neighbour
really?), i.e. distances from ``i`` to every point: O(n log n) per ranked point, computed
exactly in tiles of a few rows by a few thousand points (a matrix product, sorted in place,
the targets looked up by ``searchsorted``; never an ``n x n`` matrix), for every point while
``n * n <= rank_budget`` (5,000 points at the default), and above that for a seeded random
sample of ``rank_budget // n`` points (at least :data:`MIN_RANKED`): ``T`` and ``C`` are then
sample means (standard error reported), and the per-point terms of the other points are NaN.
``TrustReport.ranked`` says how many were ranked. Ranks are exact up to float rounding: a
point whose distance from ``i`` equals the target's within rounding may count either way
(as in scikit-learn, which ranks by its own rounding of the distances).
Memory: every pass runs in blocks of rows (and tiles of points) sized from the original-space
graph's bytes (:func:`_blocks`); with the KD-tree (n coordinates and n indices) and the three
float32 values per point of the result, the peak stays under 2x the graph's size
(``benchmarks/trust.py`` prints it; a test checks it at 5,000 points).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from threadpoolctl import ThreadpoolController

from viz_app.errors import ParameterError
from viz_app.progress import Progress, null_progress

__all__ = [
    "DEFAULT_K",
    "MIN_RANKED",
    "RANK_BUDGET",
    "FocusNeighbours",
    "TrustReport",
    "focus_neighbours",
    "map_knn",
    "trust_metrics",
]

DEFAULT_K = 10
#: Up to this many (point, point) distance pairs the ranks are exact for every point
#: (5,000 points); above, a seeded sample of ``RANK_BUDGET // n`` points is ranked (2,500 at
#: 10,000 points: T and C within about +-0.002 there, the standard error reported). Only the
#: summary and the per-point T and C terms use ranks; preservation@k is exact for every point.
RANK_BUDGET = 25_000_000
#: The smallest sample ranked above the budget.
MIN_RANKED = 2_000
METRICS = ("cosine", "euclidean")


@dataclass(frozen=True, eq=False)
class TrustReport:
    """How faithful one map is to the original space (see the module docstring).

    Attributes
    ----------
    trustworthiness, continuity : float in [0, 1]
        Venna & Kaski's ``T(k)`` and ``C(k)``: means of the per-point terms over the ranked points.
    preservation : float in [0, 1]
        Mean preservation@k over all points (Lee & Verleysen's ``Q_NX(k)``).
    chance : float
        ``k / (n - 1)``: the expected preservation of a random map.
    k : int
    n : int
    ranked : int
        Points whose trustworthiness/continuity terms were computed (``n`` when exact).
    stderr : float
        Standard error of ``trustworthiness`` (and, about equal, of ``continuity``) from
        sampling; 0.0 when every point was ranked.
    per_point : DataFrame of n rows (a property, built on first use)
        ``id`` (str), ``preservation`` (float32, multiples of 1/k), ``trustworthiness`` and
        ``continuity`` (float32, NaN for points outside the ranked sample).
    values : tuple of three ndarrays of shape (n,), float32
        Those three columns as arrays (what ``per_point`` is built from).
    ids : ndarray of shape (n,) or None
        The ``id`` column (row numbers when None).
    graph : str
        Where the original-space graph came from (e.g. "UMAP's own kNN graph").
    metric : str
        Original-space metric of the ranks ("cosine" or "euclidean").
    elapsed_s : float
        Wall time, seconds (without building the original-space graph).
    """

    trustworthiness: float
    continuity: float
    preservation: float
    chance: float
    k: int
    n: int
    ranked: int
    stderr: float
    values: tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]] = field(repr=False)
    ids: NDArray[Any] | None = field(default=None, repr=False)
    graph: str = ""
    metric: str = "cosine"
    elapsed_s: float = 0.0

    @cached_property
    def per_point(self) -> pd.DataFrame:
        """``id``, ``preservation``, ``trustworthiness``, ``continuity`` (n rows; see above)."""
        ids = self.ids if self.ids is not None else np.arange(self.n).astype(str)
        pres, t, c = self.values
        return pd.DataFrame(
            {"id": np.asarray(ids, dtype=object), "preservation": pres, "trustworthiness": t, "continuity": c}
        )

    @property
    def sampled(self) -> bool:
        """True when T and C are means over a sample of the points."""
        return self.ranked < self.n

    def summary(self) -> dict[str, Any]:
        """The per-map figures as plain JSON-ready values (for exports and settings files)."""
        return {
            "k": self.k,
            "trustworthiness": round(self.trustworthiness, 6),
            "continuity": round(self.continuity, 6),
            "preservation": round(self.preservation, 6),
            "chance": round(self.chance, 6),
            "ranked_points": self.ranked,
            "points": self.n,
            "graph": self.graph,
            "metric": self.metric,
        }

    def caption(self) -> str:
        """One line for a map caption, e.g. ``trustworthiness 0.93 · continuity 0.95 · ...``."""
        how = f" (T and C on a seeded sample of {self.ranked:,} points, ±{self.stderr:.3f})" if self.sampled else ""
        return (
            f"Trustworthiness {self.trustworthiness:.3f} · continuity {self.continuity:.3f} · "
            f"neighbourhood preserved@{self.k} {self.preservation:.1%} (chance {self.chance:.2%}){how}"
        )


def map_knn(coords: NDArray[np.floating], k: int) -> NDArray[np.intp]:
    """The ``k`` nearest neighbours of every point on the map (each without itself).

    scikit-learn ``KDTree`` (euclidean) on the 2-D/3-D coordinates, in float64; O(n k log n).

    Parameters
    ----------
    coords : ndarray of shape (n, 2|3)
    k : int, 1 <= k < n

    Returns
    -------
    ndarray of shape (n, k), dtype intp
        Nearest first. A point drawn exactly on top of others keeps them, not itself.
    """
    return _map_knn(np.ascontiguousarray(coords, dtype=np.float64), k)[0]


def _map_knn(c: NDArray[np.float64], k: int) -> tuple[NDArray[np.intp], Any]:
    from sklearn.neighbors import KDTree

    tree = KDTree(c)
    return _map_rows(tree, c, np.arange(len(c)), k), tree


def _map_rows(tree: Any, c: NDArray[np.float64], rows: NDArray[np.intp], k: int) -> NDArray[np.intp]:
    """The ``k`` map neighbours of ``rows`` (nearest first, without the row itself), from one
    ``KDTree.query`` of ``k + 1``: the row itself is dropped where found, else (points drawn on
    top of it hid it) the farthest of the ``k + 1``."""
    nn = tree.query(c[rows], k=k + 1, return_distance=False, sort_results=True)
    own = nn == rows[:, None]
    drop = np.where(own.any(axis=1), own.argmax(axis=1), k)
    # columns before the dropped one stay, the others shift left by one
    return np.where(np.arange(k) < drop[:, None], nn[:, :k], nn[:, 1:])


def _members(a: NDArray[np.integer], b: NDArray[np.integer]) -> NDArray[np.bool_]:
    """(m, k) mask: ``a[i, j]`` is in row ``b[i]`` (callers pass blocks of rows: O(m k^2) memory)."""
    return (a[:, :, None] == b[:, None, :]).any(axis=2)


class _Keys:
    """Keys that order every point by its original-space distance from a row (smaller = closer),
    without a copy of the vectors: cosine ``-(x_i / |x_i|) . x_j / |x_j|`` (the column scaling
    is applied to the product, so only ``n`` inverse norms are kept); euclidean
    ``|x_j|^2 - 2 x_i . x_j`` (the squared distance minus the row's constant ``|x_i|^2``).
    Computed in float32 for float32 vectors (as scikit-learn computes distances), else float64."""

    def __init__(self, x: NDArray[np.floating], metric: str) -> None:
        self.x = x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)
        self.metric = metric
        sq = np.einsum("ij,ij->i", self.x, self.x)
        if metric == "cosine":
            norm = np.sqrt(sq)
            # minus the inverse norm (0 for zero rows): keys are minus the cosine similarity
            self.col = -np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
        else:
            self.col = sq

    def rows(self, rows: NDArray[np.intp]) -> NDArray[np.floating]:
        """(len(rows), n) keys; one matrix product, scaled in place."""
        return self.block(self.lhs(rows), 0, len(self.x))

    def lhs(self, rows: NDArray[np.intp]) -> NDArray[np.floating]:
        """The rows' side of the products: their vectors (cosine: over their norms)."""
        xr = self.x[rows]
        return xr * -self.col[rows, None] if self.metric == "cosine" else xr

    def block(self, xr: NDArray[np.floating], lo: int, hi: int) -> NDArray[np.floating]:
        """(len(xr), hi - lo) keys of the rows (``xr`` from :meth:`lhs`) against points lo..hi-1."""
        g = xr @ self.x[lo:hi].T
        if self.metric == "cosine":
            g *= self.col[None, lo:hi]
        else:
            g *= -2.0
            g += self.col[None, lo:hi]
        return g

    def pairs(self, xr: NDArray[np.floating], targets: NDArray[np.intp]) -> NDArray[np.floating]:
        """(len(xr), w) keys of each row against its own ``targets`` (>= 0)."""
        g = np.empty(targets.shape, dtype=xr.dtype)
        for j in range(targets.shape[1]):  # one column at a time: no (rows, w, features) gather
            g[:, j] = np.einsum("rd,rd->r", xr, self.x[targets[:, j]])
        if self.metric == "cosine":
            g *= self.col[targets]
        else:
            g *= -2.0
            g += self.col[targets]
        return g


def _ranks(keys: _Keys, rows: NDArray[np.intp], targets: NDArray[np.intp], step: int, width: int) -> NDArray[np.int64]:
    """Rank of ``targets[r, j]`` among the neighbours of ``rows[r]`` (1 = nearest; -1 entries: 0).

    Rank = 1 + the number of other points strictly closer, counted in tiles of ``step`` rows by
    ``width`` points (one matrix product each, so the vectors are read once per ``step`` rows):
    each tile is sorted in place (numpy's ``sort``) and every target's key looked up in it
    (``searchsorted``, side "left": the count of strictly smaller keys), the target itself and
    the row left out. O(n log width) per row, memory one tile. Each target's key comes from its
    own product, whose float rounding may differ from the tile's: a point whose distance from
    the row equals the target's up to rounding may count either way (scikit-learn's ranks, from
    its own distance computation, have the same latitude).
    """
    out = np.zeros(targets.shape, dtype=np.int64)
    if targets.shape[1] == 0 or len(rows) == 0:
        return out
    n = len(keys.x)
    for s in range(0, len(rows), step):
        r, t = rows[s : s + step], targets[s : s + step]
        valid = t >= 0
        tt = np.where(valid, t, 0)
        xr = keys.lhs(r)
        dt = keys.pairs(xr, tt)
        count = np.zeros(t.shape, dtype=np.int64)
        for lo in range(0, n, width):
            hi = min(n, lo + width)
            d = keys.block(xr, lo, hi)
            own = np.flatnonzero((r >= lo) & (r < hi))
            d[own, r[own] - lo] = np.inf  # a point is not its own neighbour
            ti, tj = np.nonzero((tt >= lo) & (tt < hi) & valid)
            # the target itself, if its tile key came out (by rounding) under its own key
            np.subtract.at(count, (ti, tj), d[ti, tt[ti, tj] - lo] < dt[ti, tj])
            d.sort(axis=1)
            for i in range(len(r)):
                count[i] += d[i].searchsorted(dt[i], side="left")
            del d
        out[s : s + len(r)] = np.where(valid, 1 + count, 0)
    return out


def _map_ranks(
    tree: Any, c: NDArray[np.float64], rows: NDArray[np.intp], targets: NDArray[np.intp], step: int
) -> NDArray[np.int64]:
    """Rank of ``targets[r, j]`` by map distance from ``rows[r]`` (1 = nearest; -1 entries: 0).

    Counted by the KD-tree (``query_radius(count_only=True)``: O(log n) per target in 2-D/3-D)
    within a radius just under the target's distance (relative 1e-9: points that close count as
    ties, not as closer); the count includes the row itself, standing for the 1 of the rank.
    ``step`` rows per query (its temporaries: about ``_MAP_RANK_BYTES`` per row and target).
    """
    out = np.zeros(targets.shape, dtype=np.int64)
    for s in range(0, len(rows), step):
        t = targets[s : s + step]
        ri, ci = np.nonzero(t >= 0)
        if not len(ri):
            continue
        src, dst = rows[s + ri], t[ri, ci]
        dist = np.sqrt(((c[src] - c[dst]) ** 2).sum(axis=1))
        counts = np.ones(len(src), dtype=np.int64)
        far = dist > 0
        if far.any():
            counts[far] = tree.query_radius(c[src[far]], dist[far] * (1.0 - 1e-9), count_only=True)
        out[s + ri, ci] = counts
    return out


def _pad(rows_mask: NDArray[np.bool_], values: NDArray[np.integer], width: int) -> NDArray[np.intp]:
    """Per row, the ``values`` where the mask is set, left-aligned in ``width`` columns, padded with -1."""
    out = np.full((len(values), width), -1, dtype=np.intp)
    order = np.argsort(~rows_mask, axis=1, kind="stable")[:, :width]
    picked = np.take_along_axis(values, order, axis=1)
    ok = np.take_along_axis(rows_mask, order, axis=1)
    out[:, : order.shape[1]][ok] = picked[ok]
    return out


#: Temporaries, bytes per row and neighbour (measured with ``tracemalloc`` at k=10, rounded up):
#: the map pass (the KD-tree query and its heap, membership masks, padding) and the map ranks
#: (coordinates and radii of the ``query_radius`` counts).
_MAP_ROW_BYTES = 90
_MAP_RANK_BYTES = 180
#: Kept while the keys are ranked, bytes per ranked row and neighbour: the rows' false
#: neighbours (a map block's and those waiting for a full tile), their keys, counts and ranks.
_KEPT_BYTES = 48
#: What numpy's broadcasting ufuncs may allocate on a call (buffers of 8,192 elements; measured
#: 32 KB for an in-place float32 product), beside the arrays.
_UFUNC_BUFFERS = 65_536
#: Most rows of keys per tile (the product reads the vectors once per tile row; more rows,
#: more ``searchsorted`` calls on shorter sorted rows).
_MAX_KEY_ROWS = 32
#: Fewest points per tile row of keys.
_MIN_KEY_COLS = 256


def _blocks(n: int, k: int, graph_bytes: int, fixed_bytes: int, key_bytes: int) -> tuple[int, int, int, int]:
    """Rows per block of the map pass and of the map ranks; rows and columns per tile of keys.

    The passes run one at a time, each freeing its temporaries before the next, so each may use
    three quarters of what 2x the graph's bytes leaves beside the arrays held throughout
    (``fixed_bytes``: the map in float64 and its KD-tree, the inverse norms, the three result
    columns) and numpy's ``_UFUNC_BUFFERS``:

    - the map pass, half of it at ``_MAP_ROW_BYTES`` per row and neighbour;
    - the map ranks, ``_MAP_RANK_BYTES`` per row and neighbour, beside the two n-long buffers
      (16 bytes a point) that scikit-learn's ``query_radius`` allocates on every call;
    - a tile of keys (``key_bytes`` each, at most ``_MAX_KEY_ROWS`` rows, at least
      ``_MIN_KEY_COLS`` columns), in what the ranked rows kept meanwhile leave
      (``_KEPT_BYTES`` per row and neighbour, for a map block and a tile).

    Bigger blocks mean fewer calls (scikit-learn checks its input on every query; a product of
    few rows reads all the vectors for little work). At least 16 and 16 rows and a tile of 1 x
    ``_MIN_KEY_COLS`` (a graph too narrow for the budget then goes over it).
    """
    free = max(0, 2 * graph_bytes - fixed_bytes - _UFUNC_BUFFERS) * 3 // 4
    map_rows = max(16, free // 2 // (_MAP_ROW_BYTES * k))
    rank_rows = max(16, (free - 16 * n) // (_MAP_RANK_BYTES * k))
    tile = max(0, free - (map_rows + _MAX_KEY_ROWS) * _KEPT_BYTES * k) // key_bytes
    key_rows = max(1, min(_MAX_KEY_ROWS, tile // _MIN_KEY_COLS))
    key_cols = min(n, max(_MIN_KEY_COLS, tile // key_rows))
    return map_rows, rank_rows, key_rows, key_cols


def trust_metrics(
    vectors: NDArray[np.floating],
    coords: NDArray[np.floating],
    graph: NDArray[np.integer],
    *,
    k: int = DEFAULT_K,
    metric: str = "cosine",
    ids: NDArray[Any] | None = None,
    rank_budget: int = RANK_BUDGET,
    random_state: int = 0,
    graph_source: str = "",
    progress: Progress | None = None,
) -> TrustReport:
    """Trustworthiness, continuity (Venna & Kaski 2006) and preservation@k (Lee & Verleysen 2009).

    Everything runs in blocks of rows sized from the graph (:func:`_blocks`): with the result
    (three float32 values per point) and scikit-learn's KD-tree on the map, the peak stays
    under 2x the graph's bytes (1.6-1.7x measured at 5,000 to 100,000 points, k=10): no copy
    of the vectors, no ``n x n`` matrix, not even the ``n x k`` map-space graph at once.

    Parameters
    ----------
    vectors : ndarray of shape (n, n_features)
        The original space (float32 stays float32, as in scikit-learn; other dtypes float64).
    coords : ndarray of shape (n, 2|3)
        The map.
    graph : ndarray of shape (n, >= k), integer
        Original-space neighbours of each row, nearest first, without the row itself (e.g.
        :func:`viz_app.map.prepare.knn_graph`); only the first ``k`` columns are used. An
        approximate graph gives approximate figures.
    k : int, default=10
        ``1 <= k < n / 2`` (the normalisation of T and C needs ``2n - 3k - 1 > 0``).
    metric : {"cosine", "euclidean"}, default="cosine"
        Original-space distance for the ranks; must be the graph's.
    ids : ndarray of shape (n,), optional
        The ``id`` column of ``per_point``; default row numbers.
    rank_budget : int, default=RANK_BUDGET
        Exact ranks for every point while ``n * n <= rank_budget``; above, for a seeded sample
        of ``max(MIN_RANKED, rank_budget // n)`` points.
    random_state : int, default=0
        Seed of that sample.
    graph_source : str
        Described in the report (``TrustReport.graph``).
    progress : Progress, optional

    Returns
    -------
    TrustReport

    Raises
    ------
    ParameterError
        Shapes that disagree, ``k`` out of range, a graph narrower than ``k`` or with rows
        outside ``0..n-1``, an unknown metric.
    """
    with _blas().limit(limits=1, user_api="blas"):
        return _trust_metrics(vectors, coords, graph, k, metric, ids, rank_budget, random_state, graph_source, progress)


@cache
def _blas() -> ThreadpoolController:
    """threadpoolctl's view of the loaded BLAS libraries, found once (scanning them allocates)."""
    return ThreadpoolController()


def _trust_metrics(vectors, coords, graph, k, metric, ids, rank_budget, random_state, graph_source, progress):
    """:func:`trust_metrics`, with BLAS on one thread: its products are a few rows against all
    points, where a second OpenBLAS thread waits more than it works (measured: 2 rows x 10,000 x 50
    in float32 took 0.11 ms on one thread, 0.3-14 ms on two while the other core was busy)."""
    from sklearn.neighbors import KDTree

    t0 = time.perf_counter()
    report = progress or null_progress
    x, c, g = np.asarray(vectors), np.asarray(coords), np.asarray(graph)
    n = len(x)
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}; allowed: {', '.join(METRICS)}")
    if x.ndim != 2 or c.ndim != 2 or len(c) != n or c.shape[1] not in (1, 2, 3):
        raise ParameterError(f"vectors of shape {x.shape} and map coordinates of shape {c.shape} do not match")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < n / 2:
        raise ParameterError(f"k must be an integer in 1..{max(1, (n - 1) // 2)} for {n} points, got {k!r}")
    k = int(k)
    if g.ndim != 2 or len(g) != n or g.shape[1] < k or not np.issubdtype(g.dtype, np.integer):
        raise ParameterError(f"the kNN graph of shape {g.shape} does not give {k} neighbours for {n} points")
    u = g[:, :k]  # a view: no copy of the graph
    if int(u.min()) < 0 or int(u.max()) >= n:
        raise ParameterError(f"the kNN graph has rows outside 0..{n - 1}")

    if n * n <= rank_budget:
        is_ranked = None  # every point
        n_ranked = n
    else:
        m = min(n, max(MIN_RANKED, rank_budget // n))
        is_ranked = np.zeros(n, dtype=bool)
        is_ranked[np.random.default_rng(random_state).choice(n, m, replace=False)] = True
        n_ranked = m
    scale = 2.0 / (k * (2.0 * n - 3.0 * k - 1.0))

    report(0.0, "map-space neighbours (KD-tree)")
    cm = np.ascontiguousarray(c, dtype=np.float64)
    tree = KDTree(cm)  # scikit-learn keeps ``cm`` as its data (no copy: float64, C order)
    keys = _Keys(x, metric)
    preservation = np.empty(n, dtype=np.float32)
    per_t = np.full(n, np.nan, dtype=np.float32)
    per_c = np.full(n, np.nan, dtype=np.float32)
    fixed = cm.nbytes + 10 * n + keys.col.nbytes + 3 * preservation.nbytes + n  # KD-tree: indices, nodes
    map_rows, rank_rows, key_rows, key_cols = _blocks(n, k, g.nbytes, fixed, keys.x.itemsize)
    t_sum = c_sum = t_sq = 0.0
    # ranked rows wait here until a tile of ``key_rows`` is full (a sampled map block has few)
    pending: list[tuple[NDArray[np.intp], NDArray[np.intp]]] = []
    n_pending = 0
    for s in range(0, n, map_rows):
        rows = np.arange(s, min(n, s + map_rows))
        ub = u[rows]
        # in the graph's dtype (indices < n fit): comparing mixed dtypes makes numpy cast through
        # buffers of 8,192 elements per operand, more than a small block's own bytes
        v = _map_rows(tree, cm, rows, k).astype(ub.dtype, copy=False)
        v_true = _members(v, ub)  # map neighbour is a true neighbour
        u_kept = _members(ub, v)  # true neighbour is also a map neighbour
        preservation[rows] = u_kept.sum(axis=1) / k
        sel = slice(None) if is_ranked is None else is_ranked[rows]
        rr = rows[sel]
        if len(rr):
            pending.append((rr, _pad(~v_true[sel], v[sel], k)))  # map neighbours that are not true ones
            n_pending += len(rr)
            missing = _pad(~u_kept[sel], ub[sel], k)  # true neighbours that are not map ones
            del v, ub, v_true, u_kept  # the rank passes below get their room
            r_map = _map_ranks(tree, cm, rr, missing, rank_rows)
            c_terms = 1.0 - scale * np.where(missing >= 0, np.maximum(r_map - k, 0), 0).sum(axis=1)
            del r_map, missing
            per_c[rr] = c_terms
            c_sum += float(c_terms.sum())
        else:
            del v, ub, v_true, u_kept
        last = s + map_rows >= n
        if n_pending >= key_rows or (last and n_pending):
            p_rows = np.concatenate([r for r, _ in pending])
            p_false = np.concatenate([f for _, f in pending])
            pending.clear()
            take = len(p_rows) if last else len(p_rows) // key_rows * key_rows
            r_orig = _ranks(keys, p_rows[:take], p_false[:take], key_rows, key_cols)
            t_terms = 1.0 - scale * np.where(p_false[:take] >= 0, np.maximum(r_orig - k, 0), 0).sum(axis=1)
            del r_orig
            per_t[p_rows[:take]] = t_terms
            t_sum += float(t_terms.sum())
            t_sq += float((t_terms**2).sum())
            pending = [(p_rows[take:], p_false[take:])]
            n_pending = len(p_rows) - take
            del p_rows, p_false
        report(min(1.0, (s + len(rows)) / n), f"{s + len(rows):,} / {n:,} points ({n_ranked:,} ranked)")

    sampled = n_ranked < n
    t_mean, c_mean = t_sum / n_ranked, c_sum / n_ranked
    var = max(0.0, (t_sq - n_ranked * t_mean**2) / (n_ranked - 1)) if n_ranked > 1 else 0.0
    stderr = float(np.sqrt(var / n_ranked)) if sampled else 0.0
    report(1.0, "done")
    return TrustReport(
        trustworthiness=t_mean,
        continuity=c_mean,
        preservation=float(preservation.mean(dtype=np.float64)),
        chance=k / (n - 1),
        k=k,
        n=n,
        ranked=n_ranked,
        stderr=stderr,
        values=(preservation, per_t, per_c),
        ids=ids,
        graph=graph_source,
        metric=metric,
        elapsed_s=time.perf_counter() - t0,
    )


def _scaled(report: Progress, a: float, b: float) -> Progress:
    def inner(f: float, message: str, /) -> None:
        report(a + (b - a) * f, message)

    return inner


@dataclass(frozen=True)
class FocusNeighbours:
    """One point's neighbourhood on the map against its true one (for the focus inspector).

    Attributes
    ----------
    row : int
    missing : ndarray of int
        True neighbours (original space) that are not among the ``k`` map neighbours, in true
        order (nearest first): the map puts them far away.
    missing_map_rank : ndarray of int
        Where each missing neighbour landed: its rank by map distance from ``row`` (> k).
    false : ndarray of int
        Map neighbours that are not true neighbours, nearest on the map first.
    false_rank : ndarray of int
        Their rank in the original space (> k), or 0 where not computed.
    kept : ndarray of int
        True neighbours that are also map neighbours.
    k : int
    """

    row: int
    missing: NDArray[np.intp]
    missing_map_rank: NDArray[np.int64]
    false: NDArray[np.intp]
    false_rank: NDArray[np.int64]
    kept: NDArray[np.intp]
    k: int

    def caption(self) -> str:
        """E.g. ``"7 of its 10 true neighbours are drawn near it; 3 missing ..."``."""
        return (
            f"{len(self.kept)} of its {self.k} true neighbours are among its {self.k} nearest on the map; "
            f"{len(self.missing)} missing neighbour{'s' if len(self.missing) != 1 else ''} (drawn far away), "
            f"{len(self.false)} false neighbour{'s' if len(self.false) != 1 else ''} (drawn near, not similar)"
        )


def focus_neighbours(
    row: int,
    coords: NDArray[np.floating],
    graph: NDArray[np.integer],
    *,
    k: int = DEFAULT_K,
    vectors: NDArray[np.floating] | None = None,
    metric: str = "cosine",
) -> FocusNeighbours:
    """Missing and false neighbours of one point: its true ``k`` against its ``k`` on the map.

    Parameters
    ----------
    row : int
        0 <= row < n.
    coords : ndarray of shape (n, 2|3)
    graph : ndarray of shape (n, >= k) or (>= k,)
        The original-space kNN graph (or just this row's neighbours), nearest first.
    k : int, default=10
    vectors : ndarray of shape (n, n_features), optional
        With it, ``false_rank`` gives each false neighbour's exact original-space rank
        (one row of distances, O(n)).
    metric : {"cosine", "euclidean"}

    Returns
    -------
    FocusNeighbours

    Raises
    ------
    ParameterError
        ``row`` or ``k`` out of range, or a graph narrower than ``k``.
    """
    c = np.ascontiguousarray(coords, dtype=np.float64)
    n = len(c)
    if not 0 <= int(row) < n:
        raise ParameterError(f"row {row} out of range 0..{n - 1}")
    if not 1 <= k < n:
        raise ParameterError(f"k must be in 1..{n - 1}, got {k}")
    g = np.asarray(graph)
    true = (g[row] if g.ndim == 2 else g)[:k].astype(np.intp)
    if len(true) < k:
        raise ParameterError(f"the kNN graph gives {len(true)} neighbours, not {k}")
    d = np.sqrt(((c - c[row]) ** 2).sum(axis=1))
    d[row] = np.inf
    near = np.argsort(d, kind="stable")[:k]
    in_map = np.isin(true, near)
    missing, kept = true[~in_map], true[in_map]
    missing_rank = 1 + (d[None, :] < d[missing][:, None]).sum(axis=1) if len(missing) else np.zeros(0, np.int64)
    false = near[~np.isin(near, true)]
    false_rank = np.zeros(len(false), np.int64)
    if vectors is not None and len(false):
        do = _Keys(np.asarray(vectors), metric).rows(np.array([row]))[0]
        do[row] = np.inf
        false_rank = 1 + (do[None, :] < do[false][:, None]).sum(axis=1)
    return FocusNeighbours(
        row=int(row),
        missing=missing,
        missing_map_rank=np.asarray(missing_rank, dtype=np.int64),
        false=false,
        false_rank=np.asarray(false_rank, dtype=np.int64),
        kept=kept,
        k=int(k),
    )
