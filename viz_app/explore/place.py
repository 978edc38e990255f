"""Place vectors that are not rows of the set (an expression's result, a mean) on an existing map.

The placement uses the reducer's own out-of-sample transform whenever it can:

- PCA (scikit-learn): exact. The fitted ``PCA`` is kept with the projection; a projection read
  from the disk cache is refitted (PCA is deterministic, so the refit is the same linear map;
  checked against the stored coordinates).
- UMAP (umap-learn ``UMAP.transform``) and t-SNE (openTSNE ``TSNEEmbedding.transform``): with
  the fitted reducer kept in memory with the projection (``Projection.model``).
- Otherwise (a t-SNE/UMAP map read from the disk cache after a restart): **approximate** — the
  similarity-weighted mean of the map positions of the vector's k nearest neighbours in the
  original space (the initialisation openTSNE's own transform starts from), and
  :class:`Placement` says so.

:func:`expression_on_map` adds what a map needs to draw an expression such as
``king - man + woman``: the operands' positions and arrows (man → woman, king → result).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from viz_app.cache import store
from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError
from viz_app.explore.arithmetic import operands, vector
from viz_app.explore.neighbors import most_similar
from viz_app.reduce import Projection, ProjectionParams
from viz_app.reduce.project import project_with, transform

__all__ = ["ExpressionOnMap", "Placement", "expression_on_map", "place", "placement_normalize"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Placement:
    """Map coordinates of new vectors and how they were obtained.

    Attributes
    ----------
    coords : ndarray of shape (m, n_components), dtype float32
    approximate : bool
        True when placed from nearest neighbours, not by the reducer's transform.
    method : str
        E.g. ``"PCA transform (scikit-learn), exact"`` or ``"similarity-weighted mean of its 10
        nearest neighbours' map positions"``.
    """

    coords: NDArray[np.float32]
    approximate: bool
    method: str


def placement_normalize(params: ProjectionParams) -> bool:
    """Whether to L2-normalise an expression's terms before placing its vector on this map.

    PCA is linear, so the raw combination lands exactly where the arrows of its operands point
    (``T(a - b + c) = T(a) - T(b) + T(c)``); a cosine UMAP/t-SNE ignores length, so the
    normalised combination (the vector 3CosAdd ranks by) is placed; euclidean maps use raw vectors.
    """
    return params.spec.uses_metric and params.metric == "cosine"


def _exact_model(es: EmbeddingSet, proj: Projection) -> Any | None:
    """The exact reducer (PCA) behind ``proj``: kept, or refitted (cheap, deterministic) and checked
    against the map; None if the refit differs."""
    if proj.model is not None:
        return proj.model

    def refit() -> Any | None:
        fresh = project_with(es.vectors, proj.params, fingerprint=es.fingerprint)
        probe = np.linspace(0, es.n_samples - 1, min(es.n_samples, 64)).astype(int)
        again = transform(fresh.model, proj.params, es.vectors[probe])
        scale = float(np.abs(proj.coords).max(initial=0.0)) or 1.0
        if np.allclose(again, proj.coords[probe], atol=1e-4 * scale):
            return fresh.model
        log.warning("refitted %s differs from the map of %s; placing approximately", proj.params.reducer, es.name)
        return None

    # keyed by the vectors and the parameters: the fitted model depends on nothing else
    return store("pca_models").get_or_compute((es.fingerprint, proj.params), refit)


def place(es: EmbeddingSet, proj: Projection, vectors: NDArray[np.floating], *, k: int = 10) -> Placement:
    """Map coordinates for vectors of the set's space (see the module docstring for the method).

    Parameters
    ----------
    es : EmbeddingSet
        The set ``proj`` was computed from.
    proj : Projection
    vectors : array of shape (n_features,) or (m, n_features), finite
    k : int, default=10
        Neighbours used by the approximate placement.

    Returns
    -------
    Placement
        ``coords`` of shape (m, n_components) float32.

    Raises
    ------
    ParameterError
        ``proj`` is not a projection of ``es``, ``vectors`` has the wrong width or is not
        finite, or ``k`` is out of range.
    """

    if proj.source_fingerprint and proj.source_fingerprint != es.fingerprint:
        raise ParameterError("the projection was computed from another embedding set")
    x = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    if x.ndim != 2 or x.shape[1] != es.n_features:
        raise ParameterError(f"vectors of shape {np.shape(vectors)} do not match the set's {es.n_features} dimensions")
    if not np.isfinite(x).all():
        raise ParameterError("vectors to place must be finite")
    p = proj.params
    spec = p.spec
    if spec.transform_is_exact:
        model = _exact_model(es, proj)
        if model is not None:
            return Placement(transform(model, p, x), False, f"{spec.display} transform ({spec.library}), exact")
    elif proj.model is not None:
        return Placement(transform(proj.model, p, x), False, f"{spec.display} transform ({spec.library})")
    return Placement(
        _from_neighbours(es, proj, x, k), True, f"similarity-weighted mean of its {k} nearest neighbours' map positions"
    )


def _from_neighbours(es: EmbeddingSet, proj: Projection, x: NDArray[np.float32], k: int) -> NDArray[np.float32]:

    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= es.n_samples:
        raise ParameterError(f"k must be an integer in 1..{es.n_samples}, got {k!r}")
    metric = "euclidean" if not proj.params.spec.uses_metric or proj.params.metric == "euclidean" else "cosine"
    out = np.empty((len(x), proj.n_components), np.float32)
    for i, v in enumerate(x):
        nn = most_similar(es, v, k=int(k), metric=metric)
        rows = nn["row"].to_numpy()
        if metric == "cosine":
            w = np.clip(nn["similarity"].to_numpy(dtype=np.float64), 0.0, None) + 1e-6
        else:
            w = 1.0 / (nn["distance"].to_numpy(dtype=np.float64) + 1e-6)
        out[i] = (w[:, None] * proj.coords[rows]).sum(axis=0) / w.sum()
    return out


@dataclass(frozen=True)
class ExpressionOnMap:
    """An expression drawn on a map (see :func:`expression_on_map`).

    Attributes
    ----------
    expr : str
        The normalised expression.
    result : ndarray of shape (n_components,), dtype float32
        Where the expression's vector lands.
    operands : list of (label, coefficient, position ndarray (n_components,))
        Each term with its map position (its point; a ``$name`` or free-text term is placed
        like the result).
    arrows : list of (from ndarray, to ndarray, kind)
        ``kind`` is ``"offset"`` (b → c of an analogy ``a - b + c``) or ``"result"`` (an operand
        → the result: a → result for an analogy, every operand otherwise).
    approximate : bool
        Any position came from the approximate placement.
    method : str
        How the result was placed (:attr:`Placement.method`).
    """

    expr: str
    result: NDArray[np.float32]
    operands: list[tuple[str, float, NDArray[np.float32]]]
    arrows: list[tuple[NDArray[np.float32], NDArray[np.float32], str]] = field(default_factory=list)
    approximate: bool = False
    method: str = ""


def expression_on_map(
    es: EmbeddingSet, proj: Projection, expr: str, *, named: Mapping[str, Any] | None = None, k: int = 10
) -> ExpressionOnMap:
    """Place an expression's vector on the map, with its operands and arrows.

    The vector is built with :func:`viz_app.explore.arithmetic.vector` (normalised terms or raw as
    :func:`placement_normalize` says for this map) and placed with :func:`place`. For an analogy
    ``a - b + c`` (two terms +1, one term -1, in any order; ``a`` is the first positive term)
    the arrows are b → c and a → result: on a PCA map the two are parallel and equal.

    Raises
    ------
    ExpressionError
        As :func:`viz_app.explore.arithmetic.vector`.
    ParameterError
        As :func:`place`.
    """

    norm = placement_normalize(proj.params)
    vec = vector(es, expr, named=named, normalize=norm)
    ops = operands(es, expr, named=named, normalize=norm)
    free = [o for o in ops if o.row is None]
    placed = place(es, proj, np.vstack([vec.values] + [o.values for o in free]), k=k)
    result, extra = placed.coords[0], iter(placed.coords[1:])
    pos = [(o.label, o.coefficient, proj.coords[o.row] if o.row is not None else next(extra)) for o in ops]
    plus = [i for i, o in enumerate(ops) if np.isclose(o.coefficient, 1.0)]
    minus = [i for i, o in enumerate(ops) if np.isclose(o.coefficient, -1.0)]
    if len(ops) == 3 and len(plus) == 2 and len(minus) == 1:
        a, c, b = pos[plus[0]][2], pos[plus[1]][2], pos[minus[0]][2]
        arrows = [(b, c, "offset"), (a, result, "result")]
    else:
        arrows = [(xy, result, "result") for _, _, xy in pos]
    return ExpressionOnMap(vec.expr, result, pos, arrows, placed.approximate, placed.method)
