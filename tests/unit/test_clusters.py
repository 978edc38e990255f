"""Clusters on real data: digits (KMeans vs the true digit, HDBSCAN noise), news-reviews keywords."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError
from viz_app.explore.clusters import (
    Clustering,
    advice,
    centroids_2d,
    cluster,
    cluster_table,
    hdbscan_defaults,
    keywords,
)


@pytest.fixture(scope="module")
def digit_truth(digits_set):
    return digits_set.metadata["digit"].astype(int).to_numpy()


@pytest.fixture(scope="module")
def kmeans10(digits_set):
    return cluster(digits_set, k=10, random_state=0)


def test_kmeans_recovers_digits_and_is_deterministic(digits_set, digit_truth, kmeans10):
    a = kmeans10
    ari = adjusted_rand_score(digit_truth, a.labels_)
    print(f"KMeans k=10 on digits (cosine): ARI {ari:.3f}")
    assert ari >= 0.6
    assert a.labels_.shape == (1797,) and a.labels_.dtype == np.int64 and not a.labels_.flags.writeable
    assert a.n_clusters == 10 and sum(a.sizes.values()) == 1797 and a.noise_fraction == 0
    sizes = list(a.sizes.values())
    assert sizes == sorted(sizes, reverse=True)  # numbered by decreasing size
    np.testing.assert_array_equal(cluster(digits_set, k=10, random_state=0).labels_, a.labels_)
    assert a.params == {
        "method": "kmeans",
        "space": "original",
        "metric": "cosine",
        "k": 10,
        "random_state": 0,
        "n_init": 4,
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.k = 3  # type: ignore[misc]


def test_hdbscan_finds_clusters_and_noise(digits_set, digit_truth):
    h = cluster(digits_set, method="hdbscan")  # defaults scaled to n, on a 5-d UMAP of the 64-d vectors
    print(f"HDBSCAN on digits: {h.n_clusters} clusters, noise {h.noise_fraction:.2f}")
    assert h.n_clusters >= 8 and h.noise_fraction < 0.3 and max(h.sizes.values()) < 0.5 * 1797
    kept = h.labels_ >= 0  # the points it does cluster are mostly one digit each
    assert adjusted_rand_score(digit_truth[kept], h.labels_[kept]) >= 0.6
    np.testing.assert_array_equal(cluster(digits_set, method="hdbscan").labels_, h.labels_)
    assert h.params == {
        "method": "hdbscan",
        "space": "original",
        "metric": "cosine",
        "min_cluster_size": 21,
        "min_samples": 7,
        "reduced_to": 5,
        "random_state": 0,
    }
    assert advice(h) is None


def test_hdbscan_defaults_scale_with_n_and_advice_says_what_to_change():
    assert hdbscan_defaults(75) == (5, 2) and hdbscan_defaults(550) == (12, 4) and hdbscan_defaults(10_000) == (50, 16)
    noise = Clustering(np.full(144, -1), "hdbscan", min_cluster_size=15)
    assert "all 144 points as noise" in advice(noise) and "Lower min_cluster_size (now 15)" in advice(noise)
    giant = Clustering(np.r_[np.zeros(7978, int), np.arange(2022) % 20 + 1], "hdbscan", min_cluster_size=15)
    assert "One cluster holds 7,978 of the 10,000 points (80%)" in advice(giant)


def test_hdbscan_on_the_news_sample_finds_clusters(minilm):
    from viz_app.data.samples import load_sample

    es = load_sample("news-reviews")  # 384-d MiniLM: in the original space everything would be noise
    h = cluster(es, method="hdbscan")
    print(f"HDBSCAN on news-reviews: {h.n_clusters} clusters, noise {h.noise_fraction:.2f}, sizes {h.sizes}")
    assert h.reduced_to == 5 and h.n_clusters >= 3 and max(h.sizes.values()) <= 0.5 * es.n_samples
    assert advice(h) is None
    news = es.subset(np.flatnonzero(es.metadata["category"].to_numpy() == "news")[:144])
    hn = cluster(news, method="hdbscan")
    print(f"HDBSCAN on 144 news texts: {hn.n_clusters} clusters, noise {hn.noise_fraction:.2f}")
    assert hn.n_clusters >= 3


@pytest.mark.slow
def test_hdbscan_on_glove_10k_has_no_giant_cluster(glove_10k):
    h = cluster(glove_10k, method="hdbscan")
    share = max(v for k, v in h.sizes.items() if k >= 0) / glove_10k.n_samples
    print(f"HDBSCAN on GloVe 10k: {h.n_clusters} clusters, noise {h.noise_fraction:.2f}, largest {share:.0%}")
    assert h.n_clusters >= 3 and share <= 0.5


def test_at_most_20_clusters_get_a_label_position():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(30), 5)
    cen = centroids_2d(rng.normal(size=(150, 2)), labels)
    assert cen["cluster"].tolist() == list(range(20))
    assert len(centroids_2d(rng.normal(size=(150, 2)), labels, max_clusters=None)) == 30


def test_clustering_a_projection(digits_set, digit_truth, kmeans10):
    from viz_app.reduce.project import project

    proj = project(digits_set, reducer="pca", n_components=2)
    c = cluster(digits_set, k=10, space="projection", coords=proj)
    assert c.space == "projection" and c.metric == "euclidean" and "metric" not in c.params
    ari_map, ari_64d = adjusted_rand_score(digit_truth, c.labels_), adjusted_rand_score(digit_truth, kmeans10.labels_)
    assert 0.2 < ari_map < ari_64d  # two PCA axes keep part of the structure
    np.testing.assert_array_equal(cluster(digits_set, k=10, space="projection", coords=proj.coords).labels_, c.labels_)


def test_cluster_table_and_centroids_on_digits(digits_set, kmeans10):
    c = kmeans10
    table = cluster_table(digits_set, c)
    assert list(table.columns) == ["cluster", "size", "share", "label", "examples"]
    assert table["size"].sum() == 1797 and table["share"].sum() == pytest.approx(1.0)
    # labels repeat (the digit), so a cluster is named by its majority digit and its share
    assert table["label"].str.fullmatch(r"\d \(\d+%\)").all()
    assert table["label"].str[0].nunique() >= 8
    assert (table["examples"].str.count(r"\|") == 2).all()
    coords = np.random.default_rng(0).normal(size=(1797, 3))
    cen = centroids_2d(coords, c.labels_)
    assert list(cen.columns) == ["cluster", "size", "x", "y", "z"] and cen["cluster"].tolist() == list(range(10))
    np.testing.assert_allclose(cen.loc[3, ["x", "y", "z"]].to_numpy(float), np.median(coords[c.labels_ == 3], axis=0))


def test_centroids_use_the_median_and_skip_noise():
    coords = np.array([[0, 0], [1, 1], [2, 2], [100, 100], [5, 5], [6, 6], [9, 9]], dtype=float)
    cen = centroids_2d(coords, [0, 0, 0, 0, 1, 1, -1])
    assert cen.to_dict("list") == {"cluster": [0, 1], "size": [4, 2], "x": [1.5, 5.5], "y": [1.5, 5.5]}


def test_noise_row_and_unique_labels():
    rng = np.random.default_rng(0)
    blob = rng.normal(0, 0.05, (20, 4))
    v = np.vstack([blob + [1, 0, 0, 0], blob[::-1] + [0, 1, 0, 0], [[0, 0, 1, 0]]])
    es = EmbeddingSet(v, labels=[f"w{i}" for i in range(41)])
    c = Clustering(
        np.r_[np.zeros(20, int), np.ones(20, int), -1], "hdbscan", min_cluster_size=5, source_fingerprint=es.fingerprint
    )
    table = cluster_table(es, c, examples=2)
    assert table["cluster"].tolist() == [0, 1, -1] and table["label"].iloc[-1] == "noise"
    assert table["label"].iloc[0].count(", ") == 1  # unique labels: the two central examples
    assert table["examples"].iloc[-1] == "w40"


@pytest.mark.slow
def test_keywords_name_the_news_reviews_clusters(minilm):
    from viz_app.data.samples import load_sample

    es = load_sample("news-reviews")
    c = cluster(es, k=6, random_state=0)
    names = keywords(es.metadata["text"].tolist(), c.labels_)
    print(names)
    assert sorted(names) == list(range(6)) and all(names.values())
    assert len(set(names.values())) == 6 and all(len(n.split(", ")) == 3 for n in names.values())
    cat = es.metadata["category"].to_numpy()
    movie_share = {k: float(np.mean(cat[c.labels_ == k] == "movie review")) for k in names}
    reviews = max(movie_share, key=movie_share.get)
    assert movie_share[reviews] >= 0.9 and {"film", "movie"} & set(names[reviews].split(", "))
    news = [k for k, s in movie_share.items() if s < 0.1]  # news clusters never say film/movie
    assert len(news) >= 3 and not any({"film", "movie"} & set(names[k].split(", ")) for k in news)
    table = cluster_table(es, c)
    assert table.set_index("cluster")["label"].to_dict() == names
    assert cluster_table(es, c, text_column="category")["label"].str.contains("movie").sum() >= 1


def test_keywords_edge_cases():
    names = keywords(
        ["the cat sat", "a cat and a dog", "stocks fell sharply", "markets and stocks", "the and of"],
        [0, 0, 1, 1, -1],
        top_n=1,
    )
    assert names == {-1: "noise", 0: "cat", 1: "stocks"}
    assert keywords(["the", "and"], [0, 1]) == {0: "cluster 0", 1: "cluster 1"}  # only stop words
    assert keywords(["a 1999 report", "report 2001"], [0, 0]) == {0: "report"}  # no numbers
    with pytest.raises(ParameterError, match="3 texts but 2 labels"):
        keywords(["a", "b", "c"], [0, 1])
    with pytest.raises(ParameterError, match="top_n"):
        keywords(["a"], [0], top_n=0)


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"method": "dbscan"}, "unknown method"),
        ({"k": 1}, r"k must be an integer in 2\.\.1797"),
        ({"k": 1798}, r"k must be an integer in 2\.\.1797"),
        ({"k": 3.0}, "k must be an integer"),
        ({"method": "hdbscan", "min_cluster_size": 1}, "min_cluster_size"),
        ({"random_state": -1}, "random_state"),
        ({"metric": "manhattan"}, "unknown metric"),
        ({"space": "umap"}, "unknown space"),
        ({"space": "projection"}, "needs coords"),
        ({"space": "projection", "coords": np.zeros((10, 2))}, r"shape \(1797, 2 or 3\)"),
        ({"coords": np.zeros((1797, 2))}, "only apply to space='projection'"),
    ],
)
def test_bad_parameters(digits_set, kw, words):
    with pytest.raises(ParameterError, match=words):
        cluster(digits_set, **kw)


def test_mismatched_inputs(digits_set, digits_small):
    c = cluster(digits_small, k=3)
    with pytest.raises(ParameterError, match="another embedding set"):
        cluster_table(digits_set, c)
    with pytest.raises(ParameterError, match="not a metadata column"):
        cluster_table(digits_small, c, text_column="text")
    with pytest.raises(ParameterError, match="do not match"):
        centroids_2d(np.zeros((5, 2)), [0, 1])
