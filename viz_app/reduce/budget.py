"""Point budgets of the reducers: refuse to fit more points than a reducer's budget, before any
work is done, and the seeded sample offered instead.

Each reducer's default budget is in its spec (:attr:`ReducerSpec.max_points
<viz_app.reduce.registry.ReducerSpec>`), sized for the reference machine (2 CPU cores, 24 GB):

====== =================================== ========== ==============================================
reducer environment variable               default    why
====== =================================== ========== ==============================================
PCA    ``EMBEDDING_LENS_MAX_POINTS_PCA``   2,000,000  scikit-learn PCA is one pass over the matrix
                                                      (seconds); bounded by memory, not time.
t-SNE  ``EMBEDDING_LENS_MAX_POINTS_TSNE``  50,000     openTSNE (FFT) is linear per iteration but
                                                      runs 750 of them: minutes at 50k on 2 cores.
UMAP   ``EMBEDDING_LENS_MAX_POINTS_UMAP``  200,000    umap-learn runs single-threaded
                                                      (reproducible): minutes at 200k.
====== =================================== ========== ==============================================

The variables are read on every call (no restart needed) and must be positive integers.

Over a budget, :func:`check_points` raises :class:`PointBudgetError`; its message offers the
sampled path, which the caller must choose explicitly (never sampled silently): fit the reducer
on ``sample_fit_rows(n, budget, random_state)`` and place the other rows with the fitted
reducer's ``transform`` (scikit-learn ``PCA.transform``, openTSNE ``TSNEEmbedding.transform``,
umap-learn ``UMAP.transform``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from viz_app.errors import ParameterError, ResourceLimitError
from viz_app.reduce.registry import get_reducer

__all__ = ["PointBudgetError", "check_points", "max_points", "sample_fit_rows"]


class PointBudgetError(ResourceLimitError):
    """More points than a reducer's budget (:func:`check_points`).

    Attributes
    ----------
    reducer : str
        The reducer's registry name.
    n_samples : int
        Points asked for.
    budget : int
        Largest number of points the reducer may fit; the size of the offered sample.
    """

    def __init__(self, message: str, *, reducer: str, n_samples: int, budget: int) -> None:
        super().__init__(message)
        self.reducer, self.n_samples, self.budget = reducer, n_samples, budget


def max_points(reducer: str, environ: Mapping[str, str] | None = None) -> int:
    """The point budget of ``reducer``: its environment variable, else its spec's default.

    Raises
    ------
    ParameterError
        Unknown reducer, or the variable is set to something other than a positive integer.
    """
    spec = get_reducer(reducer)
    raw = (os.environ if environ is None else environ).get(spec.budget_env, "").strip()
    if not raw:
        return spec.max_points
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (np.isfinite(value) and value >= 1 and value == int(value)):
        raise ParameterError(f"environment variable {spec.budget_env}={raw!r} must be a positive integer")
    return int(value)


def check_points(reducer: str, n_samples: int) -> None:
    """Refuse to fit ``reducer`` on more points than its budget, before any work is done.

    Parameters
    ----------
    reducer : str
        A registered reducer.
    n_samples : int
        Points to fit.

    Raises
    ------
    PointBudgetError
        ``n_samples`` > the budget. The message names the limit, the environment variable that
        raises it, and offers fitting on a seeded sample (:func:`sample_fit_rows`) and placing
        the rest with the reducer's ``transform``; ``.budget`` is the sample size to offer.
    ParameterError
        Unknown reducer.
    """
    spec = get_reducer(reducer)
    budget = max_points(reducer)
    if n_samples > budget:
        raise PointBudgetError(
            f"{spec.display} on {n_samples:,} points is over the limit of {budget:,} points; set the "
            f"environment variable {spec.budget_env} to raise the limit. Or fit {spec.display} on a seeded "
            f"sample of {budget:,} points and place the rest with the reducer's transform",
            reducer=reducer,
            n_samples=int(n_samples),
            budget=budget,
        )


def sample_fit_rows(n: int, budget: int, random_state: int) -> NDArray[np.intp]:
    """Rows to fit a reducer on when ``n`` points exceed its ``budget``: a seeded sample.

    The other rows are then placed with the fitted reducer's ``transform``. Only called when
    the user chose this path (the UI offers it after a :class:`PointBudgetError`).

    Parameters
    ----------
    n : int, >= 1
        Number of points.
    budget : int, >= 1
        Sample size (e.g. ``PointBudgetError.budget``).
    random_state : int, >= 0
        Seed of ``numpy.random.default_rng``; the same arguments give the same rows.

    Returns
    -------
    ndarray of shape (min(n, budget),), dtype intp
        Distinct row indices in ``0..n-1``, sorted ascending; all rows when ``n <= budget``.

    Raises
    ------
    ParameterError
        ``n`` or ``budget`` < 1, or ``random_state`` not an integer >= 0.
    """
    for name, v, low in (("n", n, 1), ("budget", budget, 1), ("random_state", random_state, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise ParameterError(f"{name} must be an integer >= {low}, got {v!r}")
    if n <= budget:
        return np.arange(n, dtype=np.intp)
    rows = np.random.default_rng(int(random_state)).choice(int(n), size=int(budget), replace=False)
    return np.sort(rows).astype(np.intp)
