"""UMAP (McInnes, Healy & Melville 2018) via **umap-learn**, single-threaded (reproducible).

Progress, in umap-learn's real stages: the nearest-neighbour graph, fuzzy simplicial set and
spectral initialisation report the elapsed time every second (umap-learn reports nothing there);
then every layout epoch ``n / N`` with the time left, read from umap-learn's own epoch loop
through its documented ``tqdm_kwds`` (a private ``tqdm`` writing to our callback, per fit, so
concurrent fits never mix their bars).

**No compile in a fresh process** (measured: the first UMAP of 5,000 GloVe vectors in a fresh
process spent ~40 s of CPU compiling numba kernels, every process, even with numba's disk cache):

- The kNN graph: below 4,096 points umap-learn computes all distances itself; from 4,096 up to
  :data:`EXACT_KNN_MAX_POINTS` points this module gives umap-learn an **exact** kNN graph
  computed by scikit-learn (``NearestNeighbors(algorithm="brute")``) through umap-learn's
  ``precomputed_knn=(indices, distances, index)`` argument, so pynndescent's nearest-neighbour
  descent never runs for them. The third element, :class:`ExactKnnIndex`, answers
  pynndescent's ``query(X, k, epsilon)``, which umap-learn's ``transform`` and
  :func:`viz_app.explore.graph.neighbor_graph` call. Above that size umap-learn runs
  pynndescent's NN-descent, whose ``nn_descent`` pynndescent declares without the disk cache
  (it takes the distance as a function argument): :func:`umap_learn` routes it to
  metric-specialised wrappers that numba keeps on disk (:mod:`viz_app.reduce.nndescent`), so
  it is compiled once per machine (by :func:`warm_up` at install), not once per process.
  Measured on 30,000 GloVe vectors (cosine), a fresh process's first UMAP: 68 compiles before
  (54 s of compiling at load ~5.5, 44 s of CPU for the whole fit), none after (23 s of CPU for
  the fit at load ~9), with the same coordinates.
- umap-learn declares most of its kernels without ``cache=True`` (``smooth_knn_dist``,
  ``compute_membership_strengths``, the layout epoch, the transform helpers: checked in its
  source, 0.5.x), so numba's disk cache never held them. :func:`umap_learn` re-declares each
  such module-level kernel once per process with numba's own ``numba.njit(cache=True)`` and the
  kernel's own options, locals and (for eagerly compiled ones) signatures; the results are
  bit-identical (a re-declaration without the signatures would change ``tau_rand_int``'s
  ``int32`` result, so they are kept). Kernels umap-learn declares twice (serial and parallel
  layout epochs) get the cache on the serial one only (numba's cache index does not tell the
  two apart); closures are left alone.
- ``NUMBA_CACHE_DIR`` (:func:`use_numba_disk_cache`) keeps them in a user cache folder; the
  install's warm-up (``python -m viz_app.warmup``, :func:`warm_up`) fills it.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from viz_app.errors import ParameterError
from viz_app.progress import Eta, Progress, heartbeat
from viz_app.reduce.nndescent import pynndescent, use_numba_disk_cache, warm_up_nn_descent
from viz_app.reduce.registry import FitResult, Param, ProjectionParams, ReducerSpec, make_params, register

__all__ = [
    "EXACT_KNN_MAX_POINTS",
    "SPEC",
    "ExactKnnIndex",
    "precomputed_knn",
    "umap_learn",
    "use_numba_disk_cache",
    "warm_up",
]

log = logging.getLogger(__name__)

_GRAPH = 0.4  # share of the bar for the kNN graph, fuzzy set and initialisation
_MARK = "EL-EPOCH:"
#: umap-learn computes all pairwise distances itself below this many points (its own limit).
UMAP_EXACT_BELOW = 4096
#: From :data:`UMAP_EXACT_BELOW` up to this many points, UMAP gets an exact kNN graph from
#: scikit-learn (the live map's exact graph limit, ``viz_app.explore.graph``); above, NN-descent.
EXACT_KNN_MAX_POINTS = 20_000

_patch_lock = threading.Lock()
_patched: list[int] = []


def _cache_kernels() -> int:
    """Re-declare umap-learn's uncached module-level numba kernels with ``cache=True`` (see the
    module docstring); returns how many. Call once, before any umap-learn kernel runs."""
    import numba
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    modules = [m for name, m in list(sys.modules.items()) if m is not None and name.split(".")[0] == "umap"]
    found: dict[int, Any] = {}
    for m in modules:
        for v in vars(m).values():
            if isinstance(v, CPUDispatcher):
                found.setdefault(id(v), v)
    per_func = Counter(d.py_func for d in found.values())
    serial = Counter(d.py_func for d in found.values() if not d.targetoptions.get("parallel"))
    new: dict[int, Any] = {}
    for key, d in found.items():
        if not isinstance(d._cache, NullCache) or d.py_func.__closure__ is not None:
            continue
        if per_func[d.py_func] > 1 and (d.targetoptions.get("parallel") or serial[d.py_func] > 1):
            continue  # one cache index per Python function: only an unambiguous serial kernel
        options = {k: v for k, v in d.targetoptions.items() if k != "nopython"}
        signatures = None if d._can_compile else [cres.signature for cres in d.overloads.values()]
        new[key] = numba.njit(signatures, cache=True, locals=dict(d.locals), **options)(d.py_func)
    for m in modules:
        for name, v in list(vars(m).items()):
            if id(v) in new:
                setattr(m, name, new[id(v)])
    return len(new)


def umap_learn() -> Any:
    """The ``umap`` module, imported with numba's disk cache on and its kernels cached (once)."""
    use_numba_disk_cache()
    import umap

    pynndescent()  # pynndescent's NN-descent from numba's disk cache too
    with _patch_lock:
        if not _patched:
            _patched.append(_cache_kernels())
    return umap


