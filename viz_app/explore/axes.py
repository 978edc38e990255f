"""Semantic axes: place every item by how far it leans from one expression towards another.

Each axis runs from an end ``A`` to an end ``B`` (any expression of :mod:`viz_app.explore.arithmetic`,
e.g. ``("man", "woman")`` or ``("mean(poor, poverty)", "mean(rich, wealth)")``); its direction
is ``B - A`` with every term L2-normalised first. An item's coordinate is its cosine similarity
with the direction (``mode="cosine"``, in [-1, 1]) or its scalar projection onto the unit
direction (``mode="scalar"``, in the vectors' units). This is the custom projection of the
TensorFlow Embedding Projector (Smilkov et al. 2016) and whatlies' axis plots (Warmerdam et
al. 2020), with exact numpy arithmetic.

The result is an :class:`AxesProjection`, not a :class:`~viz_app.data.model.Projection`: a
``Projection`` carries a reducer's :class:`~viz_app.data.model.ProjectionParams` (pca / t-SNE /
UMAP settings that key the projection cache), which a pair of named axes has none of. Both
expose ``coords`` (n_samples, 2) float32 and the source fingerprint, so a figure builder that
takes coordinates works with either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ExpressionError, ParameterError
from viz_app.explore.arithmetic import Vector, vector

__all__ = ["AXIS_MODES", "AxesProjection", "axis_projection", "axis_scores"]

AXIS_MODES = ("cosine", "scalar")


@dataclass(frozen=True, eq=False)
class AxesProjection:
    """Items placed on two semantic axes.

    Attributes
    ----------
    coords : ndarray of shape (n_samples, 2), dtype float32
        Read-only; row i is item i of the source set; column 0 the x axis, 1 the y axis.
    x_label, y_label : str
        ``"A → B"`` with both ends as normalised expressions, e.g. ``"man → woman"``.
    mode : {"cosine", "scalar"}
    x_terms, y_terms : tuple of str
        Ids of the items the ends of each axis use.
    source_fingerprint : str
        ``EmbeddingSet.fingerprint`` of the placed set.
    embedded : tuple of str
        Free texts embedded on the fly for the ends (sets made by a text model).
    """

    coords: NDArray[np.float32]
    x_label: str
    y_label: str
    mode: str
    x_terms: tuple[str, ...]
    y_terms: tuple[str, ...]
    source_fingerprint: str
    embedded: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        c = np.array(self.coords, dtype=np.float32)
        if c.ndim != 2 or c.shape[1] != 2:
            raise ParameterError(f"coords must have shape (n_samples, 2), got {c.shape}")
        c.setflags(write=False)
        object.__setattr__(self, "coords", c)

    @property
    def n_components(self) -> int:
        """Always 2."""
        return 2


def _check_pair(axis, name: str) -> None:
    if isinstance(axis, str) or not hasattr(axis, "__len__") or len(axis) != 2:
        raise ParameterError(f"{name} must be a pair of expressions (from, to), e.g. ('man', 'woman'); got {axis!r}")


def axis_scores(
    es: EmbeddingSet,
    ends: tuple[str, str],
    *,
    mode: str = "cosine",
    named: Mapping[str, Vector] | None = None,
) -> tuple[NDArray[np.float32], str, tuple[str, ...], tuple[str, ...]]:
    """Every item's position along one axis ``A → B``.

    Parameters
    ----------
    ends : (str, str)
        Expressions ``A`` and ``B``; the direction is ``B - A`` (terms L2-normalised).
    mode : {"cosine", "scalar"}, default="cosine"
        Cosine similarity with the direction, in [-1, 1] (0 for an all-zero item), or the
        scalar projection ``x · (B - A) / |B - A|`` in the vectors' units.
    named : mapping of str to Vector, optional
        ``$name`` vectors the ends can use.

    Returns
    -------
    scores : ndarray of shape (n_samples,), dtype float32
    label : str
        ``"A → B"`` with normalised expressions.
    terms : tuple of str
        Ids the two ends use.
    embedded : tuple of str
        Free texts embedded for the ends.

    Raises
    ------
    ParameterError
        Unknown ``mode`` or ``ends`` not a pair.
    ExpressionError
        An end does not parse or names an unknown term; both ends give the same vector.
    """
    if mode not in AXIS_MODES:
        raise ParameterError(f"unknown mode {mode!r}; allowed: {', '.join(AXIS_MODES)}")
    _check_pair(ends, "ends")
    a, b = vector(es, ends[0], named=named), vector(es, ends[1], named=named)
    direction = b.values.astype(np.float64) - a.values.astype(np.float64)
    length = float(np.linalg.norm(direction))
    if length < 1e-6:
        raise ExpressionError(f"the axis {a.expr} → {b.expr} has no direction: both ends give the same vector")
    proj = (es.vectors @ (direction / length).astype(np.float32)).astype(np.float64)
    if mode == "cosine":
        norms = np.linalg.norm(es.vectors, axis=1).astype(np.float64)
        proj = np.divide(proj, norms, out=np.zeros_like(proj), where=norms > 0)
    terms = tuple(dict.fromkeys(a.terms + b.terms))
    return proj.astype(np.float32), f"{a.expr} → {b.expr}", terms, tuple(dict.fromkeys(a.embedded + b.embedded))


def axis_projection(
    es: EmbeddingSet,
    x: tuple[str, str] = ("man", "woman"),
    y: tuple[str, str] = ("poor", "rich"),
    *,
    mode: str = "cosine",
    named: Mapping[str, Vector] | None = None,
) -> AxesProjection:
    """Place every item on two semantic axes, e.g. man → woman (x) and poor → rich (y).

    Parameters
    ----------
    es : EmbeddingSet
    x, y : (str, str)
        Each axis as a pair of expressions ``(A, B)``, direction ``B - A`` (see :func:`axis_scores`).
    mode : {"cosine", "scalar"}, default="cosine"
        Cosine similarity with each direction (in [-1, 1]) or scalar projection on the unit
        direction (vector units). The two axes need not be orthogonal.
    named : mapping of str to Vector, optional
        ``$name`` vectors the ends can use (e.g. ``$selection``).

    Returns
    -------
    AxesProjection
        ``coords`` (n_samples, 2) float32.

    Raises
    ------
    ParameterError
        Unknown ``mode``, or an axis that is not a pair of expressions.
    ExpressionError
        An end does not parse or names an unknown term (the message suggests close labels), or
        an axis whose two ends give the same vector.
    """
    _check_pair(x, "x")
    _check_pair(y, "y")
    sx, lx, tx, ex = axis_scores(es, x, mode=mode, named=named)
    sy, ly, ty, ey = axis_scores(es, y, mode=mode, named=named)
    embedded = tuple(dict.fromkeys(ex + ey))
    return AxesProjection(np.column_stack([sx, sy]), lx, ly, mode, tx, ty, es.fingerprint, embedded)
