"""The map's kNN graph on real data (GloVe): exact, NN-descent (pynndescent) and UMAP's own graph,
each checked against exact neighbours; the table next to the map lists the graph's rows."""

from __future__ import annotations

import types

import numpy as np
import pytest

from viz_app.errors import ParameterError
from viz_app.explore.graph import clear_graph_cache, graph_method, neighbor_graph
from viz_app.explore.neighbors import knn_indices, most_similar
from viz_app.map.prepare import prepare_map
from viz_app.reduce import Projection, make_params


@pytest.fixture(scope="module")
def glove_5k(glove_10k):
    return glove_10k.subset(np.arange(5000))


def _recall(graph, exact) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(graph, exact)]))


def _check_graph(g, n, k):
    assert g.shape == (n, k) and g.dtype == np.uint32 and not g.flags.writeable
    assert (g != np.arange(n)[:, None]).all()  # a row is never its own neighbour
    assert all(len(set(r)) == k for r in g[:200])  # distinct neighbours


def test_exact_graph_is_most_similar(glove_5k):
    es = glove_5k
    g = neighbor_graph(es, 10)
    assert graph_method(es, 10) == "exact"
    _check_graph(g, es.n_samples, 10)
    for w in ("king", "paris", "water"):
        r = int(np.flatnonzero(es.labels == w)[0])
        assert g[r].tolist() == most_similar(es, w, k=10)["row"].tolist()
    assert neighbor_graph(es, 10) is g  # cached


def test_nndescent_graph_recall_against_exact(glove_5k):
    clear_graph_cache()
    es = glove_5k
    assert graph_method(es, 20, exact_max_points=1000) == "nndescent"
    g = neighbor_graph(es, 20, exact_max_points=1000, random_state=0)
    _check_graph(g, es.n_samples, 20)
    rows = np.random.default_rng(0).choice(es.n_samples, 300, replace=False)
    exact = knn_indices(es, rows, k=20)
    assert _recall(g[rows], exact) >= 0.95
    # approximate lists are sorted by exact similarity, nearest first
    x = es.vectors.astype(np.float64) / np.linalg.norm(es.vectors.astype(np.float64), axis=1, keepdims=True)
    for r in rows[:50]:
        sim = x[g[r]] @ x[r]
        assert (np.diff(sim) <= 1e-12).all()
    assert neighbor_graph(es, 20, exact_max_points=1000, random_state=0) is g


def test_umap_graph_reused_sliced_and_queried(glove_5k):
    """umap-learn's own kNN step (``umap.umap_.nearest_neighbors``, NN-descent above 4,096 rows),
    lent by a UMAP projection: k below its n_neighbors slices the graph, k above queries its index."""
    from umap.umap_ import nearest_neighbors

    es = glove_5k
    idx, _, index = nearest_neighbors(
        es.vectors, n_neighbors=15, metric="cosine", metric_kwds={}, angular=False,
        random_state=np.random.RandomState(0),
    )  # fmt: skip
    model = types.SimpleNamespace(_knn_indices=idx, _knn_search_index=index)
    params = make_params("umap", n_samples=es.n_samples, n_neighbors=15)
    proj = Projection(np.zeros((es.n_samples, 2), np.float32), params, es.fingerprint, model=model)
    rows = np.random.default_rng(1).choice(es.n_samples, 300, replace=False)
    assert graph_method(es, 10, projection=proj) == "umap"
    g10 = neighbor_graph(es, 10, projection=proj)
    _check_graph(g10, es.n_samples, 10)
    assert all(set(g10[r]) <= set(idx[r]) for r in rows)  # UMAP's own neighbours, not recomputed
    assert _recall(g10[rows], knn_indices(es, rows, k=10)) >= 0.9
    g30 = neighbor_graph(es, 30, projection=proj)  # more than UMAP kept: its index is queried
    _check_graph(g30, es.n_samples, 30)
    assert _recall(g30[rows], knn_indices(es, rows, k=30)) >= 0.9
    # a PCA map, or a UMAP map fitted on a sample, does not lend a graph
    pca = Projection(proj.coords, make_params("pca"), es.fingerprint)
    assert graph_method(es, 10, projection=pca) == "exact"
    sampled = make_params("umap", n_samples=es.n_samples, n_neighbors=15, fit_sample=1000)
    assert graph_method(es, 10, projection=Projection(proj.coords, sampled, es.fingerprint, model=model)) == "exact"


def test_the_table_lists_the_shipped_graph(glove_5k, monkeypatch):
    """Above the exact size the graph is approximate: the server's table must still list exactly
    the rows the page highlights (the shipped graph), with exact similarities."""
    import viz_app.explore.graph as graph_mod

    monkeypatch.setattr(graph_mod, "GRAPH_EXACT_MAX_POINTS", 1000)
    es = glove_5k
    md = prepare_map(es, es.vectors[:, :2], k=20)
    g = md.details.graph
    assert g is neighbor_graph(es, 20, exact_max_points=1000)
    king = int(np.flatnonzero(es.labels == "king")[0])
    table = md.neighbors(king, 10)
    assert table["row"].tolist() == g[king, :10].tolist()
    assert {"queen", "prince"} <= set(table["label"])
    ref = most_similar(es, "king", k=50).set_index("row")["similarity"]
    assert np.allclose(table.set_index("row")["similarity"], ref.reindex(table["row"]).dropna(), atol=1e-9)
    with pytest.raises(ParameterError):
        md.neighbors(es.n_samples, 10)


def test_bad_k_and_metric(glove_5k):
    with pytest.raises(ParameterError):
        neighbor_graph(glove_5k, 0)
    with pytest.raises(ParameterError):
        neighbor_graph(glove_5k, 5, metric="dot")