class ExactKnnIndex:
    """Exact nearest neighbours of the training vectors (scikit-learn, brute force), queried the
    way umap-learn queries pynndescent's ``NNDescent``: ``query(X, k, epsilon)``.

    Cosine neighbours are the euclidean neighbours of the unit-normalised vectors (the same
    order; ``1 - cos = |a - b|**2 / 2`` for unit vectors), which scikit-learn finds with its
    chunked, compiled ``ArgKmin`` reduction: measured here on 20,000 GloVe vectors, 1.6 s of
    CPU against 13.3 s for ``metric="cosine"`` (a full distance matrix per chunk), with the same
    15 neighbours for every row and distances within 5e-7. A zero vector is at distance 0.5 from
    every unit vector here (scikit-learn's cosine says 1.0).

    Parameters
    ----------
    x : ndarray of shape (n, d), float32
        The training vectors.
    metric : {"cosine", "euclidean"}
    """

    _angular_trees = False  # read by umap-learn's transform (it only picks epsilon from it)

    def __init__(self, x: NDArray[np.float32], metric: str) -> None:
        from sklearn.neighbors import NearestNeighbors

        self.metric = metric
        self._nn = NearestNeighbors(metric="euclidean", algorithm="brute").fit(self._prepare(x))

    def _prepare(self, x: Any) -> NDArray[np.float32]:
        from sklearn.preprocessing import normalize

        x = np.asarray(x, dtype=np.float32)
        return normalize(x) if self.metric == "cosine" else x

    def query(
        self, query_data: Any, k: int = 10, epsilon: float = 0.1
    ) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """The ``k`` nearest training rows of every query row, nearest first (a training vector
        finds itself first), and their distances (cosine: ``1 - cos``; euclidean).

        Returns
        -------
        indices : ndarray of shape (m, k), int32
        distances : ndarray of shape (m, k), float32
        """
        dist, idx = self._nn.kneighbors(self._prepare(query_data), n_neighbors=k)
        if self.metric == "cosine":
            dist = np.maximum(dist * dist / 2.0, 0.0)
        return idx.astype(np.int32), dist.astype(np.float32)


