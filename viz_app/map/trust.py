"""The trust report of a map: :func:`viz_app.explore.trust.trust_metrics` over the map's own graph.

The original-space kNN graph is the one the live map ships and the neighbour lists show
(:func:`viz_app.explore.graph.neighbor_graph`, cosine, at the live map's 20 neighbours and cached
there: UMAP's own graph when the map is a cosine UMAP map fitted on every point, else exact up to
20,000 points and NN-descent above), so the figures describe the very neighbours a user sees.
"""

from __future__ import annotations

import numpy as np

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError
from viz_app.explore.graph import graph_method, neighbor_graph
from viz_app.explore.trust import DEFAULT_K, FocusNeighbours, TrustReport, focus_neighbours, trust_metrics
from viz_app.map.encode import MAX_KNN_K
from viz_app.map.view import Arrow, Highlight
from viz_app.progress import Progress, null_progress, scaled
from viz_app.reduce import Projection

__all__ = ["INSPECTOR_COLORS", "focus_layers", "graph_source", "inspect_focus", "trust"]


#: Neighbours per row of the graph asked for: the live map's (``prepare_map``'s ``k``), so the
#: figures reuse its cached graph (:func:`viz_app.explore.graph.neighbor_graph`) and read its first k.
GRAPH_K = 20
_METHODS = {
    "umap": "UMAP's own kNN graph",
    "exact": "exact cosine kNN graph",
    "nndescent": "cosine kNN graph (NN-descent, approximate)",
}


def graph_source(es: EmbeddingSet, projection: Projection, k: int = GRAPH_K) -> str:
    """Where :func:`viz_app.explore.graph.neighbor_graph` takes this map's graph from, in words."""
    kk = max(1, min(max(k, GRAPH_K), MAX_KNN_K, es.n_samples - 1))
    return _METHODS[graph_method(es, kk, metric="cosine", projection=projection)]


def _graph(es: EmbeddingSet, projection: Projection, k: int) -> np.ndarray:
    kk = min(max(k, GRAPH_K), MAX_KNN_K, es.n_samples - 1)
    return np.asarray(neighbor_graph(es, kk, metric="cosine", projection=projection))[:, :k]


def trust(
    es: EmbeddingSet,
    projection: Projection,
    *,
    k: int = DEFAULT_K,
    random_state: int = 0,
    progress: Progress | None = None,
) -> TrustReport:
    """How faithful ``projection`` is to ``es``: trustworthiness, continuity, preservation@k.

    Venna & Kaski 2006 (trustworthiness and continuity, rank-based) and Lee & Verleysen 2009
    (neighbourhood preservation ``Q_NX(k)``), from the map's original-space kNN graph and a
    KD-tree on the map; see :mod:`viz_app.explore.trust` for the definitions and the cost
    (exact for every point up to 5,000 points, a seeded sample above).

    Parameters
    ----------
    es : EmbeddingSet
    projection : Projection
        A map of ``es``.
    k : int, default=10
        1 <= k <= min(50, (n - 1) / 2).
    random_state : int, default=0
        Seed of the ranked sample above 5,000 points.
    progress : Progress, optional

    Returns
    -------
    TrustReport
        ``trustworthiness``, ``continuity``, ``preservation`` (mean), ``chance`` (k / (n - 1))
        and ``per_point`` (``id``, ``preservation``, ``trustworthiness``, ``continuity``).

    Raises
    ------
    ParameterError
        ``projection`` is not a map of ``es``; ``k`` out of range; more than 200,000 points
        (no kNN graph is kept for the map above that).
    """
    if projection.source_fingerprint and projection.source_fingerprint != es.fingerprint:
        raise ParameterError("the projection was computed from another embedding set")
    n = es.n_samples
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < n / 2:
        raise ParameterError(f"k must be an integer in 1..{max(1, (n - 1) // 2)} for {n} points, got {k!r}")
    report = progress or null_progress
    report(0.0, "original-space kNN graph")
    graph = _graph(es, projection, int(k))
    return trust_metrics(
        es.vectors,
        projection.coords,
        graph,
        k=int(k),
        metric="cosine",
        ids=es.ids,
        random_state=random_state,
        graph_source=graph_source(es, projection, int(k)),
        progress=scaled(report, 0.3, 1.0),
    )


def inspect_focus(
    es: EmbeddingSet, projection: Projection, row: int, *, k: int = DEFAULT_K, graph: np.ndarray | None = None
) -> FocusNeighbours:
    """Missing and false neighbours of one point of the map (see
    :func:`viz_app.explore.trust.focus_neighbours`); the true neighbours come from ``graph``
    (the map's kNN graph) when given, else from the map's :func:`~viz_app.map.prepare.knn_graph`
    row, computed for this row only by :func:`viz_app.explore.neighbors.knn_indices` unless the
    map is UMAP with its own graph.

    Raises
    ------
    ParameterError
        ``row`` or ``k`` out of range.
    """
    if graph is None:
        graph = _graph(es, projection, k)[int(row)]
    return focus_neighbours(int(row), projection.coords, graph, k=k, vectors=es.vectors)


#: Colours of the focus inspector: missing neighbours (true, drawn far) and false ones (near, not true).
INSPECTOR_COLORS = {"missing": "#d62728", "false": "#17becf"}


def focus_layers(coords: np.ndarray, f: FocusNeighbours) -> tuple[list[Arrow], list[Highlight]]:
    """The focus inspector as live-map overlays (:mod:`viz_app.map.view`).

    A red line from the focus to each missing neighbour (a true neighbour the map puts far
    away) and a red fill on it, labelled; a cyan ring on each false neighbour (drawn near, not a
    true neighbour), labelled.

    Parameters
    ----------
    coords : ndarray of shape (n, 2|3)
        The map.
    f : FocusNeighbours
        From :func:`inspect_focus`.

    Returns
    -------
    (arrows, highlights)
    """
    c = np.asarray(coords, dtype=np.float64)
    start = c[f.row].tolist()
    arrows = [Arrow(start, c[int(j)].tolist(), color=INSPECTOR_COLORS["missing"], width=1.5) for j in f.missing]
    highlights = []
    if len(f.missing):
        highlights.append(
            Highlight("missing neighbours", [int(j) for j in f.missing], color=INSPECTOR_COLORS["missing"],
                      style="fill", size=1.5, label=True, priority=780)
        )  # fmt: skip
    if len(f.false):
        highlights.append(
            Highlight("false neighbours", [int(j) for j in f.false], color=INSPECTOR_COLORS["false"],
                      style="ring", size=1.6, label=True, priority=770)
        )  # fmt: skip
    return arrows, highlights
