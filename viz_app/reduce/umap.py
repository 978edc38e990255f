"""UMAP (McInnes, Healy & Melville 2018) via **umap-learn**, single-threaded (reproducible).

Progress, in umap-learn's real stages: the nearest-neighbour graph, fuzzy simplicial set and
spectral initialisation report the elapsed time every second (umap-learn reports nothing there);
then every layout epoch ``n / N`` with the time left, read from umap-learn's own epoch loop
through its documented ``tqdm_kwds`` (a private ``tqdm`` writing to our callback, per fit, so
concurrent fits never mix their bars).

umap-learn's numba kernels compile on the first call in a process (35-56 s measured here);
:func:`warm_up` compiles them ahead and ``NUMBA_CACHE_DIR`` keeps what numba can cache on disk.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from viz_app.errors import ParameterError
from viz_app.progress import Eta, Progress, heartbeat
from viz_app.reduce.registry import FitResult, Param, ProjectionParams, ReducerSpec, make_params, register

__all__ = ["SPEC", "use_numba_disk_cache", "warm_up"]

log = logging.getLogger(__name__)

_GRAPH = 0.4  # share of the bar for the kNN graph, fuzzy set and initialisation
_MARK = "EL-EPOCH:"


def use_numba_disk_cache() -> None:
    """Point numba's on-disk cache at a user cache folder (only if numba is not imported yet)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "embedding-lens" / "numba"
    if "NUMBA_CACHE_DIR" not in os.environ:
        try:
            default.mkdir(parents=True, exist_ok=True)
            os.environ["NUMBA_CACHE_DIR"] = str(default)
        except OSError as exc:  # read-only home: numba falls back to its own default
            log.warning("numba disk cache not enabled (%s): kernels are compiled again per process", exc)


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


def _fit(x: NDArray[np.float32], p: ProjectionParams, report: Progress) -> FitResult:
    use_numba_disk_cache()
    with heartbeat(report, "UMAP: loading umap-learn", start=0.0, stop=0.02):
        import umap

    how = "nearest-neighbour descent (pynndescent)" if len(x) >= 4096 else "exact distances"
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


def warm_up() -> float:
    """Compile umap-learn's numba kernels on small inputs, so the first real UMAP is fast.

    Also places two points with ``UMAP.transform`` on each (its first call compiles more
    kernels: 120 s measured under load on a cold numba cache). Covers both of umap-learn's kNN
    paths: exact for small sets and NN-descent (pynndescent) above 4,096 points, with the cosine
    metric (the app's default) and euclidean for small sets.

    Returns
    -------
    float
        Seconds spent (35-56 s in a fresh process without a numba disk cache; less with one).
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    small = rng.normal(size=(300, 8)).astype(np.float32)  # umap-learn's exact kNN path
    for metric in ("cosine", "euclidean"):
        p = make_params("umap", n_samples=len(small), metric=metric, n_neighbors=10)
        _transform(_fit(small, p, lambda f, m: None).model, p, small[:2])  # transform compiles its own kernels
    large = rng.normal(size=(4200, 8)).astype(np.float32)  # above 4,096 points: NN-descent (pynndescent)
    p = make_params("umap", n_samples=len(large), metric="cosine", n_neighbors=10)
    _transform(_fit(large, p, lambda f, m: None).model, p, large[:2])
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
    )
)