def precomputed_knn(x: NDArray[np.float32], n_neighbors: int, metric: str) -> tuple[Any, Any, Any]:
    """umap-learn's ``precomputed_knn=`` argument for ``x``: exact, from scikit-learn, for
    :data:`UMAP_EXACT_BELOW` <= n <= :data:`EXACT_KNN_MAX_POINTS`; otherwise
    ``(None, None, None)`` (umap-learn's own default: it computes the graph itself).

    Parameters
    ----------
    x : ndarray of shape (n, d), float32
    n_neighbors : int
        UMAP's ``n_neighbors`` (each row's list includes the row itself, as umap-learn's does).
    metric : {"cosine", "euclidean"}

    Returns
    -------
    tuple
        ``(indices (n, n_neighbors) int32, distances (n, n_neighbors) float32, ExactKnnIndex)``.
    """
    if not UMAP_EXACT_BELOW <= len(x) <= EXACT_KNN_MAX_POINTS:
        return (None, None, None)
    index = ExactKnnIndex(x, metric)
    idx, dist = index.query(x, k=n_neighbors)
    return (idx, dist, index)


class _EpochWriter:
    """A file-like target for umap-learn's epoch ``tqdm``: turns ``"EL-EPOCH:n/N"`` into reports."""

    def __init__(self, report: Progress, on_first: Any) -> None:
        self.report, self.on_first = report, on_first
        self.eta: Eta | None = None

    def write(self, text: str) -> None:
        tail = text.strip().rpartition(_MARK)[2]
        done, _, total = tail.partition("/")
        if not done.isdigit() or not total.isdigit() or int(total) == 0:
            return
        if self.eta is None:
            self.on_first()
            self.eta = Eta(int(total))
        n, big = int(done), int(total)
        self.report(_GRAPH + (1 - _GRAPH) * n / big, f"UMAP layout: epoch {n} / {big}, {self.eta.text(n)}")  # fmt: skip

    def flush(self) -> None:
        """tqdm flushes its file; nothing to do."""


