"""Nearest neighbours on real vectors (GloVe, MiniLM), checked against a float64 brute force."""

from __future__ import annotations

import time

import numpy as np
import pytest

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError, UnknownIdError
from viz_app.explore import neighbors as nb
from viz_app.explore.neighbors import get_index, index_cache_info, knn_indices, most_similar, suggest_labels


@pytest.fixture(scope="module")
def glove_50k():
    from viz_app.data.samples import glove

    return glove(50_000)


_f64: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def brute(es: EmbeddingSet, q: np.ndarray, k: int, metric: str, skip=()) -> tuple[list[str], np.ndarray]:
    """Float64 scores of every row, excluded rows dropped, stable order (ties: lower row first)."""
    if es.fingerprint not in _f64:
        x = es.vectors.astype(np.float64)
        _f64[es.fingerprint] = x, np.linalg.norm(x, axis=1)
    (x, norms), q = _f64[es.fingerprint], np.asarray(q, dtype=np.float64)
    if metric == "euclidean":
        s = -np.linalg.norm(x - q, axis=1)
    else:
        s = x @ q
        if metric == "cosine":
            den = norms * np.linalg.norm(q)
            s = np.divide(s, den, out=np.zeros_like(s), where=den > 0)
    s[list(skip)] = -np.inf
    top = np.lexsort((np.arange(len(s)), -s))[:k]
    return list(es.ids[top]), (-s[top] if metric == "euclidean" else s[top])


def test_frog_cosine_equals_brute_force_and_finds_toad(glove_50k):
    es = glove_50k
    row = int(es.index_of("frog")[0])
    df = most_similar(es, "frog", k=10)
    ids, sims = brute(es, es.vectors[row], 10, "cosine", skip=[row])
    assert list(df.columns) == ["rank", "id", "label", "similarity", "row"]
    assert df["id"].tolist() == ids and "toad" in ids and "frog" not in ids
    assert df["rank"].tolist() == list(range(1, 11))
    np.testing.assert_allclose(df["similarity"], sims, rtol=1e-12)
    assert df["similarity"].is_monotonic_decreasing and 0.7 < df["similarity"].iloc[-1] < df["similarity"].iloc[0] < 1


@pytest.mark.parametrize("metric, column", [("euclidean", "distance"), ("dot", "similarity")])
def test_euclidean_and_dot_equal_brute_force(glove_50k, metric, column):
    es = glove_50k
    for word in ("frog", "paris", "computer"):
        row = int(es.index_of(word)[0])
        df = most_similar(es, word, k=15, metric=metric)
        ids, vals = brute(es, es.vectors[row], 15, metric, skip=[row])
        assert df["id"].tolist() == ids, (word, metric)
        np.testing.assert_allclose(df[column], vals, rtol=1e-12)
    assert most_similar(es, "frog", metric="euclidean")["distance"].is_monotonic_increasing


def test_exclude_row_index_and_vector_queries(glove_50k):
    es = glove_50k
    row = int(es.index_of("frog")[0])
    df = most_similar(es, "frog", k=10, exclude=["snake", "toad"])
    ids, _ = brute(es, es.vectors[row], 10, "cosine", skip=[row, *es.index_of(["snake", "toad"])])
    assert df["id"].tolist() == ids and not {"snake", "toad"} & set(ids)
    assert most_similar(es, row)["id"].tolist() == most_similar(es, "frog")["id"].tolist()
    # a free vector is not an item: "frog" itself comes first, with similarity 1
    by_vec = most_similar(es, es.vectors[row].astype(np.float64), k=11)
    assert by_vec["id"].iloc[0] == "frog" and by_vec["similarity"].iloc[0] == pytest.approx(1.0)
    assert by_vec["id"].iloc[1:].tolist() == most_similar(es, "frog")["id"].tolist()
    v = es.vectors[es.index_of(["king", "man", "woman"])].astype(np.float64)
    analogy = most_similar(es, v[0] - v[1] + v[2], k=5, exclude=["king", "man", "woman"])
    assert analogy["id"].iloc[0] == "queen", analogy


