"""Projections of embeddings to 2-D/3-D: PCA, t-SNE and UMAP behind one function.

- PCA: scikit-learn ``PCA`` (exact SVD; deterministic up to sign, which sklearn fixes).
- t-SNE (van der Maaten & Hinton 2008): **openTSNE** (Poličar et al. 2024). Chosen over
  scikit-learn's because it has FFT-accelerated interpolation (Linderman et al. 2019) that
  scales linearly in 2-D, reports progress through callbacks, and can place new points in an
  existing map (``TSNEEmbedding.transform``), which vector arithmetic needs. openTSNE's FFT
  method is 1-D/2-D only, so 3-D uses its Barnes-Hut method.
- UMAP (McInnes, Healy & Melville 2018): **umap-learn**. Its numba kernels compile on the first
  call in a process (35-56 s measured here); :func:`warm_up` compiles them on a tiny input and
  ``NUMBA_CACHE_DIR`` keeps what numba can cache on disk across processes.

The core never changes a parameter silently: out-of-range values raise ``ParameterError``; the
UI bounds its widgets instead (see :data:`BOUNDS`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from viz_app.data.limits import check_points, sample_fit_rows
from viz_app.data.model import EmbeddingSet, Projection, ProjectionParams
from viz_app.errors import ParameterError

__all__ = [
    "BOUNDS",
    "DEFAULTS",
    "DEFAULT_VIEW",
    "METRICS",
    "REDUCERS",
    "make_params",
    "project",
    "project_with",
    "transform",
    "trustworthiness",
    "warm_up",
]

REDUCERS = ("pca", "tsne", "umap")
METRICS = ("cosine", "euclidean")
#: (low, high) inclusive bounds of each parameter, as the UI offers them.
BOUNDS: dict[str, tuple[float, float]] = {
    "perplexity": (2.0, 100.0),
    "n_neighbors": (2, 200),
    "min_dist": (0.0, 1.0),
}
DEFAULTS: dict[str, Any] = {"perplexity": 30.0, "n_neighbors": 15, "min_dist": 0.1, "metric": "cosine"}
Progress = Callable[[float, str], None]


def use_numba_disk_cache() -> None:
    """Point numba's on-disk cache at a user cache folder (only if numba is not imported yet)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "embedding-lens" / "numba"
    if "NUMBA_CACHE_DIR" not in os.environ:
        try:
            default.mkdir(parents=True, exist_ok=True)
            os.environ["NUMBA_CACHE_DIR"] = str(default)
        except OSError:  # read-only home: numba falls back to its own default
            pass


def make_params(
    reducer: str = "pca",
    *,
    n_samples: int | None = None,
    n_components: int = 2,
    random_state: int = 0,
    metric: str = "cosine",
    perplexity: float | None = None,
    n_neighbors: int | None = None,
    min_dist: float | None = None,
    fit_sample: int | None = None,
) -> ProjectionParams:
    """Validate projection settings and fill the reducer's defaults.

    Parameters
    ----------
    reducer : {"pca", "tsne", "umap"}
    n_samples : int, optional
        Number of points to project; enables the checks that depend on it (t-SNE needs
        ``n_samples > 3 * perplexity + 1``; UMAP needs ``n_neighbors < n_samples``).
    n_components : {2, 3}
    random_state : int, >= 0
    metric : {"cosine", "euclidean"}
    perplexity, n_neighbors, min_dist
        See :class:`~viz_app.data.model.ProjectionParams`; ``None`` takes :data:`DEFAULTS`.
    fit_sample : int, optional
        Fit on a seeded sample of this many points and place the rest with the reducer's
        ``transform`` (the path offered over a point budget). Must be less than ``n_samples``;
        the too-few-points checks then apply to the sample.

    Returns
    -------
    ProjectionParams

    Raises
    ------
    ParameterError
        Unknown reducer/metric, a value outside :data:`BOUNDS`, a parameter that does not
        apply to the reducer, or too few samples for the reducer.
    """
    if reducer not in REDUCERS:
        raise ParameterError(f"unknown reducer {reducer!r}; use one of {REDUCERS}")
    if n_components not in (2, 3):
        raise ParameterError(f"n_components must be 2 or 3, got {n_components!r}")
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}; use one of {METRICS}")
    if not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise ParameterError(f"random_state must be an integer >= 0, got {random_state!r}")
    given = {"perplexity": perplexity, "n_neighbors": n_neighbors, "min_dist": min_dist}
    own = {"pca": (), "tsne": ("perplexity",), "umap": ("n_neighbors", "min_dist")}[reducer]
    for k, v in given.items():
        if v is not None and k not in own:
            raise ParameterError(f"{k} does not apply to reducer {reducer!r}")
    vals = {k: (DEFAULTS[k] if given[k] is None else given[k]) for k in own}
    for k, v in vals.items():
        lo, hi = BOUNDS[k]
        if not lo <= v <= hi:
            raise ParameterError(f"{k} must be in [{lo:g}, {hi:g}], got {v!r}")
    if fit_sample is not None:
        if isinstance(fit_sample, bool) or not isinstance(fit_sample, (int, np.integer)) or fit_sample < 1:
            raise ParameterError(f"fit_sample must be an integer >= 1, got {fit_sample!r}")
        if n_samples is not None and fit_sample >= n_samples:
            raise ParameterError(f"fit_sample={fit_sample:,} must be less than the {n_samples:,} points")
    if n_samples is not None:
        _check_n_samples(reducer, int(fit_sample) if fit_sample is not None else n_samples, vals)
    return ProjectionParams(
        reducer=reducer,
        n_components=int(n_components),
        random_state=int(random_state),
        metric=metric,
        perplexity=float(vals["perplexity"]) if "perplexity" in vals else None,
        n_neighbors=int(vals["n_neighbors"]) if "n_neighbors" in vals else None,
        min_dist=float(vals["min_dist"]) if "min_dist" in vals else None,
        fit_sample=int(fit_sample) if fit_sample is not None else None,
    )