def _fit(x: NDArray[np.float32], p: ProjectionParams, report: Progress, *, exact_knn: bool = True) -> FitResult:
    with heartbeat(report, "UMAP: loading umap-learn", start=0.0, stop=0.02):
        umap = umap_learn()

    precomputed = precomputed_knn(x, int(p.n_neighbors), p.metric) if exact_knn else (None, None, None)
    if precomputed[0] is not None:
        how = "exact, scikit-learn"
    else:
        how = "exact distances" if len(x) < UMAP_EXACT_BELOW else "nearest-neighbour descent (pynndescent)"
    with heartbeat(report, f"UMAP: kNN graph ({how}), fuzzy set and initialisation", start=0.02, stop=_GRAPH) as stop:
        tqdm_kwds = {
            "disable": False,
            "file": _EpochWriter(report, stop),
            "bar_format": _MARK + "{n}/{total}",
            "mininterval": 0.5,
            "ascii": True,
        }
        reducer = umap.UMAP(
            n_components=p.n_components,
            n_neighbors=p.n_neighbors,
            min_dist=p.min_dist,
            metric=p.metric,
            random_state=p.random_state,
            n_jobs=1,  # umap-learn is only reproducible single-threaded
            tqdm_kwds=tqdm_kwds,
            precomputed_knn=precomputed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            coords = reducer.fit_transform(x)
    reducer.tqdm_kwds = {"disable": True}  # a later transform must not report to this fit's bar
    return FitResult(np.asarray(coords, dtype=np.float32), {}, reducer)


def _transform(model: Any, p: ProjectionParams, x: NDArray[np.float32]) -> NDArray[np.float32]:
    """umap-learn ``UMAP.transform``: kNN in the training set, then a short optimisation."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(model.transform(x), dtype=np.float32)


def _check_n(n: int, values: Mapping[str, Any]) -> None:
    k = values["n_neighbors"]
    if n < 4 or k >= n:
        raise ParameterError(
            f"UMAP with n_neighbors={k} needs more than {max(k, 3)} points, got {n}; lower n_neighbors"
        )


def warm_up(*, nn_descent: bool = True) -> float:
    """Load (or compile and cache) umap-learn's and pynndescent's numba kernels on small inputs,
    so the first real UMAP of any size pays no compile.

    Runs the paths real maps take, each with a fit and a two-point ``transform`` (its first
    call needs more kernels): below 4,096 points umap-learn's own exact distances (cosine and
    euclidean); 4,096 up to :data:`EXACT_KNN_MAX_POINTS` points the exact kNN graph given to
    umap-learn (cosine); pynndescent's NN-descent of larger sets
    (:func:`viz_app.reduce.nndescent.warm_up_nn_descent`: cosine, euclidean, read-only data);
    and, with ``nn_descent``, a UMAP fit and transform through umap-learn's NN-descent path
    (cosine, 4,196 points of 128 dimensions: pynndescent's search tree kernels, seconds of
    fitting even when every kernel is on disk, so the fit worker skips it and loads those
    kernels on its first large fit). Every kernel is kept in numba's disk cache, so a second
    process only loads them. A plain function with no arguments required, so it can run in any
    worker process.

    Returns
    -------
    float
        Seconds spent. Measured, see ``benchmarks/startup.py``: seconds once numba's disk cache
        holds the kernels (most of it the small fits themselves); minutes into an empty cache.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    quiet = lambda f, m: None  # noqa: E731
    small = rng.normal(size=(300, 8)).astype(np.float32)  # umap-learn's exact kNN path
    for metric in ("cosine", "euclidean"):
        p = make_params("umap", n_samples=len(small), metric=metric, n_neighbors=10)
        _transform(_fit(small, p, quiet).model, p, small[:2])  # transform compiles its own kernels
    mid = rng.normal(size=(UMAP_EXACT_BELOW + 100, 8)).astype(np.float32)  # the exact graph given to UMAP
    p = make_params("umap", n_samples=len(mid), metric="cosine", n_neighbors=10)
    _transform(_fit(mid, p, quiet).model, p, mid[:2])
    warm_up_nn_descent()  # pynndescent's graph above EXACT_KNN_MAX_POINTS: 0.2 s once on disk
    if nn_descent:  # umap-learn's NN-descent path, fitted on few points
        # 128 dimensions: pynndescent's search tree (built by the first transform) then splits
        # its 4,196 rows (over its 1 MiB depth-first size), as it does for real sets
        wide = rng.normal(size=(UMAP_EXACT_BELOW + 100, 128)).astype(np.float32)
        _transform(_fit(wide, p, quiet, exact_knn=False).model, p, wide[:2])
    return time.perf_counter() - t0


SPEC = register(
    ReducerSpec(
        name="umap",
        display="UMAP",
        library="umap-learn",
        reference="McInnes, Healy & Melville 2018",
        summary="UMAP (umap-learn): local structure and some of the global shape.",
        params=(
            Param(
                "n_neighbors",
                int,
                15,
                2,
                200,
                1,
                "n_neighbors",
                "Local neighbourhood size: small = fine detail, large = global shape.",
                upper_for_n=lambda n: n - 1,  # UMAP needs n_neighbors < n
            ),
            Param("min_dist", float, 0.1, 0.0, 1.0, 0.05, "min_dist", "How tightly points may pack in the map."),
        ),
        uses_metric=True,
        max_points=200_000,
        check_n_samples=_check_n,
        fit=_fit,
        transform=_transform,
        transform_is_exact=False,
        stages=("loading umap-learn", "kNN graph, fuzzy set and initialisation", "layout epochs"),
        revision=1,  # 1: exact kNN graph (scikit-learn) from 4,096 to 20,000 points, was NN-descent
    )
)