def test_id_wins_over_label_and_first_row_of_a_shared_label():
    v = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    es = EmbeddingSet(v, ids=["a", "b", "c", "d", "e"], labels=["b", "x", "x", "y", "z"])
    assert most_similar(es, "b", k=4)["row"].tolist() == brute_rows(es, 1, 4)
    assert 1 not in most_similar(es, "b", k=4)["row"].tolist()  # the id "b" (row 1), not label "b" (row 0)
    assert 1 not in most_similar(es, "x", k=4)["row"].tolist()  # label "x": first row, 1
    assert most_similar(es, "x", k=4)["label"].tolist().count("x") == 1  # row 2 is a neighbour


def brute_rows(es, row, k):
    return [int(es.index_of(i)[0]) for i in brute(es, es.vectors[row], k, "cosine", skip=[row])[0]]


def test_exact_ties_keep_row_order_and_zero_vectors_give_no_nan():
    rng = np.random.default_rng(1)
    v = rng.normal(size=(200, 8)).astype(np.float32)
    v[7] *= 10  # long, so that its copies also lead by inner product
    v[50:90] = v[7]  # 40 exact copies of row 7, tied with each other
    v[150:160] = 0.0  # zero vectors: cosine similarity 0 by convention
    es = EmbeddingSet(v)
    for metric in ("cosine", "euclidean", "dot"):
        for k in (5, 30):  # more ties than candidates kept (k + max(k, 10)), and fewer
            assert most_similar(es, 7, k=k, metric=metric)["row"].tolist() == list(range(50, 50 + k)), metric
            assert knn_indices(es, [7, 50], k=k, metric=metric).tolist() == [
                list(range(50, 50 + k)),
                [7, *range(51, 50 + k)],
            ]
    assert most_similar(es, 150, k=5)["row"].tolist() == [0, 1, 2, 3, 4]
    zero = most_similar(es, 150, k=199)
    assert not zero["similarity"].isna().any() and (zero["similarity"] == 0).all()
    assert zero["row"].tolist() == [r for r in range(200) if r != 150]  # all tied: row order
    sims = most_similar(es, 3, k=199).set_index("row")["similarity"]
    assert (sims.loc[list(range(150, 160))] == 0).all() and not sims.isna().any()


def test_knn_indices_match_most_similar_and_brute_force(glove_50k, monkeypatch):
    es = glove_50k
    rows = np.random.default_rng(2).choice(es.n_samples, 20, replace=False)
    got = knn_indices(es, rows, k=10)
    assert got.shape == (20, 10) and got.dtype == np.intp
    for r, nbrs in zip(rows, got):
        assert list(es.ids[nbrs]) == brute(es, es.vectors[r], 10, "cosine", skip=[r])[0]
    np.testing.assert_array_equal(knn_indices(es, list(es.ids[rows]), k=10), got)  # ids work too
    monkeypatch.setattr(nb, "_BLOCK", 60_000)  # one query per block: the chunked path agrees
    np.testing.assert_array_equal(knn_indices(es, rows, k=10), got)
    eu = knn_indices(es, rows[:5], k=7, metric="euclidean")
    assert [list(es.ids[n]) for n in eu] == [brute(es, es.vectors[r], 7, "euclidean", skip=[r])[0] for r in rows[:5]]
    assert knn_indices(es, [], k=3).shape == (0, 3)


def test_unknown_label_suggests_close_labels(glove_50k):
    with pytest.raises(UnknownIdError, match="frgo") as err:
        most_similar(glove_50k, "frgo")
    assert "'frog'" in str(err.value) and isinstance(err.value, KeyError)
    with pytest.raises(UnknownIdError, match="'king'"):
        most_similar(glove_50k, "kign")
    assert suggest_labels("Frog", ["toad", "frogs", "frog"]) == ["frog", "frogs"]  # same word first, then 1 edit
    assert suggest_labels("xyzzy", ["toad", "frog"]) == []


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"k": 0}, r"k must be in 1\.\.49999"),
        ({"k": 50_000}, r"k must be in 1\.\.49999"),
        ({"k": 2.5}, "k must be an integer"),
        ({"k": True}, "k must be an integer"),
        ({"metric": "manhattan"}, "unknown metric"),
        ({"exclude": "toad"}, "collection of ids"),
    ],
)
def test_bad_parameters(glove_50k, kw, words):
    with pytest.raises(ParameterError, match=words):
        most_similar(glove_50k, "frog", **kw)


