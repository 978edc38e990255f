"""PCA (Pearson 1901; Hotelling 1933) via scikit-learn's ``PCA``: exact SVD, linear, instant.

Deterministic up to sign, which scikit-learn fixes. Its ``transform`` is the same linear map,
so a training vector lands exactly on its own position (vector arithmetic is exact on a PCA
map: ``T(a - b + c) = T(a) - T(b) + T(c)``). The smallest example of a registered reducer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from viz_app.errors import ParameterError
from viz_app.progress import Progress
from viz_app.reduce.registry import FitResult, ProjectionParams, ReducerSpec, register

__all__ = ["SPEC"]


def _pad(coords: NDArray[np.float32], n_components: int) -> NDArray[np.float32]:
    """1-D/2-D input shown in 3-D: pad with zeros."""
    if coords.shape[1] >= n_components:
        return coords
    return np.hstack([coords, np.zeros((len(coords), n_components - coords.shape[1]), np.float32)])


def _fit(x: NDArray[np.float32], p: ProjectionParams, report: Progress) -> FitResult:
    from sklearn.decomposition import PCA

    report(0.0, "PCA (scikit-learn)")
    pca = PCA(n_components=min(p.n_components, x.shape[1]), random_state=p.random_state)
    coords = _pad(pca.fit_transform(x).astype(np.float32), p.n_components)
    ratio = float(np.nan_to_num(pca.explained_variance_ratio_).sum())  # identical vectors: 0 total variance
    return FitResult(coords, {"explained_variance_ratio": ratio}, pca)


def _transform(model: Any, p: ProjectionParams, x: NDArray[np.float32]) -> NDArray[np.float32]:
    return _pad(np.asarray(model.transform(x), dtype=np.float32), p.n_components)


def _check_n(n: int, values: Mapping[str, Any]) -> None:
    if n < 3:
        raise ParameterError(f"PCA needs at least 3 points, got {n}")


def _quality(q: Mapping[str, float]) -> str | None:
    r = q.get("explained_variance_ratio")
    return None if r is None else f"explained variance {r:.1%}"


SPEC = register(
    ReducerSpec(
        name="pca",
        display="PCA",
        library="scikit-learn",
        reference="Pearson 1901; Hotelling 1933",
        summary="PCA: linear, instant; keeps the directions of largest variance.",
        params=(),
        uses_metric=False,
        max_points=2_000_000,
        check_n_samples=_check_n,
        fit=_fit,
        transform=_transform,
        transform_is_exact=True,
        stages=("PCA (scikit-learn)",),
        quality_text=_quality,
    )
)
