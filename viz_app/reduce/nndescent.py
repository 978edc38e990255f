"""pynndescent's nearest-neighbour descent (Dong, Charikar & Li 2011) without a compile per process.

pynndescent builds its kNN graph with ``nn_descent`` (``pynndescent/pynndescent_.py``), a numba
function that takes the distance function as an argument and is declared without numba's disk
cache, like the helpers it calls (``init_rp_tree``, ``init_random``, ``nn_descent_internal``,
``process_candidates``, ...). So every process compiled them again on its first graph of a
dense set: measured on 30,000 GloVe vectors (cosine), 68 numba compiles, 54 s of them, in a
fresh process's first UMAP through NN-descent (load ~5.5 on 2 cores); 66 compiles (58 s) for
the live map's first NN-descent graph; the same for the approximate neighbour index.

:func:`pynndescent` imports pynndescent with numba's disk cache on (:func:`use_numba_disk_cache`)
and, once per process, routes pynndescent's module-level ``nn_descent`` (what ``NNDescent``
calls) to one numba function per distance (:mod:`viz_app.reduce._nnd_kernels`, which says why
numba could not cache pynndescent's own and what it changes): each calls pynndescent's own
``nn_descent`` code with the distance bound as a global, so it is compiled once per machine and
then read from disk. The distances routed are the two dense ones our metrics use:
``alternative_dot`` (pynndescent's cosine on unit-normalised rows) and ``squared_euclidean``
(its euclidean; ``"dot"`` is indexed as euclidean, see :mod:`viz_app.explore.ann`); any other
distance, or sparse data, goes to pynndescent's own function unchanged. The graph is the same
bits as pynndescent's own (tested). pynndescent's other kernels on these paths (random
projection forest, search tree, query) are declared with ``cache=True`` by pynndescent itself;
:func:`warm_up_nn_descent` and :func:`viz_app.reduce.umap.warm_up` run them on inputs large
enough to reach every one of them, so the install's warm-up fills the cache.

Measured after (fresh processes, cache filled by the warm-up, GloVe, cosine): a first UMAP of
30,000 vectors compiles nothing but umap-learn's two import-time kernels (under a second) and
gives the same coordinates; the live map's 30k graph 9.5 s with no compile (72 s before).

The wrappers are only used with the pynndescent version they were checked against
(:data:`PYNNDESCENT_VERSION`, the pin in ``requirements.txt``): numba's cache is keyed by the
wrapper's own source file, not pynndescent's, so another version would run stale cached code.
With another version pynndescent runs uncached as before (logged).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["PYNNDESCENT_VERSION", "numba_cache_dir", "pynndescent", "use_numba_disk_cache", "warm_up_nn_descent"]

log = logging.getLogger(__name__)

#: The pynndescent version whose ``nn_descent`` the cached wrappers call (requirements.txt's pin).
PYNNDESCENT_VERSION = "0.7.0"

_lock = threading.Lock()
_routed: list[bool] = []


def numba_cache_dir() -> Path:
    """The folder of numba's disk cache for this app: ``NUMBA_CACHE_DIR`` when set, else
    ``$XDG_CACHE_HOME/embedding-lens/numba`` (default ``~/.cache/embedding-lens/numba``)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "embedding-lens" / "numba"


def use_numba_disk_cache() -> None:
    """Point numba's on-disk cache at :func:`numba_cache_dir` (only effective if numba is not
    imported yet: numba reads ``NUMBA_CACHE_DIR`` once, when it is imported)."""
    default = numba_cache_dir()
    if "NUMBA_CACHE_DIR" not in os.environ:
        try:
            default.mkdir(parents=True, exist_ok=True)
            os.environ["NUMBA_CACHE_DIR"] = str(default)
        except OSError as exc:  # read-only home: numba falls back to its own default
            log.warning("numba disk cache not enabled (%s): kernels are compiled again per process", exc)


def _router(original: Any, routes: tuple[tuple[Any, Any], ...]) -> Any:
    """A Python stand-in for pynndescent's ``nn_descent`` (same arguments): the cached wrapper of
    ``dist`` when there is one, else ``original``."""
    from pynndescent.distances import euclidean
    from pynndescent.utils import EMPTY_GRAPH

    def nn_descent(
        data: Any,
        n_neighbors: int,
        rng_state: Any,
        max_candidates: int = 50,
        dist: Any = euclidean,
        n_iters: int = 10,
        delta: float = 0.001,
        init_graph: Any = EMPTY_GRAPH,
        rp_tree_init: bool = True,
        leaf_array: Any = None,
        low_memory: bool = True,
        verbose: bool = False,
        kernel: int = 0,
    ) -> Any:
        for d, cached in routes:
            if dist is d and leaf_array is not None:
                return cached(
                    data, n_neighbors, rng_state, max_candidates, n_iters, delta, init_graph, rp_tree_init,
                    leaf_array, low_memory, verbose, kernel,
                )  # fmt: skip
        return original(
            data, n_neighbors, rng_state, max_candidates, dist, n_iters, delta, init_graph=init_graph,
            rp_tree_init=rp_tree_init, leaf_array=leaf_array, low_memory=low_memory, verbose=verbose, kernel=kernel,
        )  # fmt: skip

    nn_descent.pynndescent_nn_descent = original  # type: ignore[attr-defined]
    return nn_descent


def pynndescent() -> ModuleType:
    """The ``pynndescent`` module, imported with numba's disk cache on and its dense
    ``nn_descent`` routed to the disk-cached wrappers (once per process; see the module
    docstring). Thread-safe. Use it instead of ``import pynndescent``."""
    use_numba_disk_cache()
    import pynndescent as pynnd
    import pynndescent.pynndescent_ as impl

    with _lock:
        if _routed:
            return pynnd
        version = getattr(pynnd, "__version__", "?")
        if version != PYNNDESCENT_VERSION:
            log.warning(
                "pynndescent %s is not %s: its nn_descent is compiled in every process (not cached)",
                version,
                PYNNDESCENT_VERSION,
            )
            _routed.append(False)
            return pynnd
        from pynndescent.distances import alternative_dot, squared_euclidean

        # numba and pynndescent at its top: loaded here, when pynndescent is
        from viz_app.reduce._nnd_kernels import nn_descent_alternative_dot, nn_descent_squared_euclidean

        routes = ((alternative_dot, nn_descent_alternative_dot), (squared_euclidean, nn_descent_squared_euclidean))
        impl.nn_descent = _router(impl.nn_descent, routes)
        _routed.append(True)
    return pynnd


def warm_up_nn_descent() -> float:
    """Compile (first run on a machine) or load from numba's disk cache the NN-descent kernels of
    every dense case our callers reach: cosine, and euclidean on writable and on read-only data
    (an ``EmbeddingSet``'s vectors are read-only, and numba compiles a read-only array apart).

    Returns
    -------
    float
        Seconds spent (measured: see ``benchmarks/startup.py``).
    """
    import time

    t0 = time.perf_counter()
    pynnd = pynndescent()
    # 600 rows of 512 dimensions: over pynndescent's 1 MiB "finish the subtree depth-first" size
    # (hybrid_forest.LOCAL_SUBTREE_BYTES), so the forest's split kernels run (and are cached) too
    x = np.random.default_rng(0).normal(size=(600, 512)).astype(np.float32)
    frozen = x.copy()
    frozen.setflags(write=False)
    for data, metric in ((x, "cosine"), (x, "euclidean"), (frozen, "euclidean")):
        pynnd.NNDescent(data, metric=metric, n_neighbors=10, random_state=0, n_jobs=1)
    return time.perf_counter() - t0
