"""How alike two representations of the same items are, as a whole: linear CKA and the
orthogonal Procrustes disparity (for :mod:`viz_app.explore.compare` and the linked maps)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from viz_app.errors import ParameterError

__all__ = ["linear_cka", "procrustes_disparity"]


def _centred(x: NDArray[np.floating]) -> NDArray[np.float64]:
    x = np.asarray(x, dtype=np.float64)
    return x - x.mean(axis=0)


def linear_cka(x: NDArray[np.floating], y: NDArray[np.floating]) -> float:
    """Linear centred kernel alignment of two representations of the same n items.

    ``CKA = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)`` on column-centred X and Y (Kornblith et al. 2019,
    eq. 3 with a linear kernel), from the d×d cross-covariances: O(n·d_x·d_y) time, no n×n
    matrix; when n is smaller than both dimensions the equal Gram-matrix form is used instead.

    Parameters
    ----------
    x : ndarray of shape (n_samples, d_x)
    y : ndarray of shape (n_samples, d_y)
        Row i of both is the same item.

    Returns
    -------
    float
        In [0, 1]; 1 when Y is a rotation (and isotropic scaling, translation) of X. 0 when either
        is constant.

    Raises
    ------
    ParameterError
        Different numbers of rows, or fewer than 2.
    """
    if x.shape[0] != y.shape[0] or x.shape[0] < 2:
        raise ParameterError(f"CKA needs the same items (rows) in both, at least 2; got {x.shape[0]} and {y.shape[0]}")
    xc, yc = _centred(x), _centred(y)
    if x.shape[0] < min(x.shape[1], y.shape[1]):
        kx, ky = xc @ xc.T, yc @ yc.T
        num, den = float(np.vdot(kx, ky)), float(np.linalg.norm(kx) * np.linalg.norm(ky))
    else:
        num = float(np.linalg.norm(yc.T @ xc) ** 2)
        den = float(np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc))
    return min(num / den, 1.0) if den > 0 else 0.0


def procrustes_disparity(x: NDArray[np.floating], y: NDArray[np.floating]) -> float:
    """Orthogonal Procrustes disparity of two representations of the same items (same dimension).

    Both are centred and scaled to unit Frobenius norm; ``R`` = ``scipy.linalg.orthogonal_procrustes``
    (rotation or reflection minimising ``‖XR - Y‖``; Schönemann 1966) with the best scale ``s``
    (the sum of the singular values of XᵀY): disparity ``‖sXR - Y‖²_F = 1 - s²``, the value of
    ``scipy.spatial.procrustes``.

    Parameters
    ----------
    x, y : ndarray of shape (n_samples, n_features)

    Returns
    -------
    float
        In [0, 1]; 0 when Y is a rotated, scaled and shifted X.

    Raises
    ------
    ParameterError
        Different shapes, or a constant representation.
    """
    from scipy.linalg import orthogonal_procrustes

    if x.shape != y.shape:
        raise ParameterError(f"Procrustes needs representations of the same shape, got {x.shape} and {y.shape}")
    xc, yc = _centred(x), _centred(y)
    nx, ny = np.linalg.norm(xc), np.linalg.norm(yc)
    if nx == 0 or ny == 0:
        raise ParameterError("Procrustes needs non-constant representations")
    _, scale = orthogonal_procrustes(xc / nx, yc / ny)
    return float(min(max(1.0 - scale**2, 0.0), 1.0))
