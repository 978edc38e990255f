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

__all__ = ["LocalEngine", "distances"]


def distances(x: NDArray[np.float32], idx: NDArray[np.integer], metric: str) -> NDArray[np.float32]:
    """Distance from each row of ``x`` to the rows ``idx[i]`` lists: cosine distance (1 - cosine
    similarity) or euclidean; shape and dtype ``(n, k) float32``."""
    v = np.asarray(x, dtype=np.float32)
    if metric == "cosine":
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        u = v / np.where(norms > 0, norms, 1)
        return (1.0 - np.einsum("nd,nkd->nk", u, u[idx])).astype(np.float32)
    return np.linalg.norm(v[:, None, :] - v[idx], axis=2).astype(np.float32)


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
        self, es: EmbeddingSet, *, k: int, metric: str, projection: Projection | None = None, random_state: int = 0
    ) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """:func:`viz_app.explore.graph.neighbor_graph` (the live map's graph: exact up to 20k rows,
        NN-descent above, or the UMAP map's own) and the distances along it."""
        g = neighbor_graph(es, k, metric=metric, projection=projection, random_state=random_state)
        idx = np.asarray(g, dtype=np.int32)
        return idx, distances(es.vectors, idx, metric)

    def close(self) -> None:
        """Nothing to release."""