#: The view a first visitor sees (GloVe 10k, UMAP 2-D, seed 0); the warm-up precomputes it.
DEFAULT_VIEW: ProjectionParams = make_params("umap", n_components=2)


def _check_n_samples(reducer: str, n: int, vals: dict[str, Any]) -> None:
    if reducer == "pca" and n < 3:
        raise ParameterError(f"PCA needs at least 3 points, got {n}")
    if reducer == "tsne" and n <= 3 * vals["perplexity"] + 1:
        raise ParameterError(
            f"t-SNE with perplexity={vals['perplexity']:g} needs more than "
            f"{int(3 * vals['perplexity'] + 1)} points, got {n}; lower the perplexity"
        )
    if reducer == "umap" and (n < 4 or vals["n_neighbors"] >= n):
        raise ParameterError(
            f"UMAP with n_neighbors={vals['n_neighbors']} needs more than {max(vals['n_neighbors'], 3)} "
            f"points, got {n}; lower n_neighbors"
        )


def project(
    es: EmbeddingSet,
    *,
    reducer: str = "pca",
    n_components: int = 2,
    random_state: int = 0,
    progress: Progress | None = None,
    **params: Any,
) -> Projection:
    """Project an embedding set to 2-D or 3-D.

    Parameters
    ----------
    es : EmbeddingSet
        ``vectors`` of shape (n_samples, n_features) float32.
    reducer : {"pca", "tsne", "umap"}, default="pca"
    n_components : {2, 3}, default=2
    random_state : int, default=0
        Seed; the same input and settings give identical coordinates.
    progress : callable (fraction in [0, 1], message) -> None, optional
        Called as the work advances (t-SNE every 50 iterations; UMAP per stage).
    **params
        ``metric`` ("cosine" | "euclidean"), ``perplexity`` (t-SNE), ``n_neighbors`` and
        ``min_dist`` (UMAP), ``fit_sample`` (fit on a seeded sample, place the rest with
        :func:`transform`). See :func:`make_params`.

    Returns
    -------
    Projection
        ``coords`` of shape (n_samples, n_components) float32; ``model`` the fitted reducer.

    Raises
    ------
    ParameterError
        Invalid settings, or too few points for the reducer (see :func:`make_params`).
    PointBudgetError
        More points to fit than the reducer's budget (:mod:`viz_app.data.limits`).
    """
    unknown = set(params) - {"metric", "perplexity", "n_neighbors", "min_dist", "fit_sample"}
    if unknown:
        raise ParameterError(f"unknown parameter(s) {sorted(unknown)} for project()")
    p = make_params(reducer, n_samples=es.n_samples, n_components=n_components, random_state=random_state, **params)
    return project_with(es.vectors, p, fingerprint=es.fingerprint, progress=progress)