def test_bad_queries(glove_50k):
    with pytest.raises(ParameterError, match=r"shape \(49,\); this set needs \(50,\)"):
        most_similar(glove_50k, np.zeros(49))
    with pytest.raises(ParameterError, match="NaN"):
        most_similar(glove_50k, np.full(50, np.nan))
    with pytest.raises(ParameterError, match="row index 50000 is out of range"):
        most_similar(glove_50k, 50_000)
    with pytest.raises(UnknownIdError, match="no-such-word"):
        most_similar(glove_50k, "frog", exclude=["no-such-word"])
    with pytest.raises(ParameterError, match="row indices must be in"):
        knn_indices(glove_50k, [0, -1], k=3)
    with pytest.raises(ParameterError, match=r"k must be in 1\.\.2"):
        most_similar(EmbeddingSet(np.eye(4, dtype=np.float32)), 0, k=3, exclude=["1"])


@pytest.mark.slow
def test_approximate_index_recall_and_reuse():
    """pynndescent path forced on 20k GloVe words: recall@10 vs exact, one build for many queries."""
    from viz_app.data.samples import glove

    es = glove(20_000)
    nb.clear_index_cache()
    rows = np.random.default_rng(3).choice(es.n_samples, 200, replace=False)
    exact = knn_indices(es, rows, k=10)
    t0 = time.perf_counter()
    approx = knn_indices(es, rows, k=10, exact_max_elements=0)
    first = time.perf_counter() - t0
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approx)])
    print(f"ANN recall@10 on 20k GloVe: {recall:.3f}; first call (build + 200 queries) {first:.1f} s")
    assert recall >= 0.9
    index = get_index(es, "cosine")
    t0 = time.perf_counter()
    df = most_similar(es, "frog", exact_max_elements=0)
    assert time.perf_counter() - t0 < first / 5  # reused, not rebuilt
    assert get_index(es, "cosine") is index and index_cache_info().misses == 1 and index_cache_info().hits >= 3
    ref = most_similar(es, "frog")  # returned similarities are exact even when found approximately
    common = df.merge(ref, on="id")
    assert len(common) >= 9 and np.allclose(common["similarity_x"], common["similarity_y"], rtol=1e-12)


@pytest.mark.slow
def test_approximate_euclidean_and_dot_recall():
    """Dot product searched as euclidean after the Bachrach et al. (2014) transform."""
    from viz_app.data.samples import glove

    es = glove(5_000)
    rows = np.random.default_rng(4).choice(es.n_samples, 100, replace=False)
    for metric in ("euclidean", "dot"):
        exact = knn_indices(es, rows, k=10, metric=metric)
        approx = knn_indices(es, rows, k=10, metric=metric, exact_max_elements=0)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approx)])
        print(f"ANN {metric} recall@10 on 5k GloVe: {recall:.3f}")
        assert recall >= 0.9, metric


@pytest.mark.slow
def test_news_reviews_neighbours_share_the_category(minilm):
    from viz_app.data.samples import load_sample

    es = load_sample("news-reviews")
    cat = es.metadata["category"].to_numpy()
    nbrs = knn_indices(es, np.arange(es.n_samples), k=10)
    rate = float((cat[nbrs] == cat[:, None]).mean())
    counts = np.unique(cat, return_counts=True)[1]
    chance = float((counts * (counts - 1)).sum() / (es.n_samples * (es.n_samples - 1)))
    print(f"news-reviews: 10-NN same-category rate {rate:.3f} (chance {chance:.3f})")
    assert chance == pytest.approx(0.536, abs=0.001)
    assert rate >= 0.95


@pytest.mark.slow
def test_index_built_in_background_once():
    from viz_app.data.samples import glove
    from viz_app.errors import ParameterError
    from viz_app.explore.neighbors import build_index_in_background, has_index

    es = glove(3_000)
    nb.clear_index_cache()
    with pytest.raises(ParameterError, match="metric"):
        build_index_in_background(es, "manhattan")
    assert not has_index(es, "cosine")
    first = build_index_in_background(es, "cosine")
    again = build_index_in_background(es, "cosine")
    assert first is not None and again in (first, None)  # one build per key (None if already done)
    first.join(600)
    assert has_index(es, "cosine") and not has_index(es, "euclidean")
    assert build_index_in_background(es, "cosine") is None
    assert index_cache_info().misses == 1
    df = most_similar(es, "king", exact_max_elements=0)  # the query uses the built index, no rebuild
    assert "queen" in set(df["label"]) and index_cache_info().misses == 1
    nb.clear_index_cache()
