"""Projections of embeddings to 2-D/3-D behind one function, for every registered reducer.

:func:`project` validates the settings (:func:`~viz_app.reduce.registry.make_params`), checks
the reducer's point budget (:mod:`viz_app.reduce.budget`) and runs the reducer's ``fit`` from
its spec (PCA: ``viz_app/reduce/pca.py``, t-SNE: ``tsne.py``, UMAP: ``umap.py``), optionally on a
seeded sample with the rest placed by the reducer's ``transform``. The result is a
:class:`Projection`: coordinates, the parameters, the reducer's quality figures and the fitted
model (kept in memory, never on disk).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet, readonly
from viz_app.errors import ParameterError
from viz_app.progress import Progress, null_progress, scaled
from viz_app.reduce.budget import check_points, sample_fit_rows
from viz_app.reduce.registry import ProjectionParams, get_reducer, make_params

__all__ = [
    "DEFAULT_VIEW",
    "TRANSFORM_CHUNK_ROWS",
    "Projection",
    "project",
    "project_with",
    "transform",
    "transform_chunks",
    "trustworthiness",
]

#: The view a first visitor sees (GloVe 10k, UMAP 2-D, seed 0); the warm-up precomputes it.
DEFAULT_VIEW: ProjectionParams = make_params("umap", n_components=2)
#: Most rows one ``transform`` call places (:func:`transform_chunks`).
TRANSFORM_CHUNK_ROWS = 20_000


def transform_chunks(rest: NDArray[np.intp]) -> list[NDArray[np.intp]]:
    """The chunks of rows :func:`project_with` places with one ``transform`` call each.

    A twentieth of the rows per chunk (for progress), at least 1,000 and at most
    :data:`TRANSFORM_CHUNK_ROWS` rows. umap-learn's ``transform`` depends on the batch it is given
    (its epoch count, edge threshold and random stream), so every engine places exactly these
    chunks (the Dask engine one per task) and gets the same coordinates.

    Parameters
    ----------
    rest : ndarray of shape (m,), dtype intp
        The rows to place, ascending.

    Returns
    -------
    list of ndarray
        Consecutive slices of ``rest``.
    """
    step = transform_chunk_rows(len(rest))
    return [rest[i : i + step] for i in range(0, len(rest), step)]


def transform_chunk_rows(m: int) -> int:
    """Rows per chunk of :func:`transform_chunks` when ``m`` rows are placed (the last chunk may
    be shorter): a twentieth of ``m``, at least 1,000, at most :data:`TRANSFORM_CHUNK_ROWS`."""
    return min(TRANSFORM_CHUNK_ROWS, max(1000, -(-m // 20)))


@dataclass(frozen=True, eq=False)
class Projection:
    """Low-dimensional coordinates of an :class:`~viz_app.data.model.EmbeddingSet`.

    Attributes
    ----------
    coords : ndarray of shape (n_samples, n_components), dtype float32
        Read-only; row i is item i of the source set.
    params : ProjectionParams
    source_fingerprint : str
        ``EmbeddingSet.fingerprint`` of the projected set.
    quality : mapping of str to float
        E.g. ``explained_variance_ratio`` (PCA, fraction in [0, 1]) or ``kl_divergence``
        (t-SNE, nats).
    elapsed_s : float
        Wall time of the fit, seconds.
    model : object or None
        The fitted reducer, kept in memory (never on disk) so new vectors can be placed on
        this map with its own ``transform`` (:func:`viz_app.explore.place.place`):
        ``sklearn.decomposition.PCA``, ``openTSNE.TSNEEmbedding`` or ``umap.UMAP``. None for
        a projection read from the disk cache.
    """

    coords: NDArray[np.float32]
    params: ProjectionParams
    source_fingerprint: str
    quality: Mapping[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0
    model: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        c = np.ascontiguousarray(np.asarray(self.coords, dtype=np.float32))
        if c.ndim != 2 or c.shape[1] != self.params.n_components:
            raise ParameterError(f"coords of shape {c.shape} do not match n_components={self.params.n_components}")
        object.__setattr__(self, "coords", readonly(c))

    @property
    def n_components(self) -> int:
        """2 or 3."""
        return self.params.n_components


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
        Any registered reducer (:func:`~viz_app.reduce.registry.reducer_names`).
    n_components : {2, 3}, default=2
    random_state : int in [0, 2**32 - 1], default=0
        Seed; the same input and settings give identical coordinates.
    progress : Progress, optional
        ``progress(fraction, message)``, called at least once a second in each of the reducer's
        stages (see its spec's ``stages``).
    **params
        ``metric`` ("cosine" | "euclidean"), the reducer's own parameters (``perplexity``;
        ``n_neighbors``, ``min_dist``) and ``fit_sample`` (fit on a seeded sample, place the
        rest with :func:`transform`). See :func:`~viz_app.reduce.registry.make_params`.

    Returns
    -------
    Projection
        ``coords`` of shape (n_samples, n_components) float32; ``model`` the fitted reducer.

    Raises
    ------
    ParameterError
        Invalid settings, or too few points for the reducer.
    PointBudgetError
        More points to fit than the reducer's budget (:mod:`viz_app.reduce.budget`).
    """
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
    seeded sample :func:`~viz_app.reduce.budget.sample_fit_rows` and the other rows are placed
    with :func:`transform`, in the chunks of :func:`transform_chunks`, with progress; ``quality``
    then has ``fit_sample`` (points fitted) and ``placed_by_transform`` (points placed).

    Returns
    -------
    Projection
        With the fitted reducer in ``model``.

    Raises
    ------
    PointBudgetError
        More points to fit than the reducer's budget.
    ParameterError
        See :func:`~viz_app.reduce.registry.make_params`.
    """
    spec = get_reducer(p.reducer)
    x = np.asarray(vectors, dtype=np.float32)
    n = len(x)
    rows = sample_fit_rows(n, p.fit_sample, p.random_state) if p.fit_sample is not None and p.fit_sample < n else None
    check_points(p.reducer, n if rows is None else len(rows))
    report = progress or null_progress
    t0 = time.perf_counter()
    if rows is None:
        fit = spec.fit(x, p, report)
        coords, quality = fit.coords, fit.quality
    else:
        fit = spec.fit(x[rows], p, scaled(report, 0.0, 0.7, f"fitting on {len(rows):,} sampled points: "))
        rest = np.setdiff1d(np.arange(n), rows)
        coords = np.empty((n, p.n_components), np.float32)
        coords[rows] = fit.coords
        done = 0
        for chunk in transform_chunks(rest):
            report(0.7 + 0.3 * done / len(rest), f"placing the other points with transform: {done:,} / {len(rest):,}")
            coords[chunk] = transform(fit.model, p, x[chunk])
            done += len(chunk)
        quality = {**fit.quality, "fit_sample": len(rows), "placed_by_transform": len(rest)}
    report(1.0, "done")
    return Projection(coords, p, fingerprint, quality, time.perf_counter() - t0, model=fit.model)


def transform(model: Any, p: ProjectionParams, vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Place new vectors on an existing map with the fitted reducer's own out-of-sample transform.

    The reducer's spec does the work: scikit-learn ``PCA.transform`` (exact: the same linear
    map), openTSNE ``TSNEEmbedding.transform`` (each new point starts at the median of its
    neighbours in the map and is optimised against the fixed map), umap-learn ``UMAP.transform``
    (kNN in the training set, then a short optimisation).

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
    if model is None:
        raise ParameterError("this projection has no fitted reducer in memory; re-fit it to use transform")
    x = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    width = getattr(model, "n_features_in_", None) or getattr(getattr(model, "_raw_data", None), "shape", (0, None))[1]
    if width is not None and x.shape[1] != width:
        raise ParameterError(f"vectors have {x.shape[1]} dimensions; the map was fitted on {width}")
    if len(x) == 0:
        return np.empty((0, p.n_components), np.float32)
    return get_reducer(p.reducer).transform(model, p, x)


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
    metric = "cosine" if proj.params.metric == "cosine" and proj.params.spec.uses_metric else "euclidean"
    return float(tw(es.vectors[idx], proj.coords[idx], n_neighbors=n_neighbors, metric=metric))
