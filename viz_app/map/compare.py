"""Two linked maps of a comparison, as plain data ("prepare, then render").

Each space of a :class:`~viz_app.explore.compare.Comparison` is projected with the same reducer,
parameters and seed (:func:`project_pair`); the second map is then aligned to the first by a
similarity transform (rotation or reflection, uniform scale, shift) fitted on the matched items'
coordinates with ``scipy.linalg.orthogonal_procrustes`` (Schönemann 1966), so the two read the
same way (:func:`linked_maps`). :class:`LinkedMaps` holds what both maps draw and how a click or
a selection in one maps to the other; nothing here draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from viz_app.errors import ParameterError
from viz_app.explore.compare import Comparison
from viz_app.explore.similarity import procrustes_disparity
from viz_app.reduce import Projection, ProjectionParams
from viz_app.reduce.project import project_with

__all__ = ["LinkedFocus", "LinkedMaps", "align_coords", "linked_maps", "project_pair"]


def align_coords(
    coords: NDArray[np.floating], reference: NDArray[np.floating], rows: NDArray[np.intp], ref_rows: NDArray[np.intp]
) -> NDArray[np.float32]:
    """``coords`` moved by the similarity transform that best maps ``coords[rows]`` onto
    ``reference[ref_rows]`` (least squares; ``scipy.linalg.orthogonal_procrustes`` for the
    rotation or reflection, the optimal uniform scale, then the shift of the centroids).

    Parameters
    ----------
    coords : ndarray of shape (n, d)
    reference : ndarray of shape (n_ref, d)
    rows, ref_rows : ndarray of shape (m,), dtype intp
        Matched rows: ``coords[rows[i]]`` and ``reference[ref_rows[i]]`` are the same item; m >= 2.

    Returns
    -------
    ndarray of shape (n, d), dtype float32
        All of ``coords`` (matched or not), in ``reference``'s frame.

    Raises
    ------
    ParameterError
        Dimensions differ, fewer than 2 matched rows, or the matched coordinates are all equal.
    """
    from scipy.linalg import orthogonal_procrustes

    x, ref = np.asarray(coords, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if x.shape[1] != ref.shape[1] or len(rows) != len(ref_rows) or len(rows) < 2:
        raise ParameterError(f"cannot align {x.shape} to {ref.shape} on {len(rows)} / {len(ref_rows)} matched rows")
    mu, mu_ref = x[rows].mean(axis=0), ref[ref_rows].mean(axis=0)
    src, dst = x[rows] - mu, ref[ref_rows] - mu_ref
    norm2 = float((src**2).sum())
    if norm2 == 0:
        raise ParameterError("cannot align a map whose matched points all sit at one position")
    r, s = orthogonal_procrustes(src, dst)
    return ((x - mu) @ r * (s / norm2) + mu_ref).astype(np.float32)


@dataclass(frozen=True)
class LinkedFocus:
    """What both maps highlight when one item is focused (in either map).

    Attributes
    ----------
    row_a, row_b : int
        The item's row in map A and in map B; -1 on the side where it has no partner.
    neighbors_a, neighbors_b : ndarray of shape (k,) or (0,), dtype intp
        Its k neighbours in space A as rows of map A, in space B as rows of map B (nearest
        first); empty for an unmatched item (it was not compared).
    shared_a, shared_b : ndarray of bool, same shapes
        True where that neighbour is also among the other space's k neighbours.
    jaccard : float or None
    """

    row_a: int
    row_b: int
    neighbors_a: NDArray[np.intp]
    neighbors_b: NDArray[np.intp]
    shared_a: NDArray[np.bool_]
    shared_b: NDArray[np.bool_]
    jaccard: float | None


@dataclass(frozen=True, eq=False)
class LinkedMaps:
    """Two maps of one comparison, B aligned to A, and the links between their rows.

    Attributes
    ----------
    coords_a : ndarray of shape (n_a, d), dtype float32
        Map of space A (every row of ``comparison.a``), as projected.
    coords_b : ndarray of shape (n_b, d), dtype float32
        Map of space B, aligned to A's frame.
    rows_a, rows_b : ndarray of shape (n_matched,), dtype intp
        Matched item i is row ``rows_a[i]`` of map A and ``rows_b[i]`` of map B.
    partner_a : ndarray of shape (n_a,), dtype intp
        Row of map B holding the same item, -1 if none; ``partner_b`` likewise (n_b,).
    jaccard_a, jaccard_b : ndarray of shape (n_a,) / (n_b,), dtype float32
        Per-row Jaccard@k, the colour values; NaN for unmatched rows (draw them grey).
    disparity : float
        Procrustes disparity of the matched coordinates (0 = same map up to rotation and scale).
    params : ProjectionParams
        The reducer settings both maps share.
    """

    coords_a: NDArray[np.float32]
    coords_b: NDArray[np.float32]
    rows_a: NDArray[np.intp]
    rows_b: NDArray[np.intp]
    partner_a: NDArray[np.intp]
    partner_b: NDArray[np.intp]
    jaccard_a: NDArray[np.float32]
    jaccard_b: NDArray[np.float32]
    disparity: float
    params: ProjectionParams
    comparison: Comparison

    def focus(self, side: str, row: int) -> LinkedFocus:
        """The focus of both maps after a click on ``row`` of map ``side`` ("a" or "b").

        Raises
        ------
        ParameterError
            Unknown side or row out of range.
        """
        own = self.partner_a if side == "a" else self.partner_b
        if side not in ("a", "b") or not 0 <= row < len(own):
            raise ParameterError(f"side must be 'a' or 'b' and row in 0..{len(own) - 1}, got {side!r}, {row}")
        row_a, row_b = (row, int(own[row])) if side == "a" else (int(own[row]), row)
        pos = np.flatnonzero(self.rows_a == row_a) if row_a >= 0 and row_b >= 0 else np.empty(0, np.intp)
        if len(pos) == 0:
            empty, none = np.empty(0, np.intp), np.empty(0, bool)
            return LinkedFocus(row_a, row_b, empty, empty, none, none, None)
        p, c = int(pos[0]), self.comparison
        na, nb = c.neighbors_a[p], c.neighbors_b[p]
        jac = float(c.table["jaccard"].iat[p])
        return LinkedFocus(row_a, row_b, self.rows_a[na], self.rows_b[nb], np.isin(na, nb), np.isin(nb, na), jac)

    def selection(self, side: str, rows: NDArray[np.integer]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """A box/lasso selection of ``rows`` in map ``side``, as rows of map A and of map B.

        The selected side keeps all its rows; the other gets the partners of the matched ones.
        """
        r = np.unique(np.asarray(rows, dtype=np.intp))
        if side == "a":
            return r, self.partner_a[r][self.partner_a[r] >= 0]
        if side == "b":
            return self.partner_b[r][self.partner_b[r] >= 0], r
        raise ParameterError(f"side must be 'a' or 'b', got {side!r}")


def project_pair(comparison: Comparison, params: ProjectionParams) -> tuple[Projection, Projection]:
    """Project both compared sets with the same validated settings (reducer, parameters, seed).

    Returns
    -------
    (Projection, Projection)
        Of ``comparison.a`` and ``comparison.b`` (every row), with their fitted reducers.

    Raises
    ------
    ParameterError, PointBudgetError
        See :func:`viz_app.reduce.project.project_with`.
    """
    a, b = comparison.a, comparison.b
    return (
        project_with(a.vectors, params, fingerprint=a.fingerprint),
        project_with(b.vectors, params, fingerprint=b.fingerprint),
    )


def _per_row(n: int, rows: NDArray[np.intp], values: NDArray[np.floating]) -> NDArray[np.float32]:
    out = np.full(n, np.nan, dtype=np.float32)
    out[rows] = values
    return out


def linked_maps(comparison: Comparison, proj_a: Projection, proj_b: Projection) -> LinkedMaps:
    """Both maps of a comparison, B aligned to A on the matched items (:func:`align_coords`).

    Parameters
    ----------
    comparison : Comparison
    proj_a, proj_b : Projection
        Maps of ``comparison.a`` and ``comparison.b`` made with the same settings (e.g. by
        :func:`project_pair`, or read from the projection cache).

    Returns
    -------
    LinkedMaps

    Raises
    ------
    ParameterError
        A projection that is not of its set, or settings that differ between the two.
    """
    c = comparison
    for name, es, proj in (("a", c.a, proj_a), ("b", c.b, proj_b)):
        if proj.coords.shape[0] != es.n_samples or proj.source_fingerprint not in ("", es.fingerprint):
            raise ParameterError(f"map {name} was not computed from {es.name!r}")
    if proj_a.params != proj_b.params:
        raise ParameterError(
            f"both maps need the same settings, got {proj_a.params.describe()} and {proj_b.params.describe()}"
        )
    coords_b = align_coords(proj_b.coords, proj_a.coords, c.rows_b, c.rows_a)
    partner_a = np.full(c.a.n_samples, -1, dtype=np.intp)
    partner_b = np.full(c.b.n_samples, -1, dtype=np.intp)
    partner_a[c.rows_a], partner_b[c.rows_b] = c.rows_b, c.rows_a
    jac = c.table["jaccard"].to_numpy()
    return LinkedMaps(
        coords_a=proj_a.coords,
        coords_b=coords_b,
        rows_a=c.rows_a,
        rows_b=c.rows_b,
        partner_a=partner_a,
        partner_b=partner_b,
        jaccard_a=_per_row(c.a.n_samples, c.rows_a, jac),
        jaccard_b=_per_row(c.b.n_samples, c.rows_b, jac),
        disparity=procrustes_disparity(proj_a.coords[c.rows_a], coords_b[c.rows_b]),
        params=proj_a.params,
        comparison=c,
    )
