"""Reducers: projections to 2-D/3-D (PCA, t-SNE, UMAP) behind one registry.

Each reducer is one module (``pca``, ``tsne``, ``umap``) that registers a
:class:`~viz_app.reduce.registry.ReducerSpec`; importing this package registers the built-ins.
"""

from viz_app.reduce import pca, tsne, umap  # noqa: F401 - registers the built-in reducers
from viz_app.reduce.budget import PointBudgetError, check_points, max_points, sample_fit_rows
from viz_app.reduce.project import DEFAULT_VIEW, Projection, project, project_with, transform, trustworthiness
from viz_app.reduce.registry import (
    METRICS,
    Param,
    ProjectionParams,
    ReducerSpec,
    get_reducer,
    make_params,
    reducer_names,
    register,
)
from viz_app.reduce.umap import use_numba_disk_cache, warm_up

#: The built-in reducers (:func:`reducer_names` lists every registered one).
REDUCERS: tuple[str, ...] = reducer_names()

__all__ = [
    "DEFAULT_VIEW",
    "METRICS",
    "REDUCERS",
    "Param",
    "PointBudgetError",
    "Projection",
    "ProjectionParams",
    "ReducerSpec",
    "check_points",
    "get_reducer",
    "make_params",
    "max_points",
    "project",
    "project_with",
    "reducer_names",
    "register",
    "sample_fit_rows",
    "transform",
    "trustworthiness",
    "use_numba_disk_cache",
    "warm_up",
]
