"""Where batch work runs: in this process (:class:`LocalEngine`) or on a Dask cluster
(:class:`viz_app.explore.dask_engine.DaskEngine`). Both give the same results for the same input
(the Dask engine runs the very same functions on blocks of rows).

An engine does the three heavy steps of ``embedding-lens embed``/``map``: embed texts, project
(fit, optionally on a seeded sample, then ``transform`` for the rest) and the kNN graph.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.embed.encoders import encode
from viz_app.explore.graph import neighbor_graph
from viz_app.progress import Progress
from viz_app.reduce.project import Projection, project_with
from viz_app.reduce.registry import ProjectionParams

__all__ = ["LocalEngine", "distances", "pair_distances"]


def distances(x: NDArray[np.float32], idx: NDArray[np.integer], metric: str, *, start: int = 0) -> NDArray[np.float32]:
    """Distance from rows ``start .. start + len(idx) - 1`` of ``x`` to the rows ``idx`` lists
    (row ``i`` of ``idx`` belongs to row ``start + i``; default: all rows from 0): cosine distance
    (1 - cosine similarity) or euclidean; shape and dtype ``(len(idx), k) float32``."""
    v = np.asarray(x, dtype=np.float32)
    return pair_distances(v[start : start + len(idx)], v, idx, metric)


def pair_distances(
    q: NDArray[np.float32], x: NDArray[np.float32], idx: NDArray[np.integer], metric: str
) -> NDArray[np.float32]:
    """Distance from query row ``i`` of ``q`` (m, d) to the rows ``idx[i]`` of ``x`` (n, d):
    cosine distance (1 - cosine similarity; a zero row counts as distance 1) or euclidean, in
    float32; shape ``(m, k)`` for ``idx`` of shape ``(m, k)``. Each value depends only on its
    two rows, so a graph computed by blocks of rows gets the same distances as a whole one."""
    q, x = np.asarray(q, dtype=np.float32), np.asarray(x, dtype=np.float32)
    if metric == "cosine":
        return (1.0 - np.einsum("nd,nkd->nk", _unit(q), _unit(x)[idx])).astype(np.float32)
    return np.linalg.norm(q[:, None, :] - x[idx], axis=2).astype(np.float32)


def _unit(v: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.asarray(v / np.where(norms > 0, norms, 1), dtype=np.float32)


class LocalEngine:
    """Everything in this process (numpy, scikit-learn, umap-learn, sentence-transformers)."""

    name = "local"

    def embed(
        self, texts: Sequence[str], *, model: str | None = None, progress: Progress | None = None
    ) -> NDArray[np.float32]:
        """:func:`viz_app.embed.encoders.encode`; ``progress(fraction, text)``."""

        def report(done: int, total: int) -> None:
            if progress is not None:
                progress(done / max(total, 1), f"embedded {done:,} / {total:,} texts")

        return encode(list(texts), model=model, progress=report)

    def project(
        self,
        x: NDArray[np.float32],
        params: ProjectionParams,
        *,
        fingerprint: str = "",
        progress: Progress | None = None,
    ) -> Projection:
        """:func:`viz_app.reduce.project.project_with`."""
        return project_with(x, params, fingerprint=fingerprint, progress=progress)

    def knn(
        self,
        es: EmbeddingSet,
        *,
        k: int,
        metric: str,
        projection: Projection | None = None,
        random_state: int = 0,
        progress: Progress | None = None,
    ) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """:func:`viz_app.explore.graph.neighbor_graph` (the live map's graph: exact up to 20k rows,
        NN-descent above, or the UMAP map's own) and the distances along it (``progress`` unused:
        one call)."""
        g = neighbor_graph(es, k, metric=metric, projection=projection, random_state=random_state)
        idx = np.asarray(g, dtype=np.int32)
        return idx, distances(es.vectors, idx, metric)

    def close(self) -> None:
        """Nothing to release."""
