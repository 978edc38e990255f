"""Trust metrics of a map (viz_app.explore.trust, viz_app.map.trust) on real data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.manifold import trustworthiness as sk_trustworthiness
from sklearn.preprocessing import normalize

import viz_app
import viz_app.explore.trust as trust_mod
from viz_app import EmbeddingSet, ParameterError, make_params, project
from viz_app.explore.neighbors import knn_indices
from viz_app.explore.trust import focus_neighbours, map_knn, trust_metrics
from viz_app.map.trust import inspect_focus


@pytest.fixture(scope="module")
def glove_2k(glove_10k):
    """2,000 GloVe words with float64 vectors (the comparison with scikit-learn is in float64)."""
    return glove_10k.subset(np.arange(2000))


def test_trustworthiness_and_continuity_equal_scikit_learn_on_glove(glove_2k):
    proj = project(glove_2k, reducer="pca")
    x = glove_2k.vectors.astype(np.float64)
    graph = knn_indices(glove_2k, np.arange(glove_2k.n_samples), k=10)
    r = trust_metrics(x, proj.coords, graph, k=10, metric="cosine")
    assert r.ranked == r.n == 2000 and not r.sampled
    expected_t = sk_trustworthiness(x, proj.coords, n_neighbors=10, metric="cosine")
    # continuity is trustworthiness with the spaces swapped (euclidean on unit vectors ranks as cosine)
    expected_c = sk_trustworthiness(proj.coords.astype(np.float64), normalize(x), n_neighbors=10)
    assert r.trustworthiness == pytest.approx(expected_t, abs=1e-9)
    assert r.continuity == pytest.approx(expected_c, abs=1e-9)
    assert 0.6 < r.trustworthiness < 0.8  # PCA of 50-d GloVe: 0.703 measured
    # the per-point terms average to the map's figures
    assert r.per_point["trustworthiness"].mean() == pytest.approx(r.trustworthiness)
    assert list(r.per_point.columns) == ["id", "preservation", "trustworthiness", "continuity"]


def test_euclidean_ranks_equal_scikit_learn(glove_2k):
    # (not on digits: integer pixels tie distances, and scikit-learn breaks ties by argsort order)
    x = glove_2k.vectors.astype(np.float64)
    proj = project(glove_2k, reducer="pca", n_components=3)  # a 3-D map
    graph = knn_indices(glove_2k, np.arange(glove_2k.n_samples), k=7, metric="euclidean")
    r = trust_metrics(x, proj.coords, graph, k=7, metric="euclidean")
    assert r.trustworthiness == pytest.approx(sk_trustworthiness(x, proj.coords, n_neighbors=7), abs=1e-9)


def test_a_map_that_is_the_original_space_scores_one(glove_2k):
    flat = project(glove_2k, reducer="pca").coords  # real 2-D data
    es2 = EmbeddingSet(flat, ids=glove_2k.ids)
    proj = project(es2, reducer="pca")  # PCA of 2-D data: a rotation (and reflection)
    graph = knn_indices(es2, np.arange(es2.n_samples), k=10, metric="euclidean")
    r = trust_metrics(es2.vectors, proj.coords, graph, k=10, metric="euclidean")
    assert r.trustworthiness == pytest.approx(1.0, abs=1e-12)
    assert r.continuity == pytest.approx(1.0, abs=1e-12)
    assert r.preservation == pytest.approx(1.0, abs=1e-3)  # float32 ties may swap a 10th and 11th


def test_a_randomly_permuted_map_scores_near_chance(glove_2k):
    proj = project(glove_2k, reducer="pca")
    shuffled = proj.coords[np.random.default_rng(0).permutation(glove_2k.n_samples)]
    graph = knn_indices(glove_2k, np.arange(glove_2k.n_samples), k=10)
    r = trust_metrics(glove_2k.vectors, shuffled, graph, k=10)
    assert r.chance == pytest.approx(10 / 1999)
    assert abs(r.preservation - r.chance) < 0.003  # 0.0050 expected; measured 0.0052
    assert abs(r.trustworthiness - 0.5) < 0.02 and abs(r.continuity - 0.5) < 0.02  # random ranks: 0.5
    unshuffled = trust_metrics(glove_2k.vectors, proj.coords, graph, k=10)
    assert unshuffled.preservation > 10 * r.preservation


def test_umap_preserves_more_neighbours_than_pca_on_digits(digits_set):
    umap_map = project(digits_set, reducer="umap", random_state=0)
    pca_map = project(digits_set, reducer="pca")
    ru, rp = viz_app.trust(digits_set, umap_map), viz_app.trust(digits_set, pca_map)
    assert ru.graph == rp.graph == "exact cosine kNN graph"  # umap-learn keeps no graph below 4,096 points
    # measured: UMAP 0.46 vs PCA 0.06 (T 0.98 vs 0.85)
    assert ru.preservation > 0.35 and rp.preservation < 0.12
    assert ru.preservation > 3 * rp.preservation
    assert ru.trustworthiness > rp.trustworthiness > 0.8


def test_sampled_ranks_above_the_budget_agree_with_exact(glove_2k, monkeypatch):
    proj = project(glove_2k, reducer="pca")
    graph = knn_indices(glove_2k, np.arange(glove_2k.n_samples), k=10)
    exact = trust_metrics(glove_2k.vectors, proj.coords, graph, k=10)
    floor = trust_metrics(glove_2k.vectors, proj.coords, graph, k=10, rank_budget=1, random_state=3)
    assert floor.ranked == 2000 and not floor.sampled  # MIN_RANKED (2,000) floor: every point here
    monkeypatch.setattr(trust_mod, "MIN_RANKED", 300)
    s = trust_metrics(glove_2k.vectors, proj.coords, graph, k=10, rank_budget=2000 * 300, random_state=3)
    assert s.ranked == 300 and s.sampled and s.stderr > 0
    assert s.per_point["trustworthiness"].isna().sum() == 1700
    assert s.per_point["preservation"].notna().all()
    assert abs(s.trustworthiness - exact.trustworthiness) < 4 * s.stderr
    assert s.preservation == exact.preservation  # preservation is always over every point
    assert "seeded sample of 300" in s.caption()


def test_map_knn_leaves_each_point_out_even_on_duplicates():
    c = np.array([[0, 0], [0, 0], [1, 0], [3, 0], [7, 0]], dtype=np.float32)
    nn = map_knn(c, 2)
    assert all(i not in row for i, row in enumerate(nn.tolist()))
    assert sorted(nn[0]) == [1, 2] and sorted(nn[1]) == [0, 2] and sorted(nn[4]) == [2, 3]


def test_focus_neighbours_count_missing_and_false(glove_10k):
    es = glove_10k
    proj = project(es, reducer="pca")
    row = int(es.index_of(["king"])[0])
    f = inspect_focus(es, proj, row, k=10)
    true = knn_indices(es, [row], k=10)[0]
    assert len(f.missing) + len(f.kept) == 10 and len(f.false) == len(f.missing)
    assert set(f.missing) | set(f.kept) == set(true.tolist())
    assert (f.missing_map_rank > 10).all() and (f.false_rank > 10).all()
    assert "missing neighbour" in f.caption()
    # the same counts as the map's per-point preservation
    graph = knn_indices(es, np.arange(es.n_samples), k=10)
    r = trust_metrics(es.vectors, proj.coords, graph, k=10, rank_budget=1)
    assert r.per_point["preservation"].iloc[row] == pytest.approx(len(f.kept) / 10)
    same = focus_neighbours(row, proj.coords, graph, k=10)
    assert np.array_equal(same.missing, f.missing) and np.array_equal(same.false, f.false)


def test_bad_input_is_refused(glove_2k, digits_small):
    proj = project(glove_2k, reducer="pca")
    graph = knn_indices(glove_2k, np.arange(glove_2k.n_samples), k=5)
    with pytest.raises(ParameterError, match="k must be"):
        trust_metrics(glove_2k.vectors, proj.coords, graph, k=1000)
    with pytest.raises(ParameterError, match="does not give 10"):
        trust_metrics(glove_2k.vectors, proj.coords, graph, k=10)
    with pytest.raises(ParameterError, match="do not match"):
        trust_metrics(glove_2k.vectors, proj.coords[:10], graph, k=5)
    with pytest.raises(ParameterError, match="another embedding set"):
        viz_app.trust(digits_small, proj)


def test_a_umap_map_is_measured_on_its_own_graph(glove_2k):
    """UMAP's graph (``_knn_indices``, self first, -1 for points it left disconnected) is reused."""
    import dataclasses
    import types

    pca = project(glove_2k, reducer="pca")
    proj = dataclasses.replace(pca, params=make_params("umap", n_samples=glove_2k.n_samples, n_neighbors=26))
    exact = knn_indices(glove_2k, np.arange(glove_2k.n_samples), k=25)
    own = np.hstack([np.arange(glove_2k.n_samples)[:, None], exact])
    own[:, 5:] = np.roll(own[:, 5:], 1, axis=0)  # a different graph, so reuse is visible
    own[7, 1:] = -1
    fake = dataclasses.replace(proj, model=types.SimpleNamespace(_knn_indices=own))
    r = viz_app.trust(glove_2k, fake)
    assert r.graph == "UMAP's own kNN graph"
    assert r.trustworthiness != pytest.approx(viz_app.trust(glove_2k, pca).trustworthiness)
    assert r.per_point["preservation"].notna().all()


def test_memory_stays_within_twice_the_graph(glove_10k):
    """No copy of the vectors, no n x n matrix, no whole map-space graph: the peak of the
    metrics' allocations (tracemalloc; numpy reports its buffers to it) stays under 2x the
    original-space graph's bytes, here with every point ranked (5,000 points, a PCA map: many
    false neighbours to rank)."""
    import tracemalloc

    es = glove_10k.subset(np.arange(5000))
    proj = project(es, reducer="pca")
    graph = knn_indices(es, np.arange(es.n_samples), k=10).astype(np.uint32)  # as the live map keeps it
    trust_metrics(es.vectors, proj.coords, graph, k=10)  # imports and library set-up, not counted
    tracemalloc.start()
    try:
        r = trust_metrics(es.vectors, proj.coords, graph, k=10)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert r.ranked == r.n == 5000
    assert peak < 2 * graph.nbytes, f"peak {peak:,} bytes for a graph of {graph.nbytes:,}"
    assert peak > es.vectors.nbytes / 100  # it did measure the run (keys and the KD-tree)