def project_with(
    vectors: NDArray[np.float32],
    p: ProjectionParams,
    *,
    fingerprint: str = "",
    progress: Progress | None = None,
) -> Projection:
    """Run the reducer described by validated ``p`` on ``vectors`` (see :func:`project`).

    With ``p.fit_sample`` set (and fewer than ``len(vectors)``), the reducer is fitted on the
    seeded sample :func:`viz_app.data.limits.sample_fit_rows` and the other rows are placed with
    :func:`transform`, in chunks with progress; ``quality`` then has ``fit_sample`` (points
    fitted) and ``placed_by_transform`` (points placed).

    Returns
    -------
    Projection
        With the fitted reducer in ``model``.

    Raises
    ------
    PointBudgetError
        More points to fit than the reducer's budget (:func:`viz_app.data.limits.check_points`).
    ParameterError
        See :func:`make_params`.
    """

    x = np.asarray(vectors, dtype=np.float32)
    n = len(x)
    rows = None
    if p.fit_sample is not None and p.fit_sample < n:
        rows = sample_fit_rows(n, p.fit_sample, p.random_state)
    check_points(p.reducer, n if rows is None else len(rows))
    report = progress or (lambda f, m: None)
    t0 = time.perf_counter()
    fit = {"pca": _pca, "tsne": _tsne, "umap": _umap}[p.reducer]
    if rows is None:
        coords, quality, model = fit(x, p, report)
    else:
        fitted, quality, model = fit(
            x[rows], p, lambda f, m: report(0.7 * f, f"fitting on {len(rows):,} sampled points: {m}")
        )
        rest = np.setdiff1d(np.arange(n), rows)
        coords = np.empty((n, p.n_components), np.float32)
        coords[rows] = fitted
        step = max(1000, -(-len(rest) // 20))
        for i in range(0, len(rest), step):
            report(0.7 + 0.3 * i / len(rest), f"placing the other points with transform: {i:,} / {len(rest):,}")
            coords[rest[i : i + step]] = transform(model, p, x[rest[i : i + step]])
        quality = {**quality, "fit_sample": len(rows), "placed_by_transform": len(rest)}
    report(1.0, "done")
    return Projection(coords, p, fingerprint, quality, time.perf_counter() - t0, model=model)


def transform(model: Any, p: ProjectionParams, vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Place new vectors on an existing map with the fitted reducer's own out-of-sample transform.

    - PCA: scikit-learn ``PCA.transform`` (exact: the same linear map; zero-padded like the fit).
    - t-SNE: openTSNE ``TSNEEmbedding.transform`` (Poličar et al.): each new point starts at the
      median of its neighbours in the map and is optimised against the fixed map.
    - UMAP: umap-learn ``UMAP.transform`` (kNN in the training set, then a short optimisation;
      the first call in a process compiles numba kernels, which :func:`warm_up` does ahead).

    Parameters
    ----------
    model : the fitted reducer (``Projection.model``)
    p : ProjectionParams
        The parameters it was fitted with.
    vectors : array of shape (m, n_features)

    Returns
    -------
    ndarray of shape (m, p.n_components), dtype float32

    Raises
    ------
    ParameterError
        ``model`` is None or ``vectors`` has the wrong width.
    """
    import warnings

    if model is None:
        raise ParameterError("this projection has no fitted reducer in memory; re-fit it to use transform")
    x = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    width = getattr(model, "n_features_in_", None) or getattr(getattr(model, "_raw_data", None), "shape", (0, None))[1]
    if width is not None and x.shape[1] != width:
        raise ParameterError(f"vectors have {x.shape[1]} dimensions; the map was fitted on {width}")
    if len(x) == 0:
        return np.empty((0, p.n_components), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if p.reducer == "tsne":
            out = np.asarray(model.transform(x), dtype=np.float32)
        else:
            out = np.asarray(model.transform(x), dtype=np.float32)
    if out.shape[1] < p.n_components:  # PCA of 1-D/2-D vectors shown in 3-D
        out = np.hstack([out, np.zeros((len(out), p.n_components - out.shape[1]), np.float32)])
    return out


def _pca(x: NDArray[np.float32], p: ProjectionParams, report: Progress):
    from sklearn.decomposition import PCA

    report(0.0, "PCA (scikit-learn)")
    k = min(p.n_components, x.shape[1])
    pca = PCA(n_components=k, random_state=p.random_state)
    coords = pca.fit_transform(x).astype(np.float32)
    if k < p.n_components:  # 1-D or 2-D input shown in 3-D: pad with zeros
        coords = np.hstack([coords, np.zeros((len(x), p.n_components - k), np.float32)])
    ratio = float(np.nan_to_num(pca.explained_variance_ratio_).sum())  # identical vectors: 0 total variance
    return coords, {"explained_variance_ratio": ratio}, pca


def _tsne(x: NDArray[np.float32], p: ProjectionParams, report: Progress):
    import openTSNE

    if np.all(x.min(axis=0) == x.max(axis=0)):  # openTSNE segfaults on all-identical vectors
        raise ParameterError(f"t-SNE cannot lay out {len(x)} identical vectors (every distance is 0); use PCA")
    # openTSNE's exact kNN divides by row norms: with cosine and an all-zero row use Annoy
    zero_rows = p.metric == "cosine" and float(np.linalg.norm(x, axis=1).min()) == 0.0
    ee_iter, n_iter = 250, 500
    total = ee_iter + n_iter
    state = {"done": 0}

    def cb(iteration: int, error: float, embedding: Any) -> bool:
        state["done"] += 50
        report(
            min(0.1 + 0.9 * state["done"] / total, 0.99),
            f"t-SNE iteration {min(state['done'], total)}/{total}, KL {error:.3f}",
        )
        return False

    report(0.02, "t-SNE: finding neighbours and affinities (openTSNE)")
    tsne = openTSNE.TSNE(
        n_components=p.n_components,
        perplexity=p.perplexity,
        metric=p.metric,
        random_state=p.random_state,
        n_jobs=max(1, min(2, os.cpu_count() or 1)),
        early_exaggeration_iter=ee_iter,
        n_iter=n_iter,
        negative_gradient_method="fft" if p.n_components <= 2 else "bh",
        neighbors="annoy" if zero_rows else "auto",
        callbacks=cb,
        callbacks_every_iters=50,  # each callback costs a KL-divergence evaluation
    )
    emb = tsne.fit(x)
    return np.asarray(emb, dtype=np.float32), {"kl_divergence": float(emb.kl_divergence)}, emb


def _umap(x: NDArray[np.float32], p: ProjectionParams, report: Progress):
    use_numba_disk_cache()
    report(0.02, "UMAP: loading umap-learn (first use compiles numba kernels)")
    import umap

    report(0.1, "UMAP: building the kNN graph and optimising the layout (umap-learn)")
    reducer = umap.UMAP(
        n_components=p.n_components,
        n_neighbors=p.n_neighbors,
        min_dist=p.min_dist,
        metric=p.metric,
        random_state=p.random_state,
        n_jobs=1,  # umap-learn is only reproducible single-threaded
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coords = reducer.fit_transform(x)
    return np.asarray(coords, dtype=np.float32), {}, reducer


def trustworthiness(
    es: EmbeddingSet,
    proj: Projection,
    *,
    n_neighbors: int = 10,
    max_samples: int = 2000,
    random_state: int = 0,
) -> float:
    """How well the projection keeps local neighbourhoods (Venna & Kaski 2001), in [0, 1].

    Computed by scikit-learn's ``sklearn.manifold.trustworthiness`` on a seeded random sample
    of at most ``max_samples`` points (it builds a full distance matrix: 10k points cost 15 s,
    2.2 GB here), with the projection's metric in the original space.

    Raises
    ------
    ParameterError
        ``proj`` was not computed from ``es``, or ``n_neighbors >= n_samples / 2``.
    """
    from sklearn.manifold import trustworthiness as tw

    if proj.source_fingerprint and proj.source_fingerprint != es.fingerprint:
        raise ParameterError("the projection was computed from another embedding set")
    n = es.n_samples
    idx = np.arange(n)
    if n > max_samples:
        idx = np.sort(np.random.default_rng(random_state).choice(n, max_samples, replace=False))
    if n_neighbors >= len(idx) / 2:
        raise ParameterError(f"n_neighbors={n_neighbors} is too large for {len(idx)} points")
    metric = "cosine" if proj.params.metric == "cosine" and proj.params.reducer != "pca" else "euclidean"
    return float(tw(es.vectors[idx], proj.coords[idx], n_neighbors=n_neighbors, metric=metric))


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
        transform(project_with(small, p).model, p, small[:2])  # transform compiles its own kernels
    large = rng.normal(size=(4200, 8)).astype(np.float32)  # above 4,096 points: NN-descent (pynndescent)
    p = make_params("umap", n_samples=len(large), metric="cosine", n_neighbors=10)
    transform(project_with(large, p).model, p, large[:2])
    return time.perf_counter() - t0
