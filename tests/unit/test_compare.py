"""Comparing two embeddings of the same items: matching, Jaccard@k, CKA, Procrustes, ranking,
export, and the two linked maps' plain data."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import procrustes as scipy_procrustes
from scipy.stats import special_ortho_group

from viz_app import EmbeddingSet, ParameterError, UnknownIdError, compare, export_comparison, project
from viz_app.explore.compare import linear_cka, match, procrustes_disparity
from viz_app.explore.neighbors import most_similar
from viz_app.map.compare import align_coords, linked_maps


@pytest.fixture(scope="module")
def glove_2k(glove_10k):
    return glove_10k.subset(np.arange(2000))


def _like(es: EmbeddingSet, vectors, **kw) -> EmbeddingSet:
    return EmbeddingSet(
        vectors, ids=kw.get("ids", es.ids), labels=kw.get("labels", es.labels), name=kw.get("name", "b")
    )


def test_a_set_against_itself_agrees_everywhere(glove_2k):
    c = compare(glove_2k, glove_2k)
    assert (c.table["jaccard"] == 1.0).all() and (c.table["n_shared"] == 10).all()
    s = c.summary
    assert s["mean_jaccard"] == 1.0 and s["cka"] == pytest.approx(1.0, abs=1e-12)
    assert s["procrustes"] == pytest.approx(0.0, abs=1e-12)
    assert (s["n_matched"], s["n_unmatched"], s["matched_on"], s["k"]) == (2000, 0, "id", 10)
    assert len(c.table) == 2000 and list(c.table["id"][:3]) == ["the", ",", "."]


def test_a_random_rotation_keeps_every_neighbourhood(glove_2k):
    rot = special_ortho_group.rvs(50, random_state=0)
    c = compare(glove_2k, _like(glove_2k, glove_2k.vectors.astype(np.float64) @ rot))
    assert (c.table["jaccard"] == 1.0).all()
    assert c.summary["cka"] == pytest.approx(1.0, abs=1e-9)
    assert c.summary["procrustes"] == pytest.approx(0.0, abs=1e-9)


def test_shuffled_vectors_agree_only_by_chance(glove_2k):
    n, k = glove_2k.n_samples, 10
    perm = np.random.default_rng(0).permutation(n)
    c = compare(glove_2k, _like(glove_2k, glove_2k.vectors[perm]))
    s = c.summary
    # random lists of k among n-1 share k²/(n-1) items on average: Jaccard ≈ k / (2(n-1) - k)
    assert s["chance_jaccard"] == pytest.approx(k / (2 * (n - 1) - k))
    assert s["mean_jaccard"] < k / (n - 1), s["mean_jaccard"]
    assert s["mean_jaccard"] < 2 * s["chance_jaccard"]
    assert s["cka"] < 0.1
    assert c.most_stable(1)["jaccard"].iat[0] < 0.5


def test_matching_reports_unmatched_items_by_name(glove_2k):
    a = glove_2k.subset(np.arange(0, 300), name="first 300")
    b = glove_2k.subset(np.arange(200, 500)[::-1], name="200-499 reversed")
    c = compare(a, b, k=5)
    s = c.summary
    assert (s["n_matched"], s["n_unmatched_a"], s["n_unmatched_b"], s["n_unmatched"]) == (100, 200, 200, 400)
    un = c.unmatched
    assert set(un.loc[un.side == "a", "label"]) == set(glove_2k.labels[:200])
    assert set(un.loc[un.side == "b", "label"]) == set(glove_2k.labels[300:500])
    assert (un["reason"] == "no partner").all()
    assert list(c.table["id"]) == list(glove_2k.ids[200:300])  # A's order
    assert (c.table["row_b"].to_numpy() == np.arange(299, 199, -1)).all()  # glove row 200 is B's row 299
    assert (c.table["jaccard"] == 1.0).all()  # same vectors, neighbours among the 100 matched


def test_matching_by_label_and_duplicate_labels(glove_2k):
    words = glove_2k.subset(np.arange(100))
    labels = list(words.labels)
    labels[7] = labels[3]  # "the"... a duplicate label in B
    b = EmbeddingSet(words.vectors, ids=[f"w{i}" for i in range(100)], labels=labels, name="renamed")
    m = match(words, b)
    assert m.on == "label" and len(m.rows_a) == 99
    assert m.unmatched[["side", "id", "reason"]].values.tolist() == [
        ["a", words.ids[7], "no partner"],
        ["b", "w7", "duplicate label"],
    ]
    with pytest.raises(ParameterError, match="no item"):
        match(words, b, on="id")
    c = compare(words, b, k=3)
    assert c.table.set_index("id").at["he", "id_b"] == f"w{list(words.ids).index('he')}"


def test_files_without_ids_are_matched_by_label(glove_2k):
    words = glove_2k.subset(np.arange(200))
    order = np.random.default_rng(7).permutation(200)
    a = EmbeddingSet(words.vectors, labels=words.labels, name="words.csv")  # ids "0".."199"
    b = EmbeddingSet(words.vectors[order], labels=words.labels[order], name="shuffled.csv")
    c = compare(a, b, k=5)
    assert c.summary["matched_on"] == "label" and (c.table["jaccard"] == 1.0).all()
    assert compare(a, b, k=5, on="id").summary["mean_jaccard"] < 0.2  # row i is another word


def test_bad_parameters(glove_2k):
    small = glove_2k.subset(np.arange(20))
    with pytest.raises(ParameterError, match="k must be in 1..19"):
        compare(small, small, k=20)
    with pytest.raises(ParameterError, match="k must be an integer"):
        compare(small, small, k=2.5)
    with pytest.raises(ParameterError, match="metric"):
        compare(small, small, metric="dot")
    with pytest.raises(ParameterError, match="on must be"):
        compare(small, small, on="rows")
    with pytest.raises(ParameterError, match="side b"):
        compare(small, small.vectors)
    with pytest.raises(ParameterError, match="k must be in 1..100"):
        compare(glove_2k, glove_2k, k=101)


def _cka_textbook(x, y):
    """HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)) with linear kernels and the n×n centring matrix."""
    n = len(x)
    h = np.eye(n) - 1.0 / n
    kx, ky = h @ x @ x.T @ h, h @ y @ y.T @ h
    return np.vdot(kx, ky) / (np.linalg.norm(kx) * np.linalg.norm(ky))


def test_linear_cka_matches_the_textbook_form_and_its_invariances():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(300, 20)), rng.normal(size=(20, 30))
    y = np.tanh(x @ w) + 0.1 * rng.normal(size=(300, 30))
    assert linear_cka(x, y) == pytest.approx(_cka_textbook(x, y), rel=1e-10)
    assert linear_cka(x[:10], y[:10]) == pytest.approx(_cka_textbook(x[:10], y[:10]), rel=1e-10)  # n < d: Gram path
    assert 0.3 < linear_cka(x, y) < 0.99
    assert linear_cka(x, 3.0 * x + 5.0) == pytest.approx(1.0)
    assert linear_cka(x, x * np.linspace(0.1, 3, 20)) < 0.95  # not invariant to anisotropic scaling
    with pytest.raises(ParameterError):
        linear_cka(x, y[:10])


def test_procrustes_disparity_equals_scipys():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 5))
    y = x @ special_ortho_group.rvs(5, random_state=3) * 2.0 + 0.3 * rng.normal(size=(200, 5))
    assert procrustes_disparity(x, y) == pytest.approx(scipy_procrustes(x, y)[2], rel=1e-9)
    assert 0.0 < procrustes_disparity(x, y) < 0.1
    with pytest.raises(ParameterError):
        procrustes_disparity(x, y[:, :4])


def test_neighbours_side_by_side_and_rankings(glove_2k):
    noisy = glove_2k.vectors + np.random.default_rng(5).normal(scale=0.4, size=glove_2k.vectors.shape)
    c = compare(glove_2k, _like(glove_2k, noisy.astype(np.float32)))
    nb = c.neighbors("king")
    assert list(nb.columns) == [
        "rank", "id_a", "label_a", "score_a", "shared_a", "id_b", "label_b", "score_b", "shared_b",
    ]  # fmt: skip
    assert list(nb["id_a"]) == list(most_similar(glove_2k, "king", k=10)["id"])
    assert nb["score_a"].is_monotonic_decreasing and nb["score_b"].is_monotonic_decreasing
    assert nb["shared_a"].sum() == nb["shared_b"].sum() == c.table.set_index("id").at["king", "n_shared"]
    assert set(nb.loc[nb.shared_a, "id_a"]) == set(nb.loc[nb.shared_b, "id_b"])
    changed, stable = c.most_changed(20), c.most_stable(20)
    assert changed["jaccard"].is_monotonic_increasing and stable["jaccard"].is_monotonic_decreasing
    assert changed["jaccard"].iat[0] == c.table["jaccard"].min() and changed["change_rank"].tolist() == list(
        range(1, 21)
    )
    assert stable["jaccard"].iat[0] == c.table["jaccard"].max()
    assert 0 < c.summary["mean_jaccard"] < 1
    with pytest.raises(UnknownIdError, match="kingg.*'king'"):
        c.neighbors("kingg")


def test_map_against_map_and_set_against_its_map(glove_2k):
    pca = project(glove_2k, reducer="pca")
    c = compare((glove_2k, pca), (glove_2k, pca), k=5)
    assert (c.table["jaccard"] == 1.0).all() and c.summary["metric_a"] == "euclidean"
    assert c.summary["procrustes"] == pytest.approx(0.0, abs=1e-12)
    own = compare(glove_2k, (glove_2k, pca), k=10)  # how well PCA keeps neighbourhoods: poorly in 2-D
    assert own.summary["metric_b"] == "euclidean" and own.summary["procrustes"] is None
    assert 0.0 < own.summary["mean_jaccard"] < 0.3
    other = project(glove_2k.subset(np.arange(10)), reducer="pca")
    with pytest.raises(ParameterError, match="not computed from"):
        compare(glove_2k, (glove_2k, other))


def test_export_neutralises_formulas_and_keeps_lists(tmp_path, glove_2k):
    es = glove_2k.subset(np.arange(30))
    labels = ["=HYPERLINK(1)"] + list(es.labels[1:])
    es = EmbeddingSet(es.vectors, ids=es.ids, labels=labels)
    c = compare(es, es, k=3)
    out = export_comparison(c, tmp_path / "cmp.csv")
    back = pd.read_csv(out)
    assert back.loc[0, "label"] == "'=HYPERLINK(1)" and back.loc[0, "id"] == "the"
    assert json.loads(back.loc[0, "neighbors_a"]) == c.table.loc[0, "neighbors_a"]
    assert list(back.columns) == list(c.table.columns)
    buf = io.BytesIO()
    export_comparison(c, buf, fmt="parquet")
    pq = pd.read_parquet(io.BytesIO(buf.getvalue()))
    assert list(pq.loc[1, "neighbors_b"]) == c.table.loc[1, "neighbors_b"] and pq.loc[0, "label"] == "=HYPERLINK(1)"
    with pytest.raises(ParameterError, match="table format"):
        export_comparison(c, tmp_path / "cmp.xlsx")


def test_linked_maps_align_b_to_a_and_link_rows(glove_2k):
    a = glove_2k.subset(np.arange(400), name="a")
    b_rows = np.r_[np.arange(100, 400), np.arange(400, 450)]  # 300 shared, 50 only in B
    b = glove_2k.subset(b_rows, name="b")
    c = compare(a, b, k=5)
    pa, pb = project(a, reducer="pca"), project(b, reducer="pca")
    maps = linked_maps(c, pa, pb)
    assert maps.coords_a.shape == (400, 2) and maps.coords_b.shape == (350, 2)
    assert maps.partner_a[100] == 0 and maps.partner_a[0] == -1 and maps.partner_b[349] == -1
    assert np.isnan(maps.jaccard_a[:100]).all() and not np.isnan(maps.jaccard_a[100:]).any()
    # B's PCA of a subset is close to A's after alignment (same items, nearly the same axes)
    err = np.abs(maps.coords_b[c.rows_b] - maps.coords_a[c.rows_a]).mean() / np.abs(maps.coords_a).mean()
    assert err < 0.3 and maps.disparity < 0.1
    f = maps.focus("b", 0)  # B's row 0 is A's row 100
    assert (f.row_a, f.row_b) == (100, 0) and len(f.neighbors_a) == len(f.neighbors_b) == 5
    assert set(a.ids[f.neighbors_a[f.shared_a]]) == set(b.ids[f.neighbors_b[f.shared_b]])
    assert maps.focus("a", 3).row_b == -1 and len(maps.focus("a", 3).neighbors_a) == 0
    sa, sb = maps.selection("a", [0, 150, 399])
    assert list(sa) == [0, 150, 399] and list(sb) == [50, 299]
    with pytest.raises(ParameterError):
        linked_maps(c, pb, pa)


def test_align_coords_undoes_a_similarity_transform():
    rng = np.random.default_rng(6)
    ref = rng.normal(size=(100, 2))
    theta = 0.7
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moved = 3.0 * ref @ rot + [5.0, -2.0]
    rows = np.arange(100)
    assert np.allclose(align_coords(moved, ref, rows, rows), ref, atol=1e-5)
    mirrored = moved * [-1.0, 1.0]
    assert np.allclose(align_coords(mirrored, ref, rows, rows), ref, atol=1e-5)


@pytest.mark.slow
def test_glove_against_minilm_on_10k_words(glove_10k, glove_minilm):
    c = compare(glove_10k, glove_minilm)
    s = c.summary
    assert s["n_matched"] == 10_000 and s["procrustes"] is None and (s["n_features_a"], s["n_features_b"]) == (50, 384)
    # measured 0.149 and 0.387: the two spaces agree far above chance (0.0005) but far from fully
    assert 0.08 < s["mean_jaccard"] < 0.3 and s["mean_jaccard"] > 100 * s["chance_jaccard"]
    assert 0.2 < s["cka"] < 0.6
    changed, stable = c.most_changed(10), c.most_stable(10)
    assert (changed["jaccard"] == 0).all() and (stable["jaccard"] >= 0.6).all()
    # both models agree most on numbers, years and "N-year": tokens whose neighbours are their own kind
    kinds = glove_10k.metadata["kind"].to_numpy()[stable["row_a"]]
    assert (kinds != "word").sum() >= 8, list(zip(stable["label"], kinds))
    king = c.neighbors("king")
    assert {"queen", "prince", "throne"} <= set(king["label_a"]) and "queen" in set(king.loc[king.shared_b, "label_b"])
