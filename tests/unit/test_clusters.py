"""Clusters on real data: digits (KMeans vs the true digit, HDBSCAN noise), news-reviews keywords."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError
from viz_app.explore.clusters import Clustering, centroids_2d, cluster, cluster_table, keywords


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
    h = cluster(digits_set, method="hdbscan", min_cluster_size=5)
    print(f"HDBSCAN on digits: {h.n_clusters} clusters, noise {h.noise_fraction:.2f}")
    assert -1 in h.sizes and h.n_clusters >= 5 and 0.1 < h.noise_fraction < 0.5
    kept = h.labels_ >= 0  # the points it does cluster are mostly one digit each
    assert adjusted_rand_score(digit_truth[kept], h.labels_[kept]) >= 0.6
    np.testing.assert_array_equal(cluster(digits_set, method="hdbscan", min_cluster_size=5).labels_, h.labels_)
    assert h.params == {"method": "hdbscan", "space": "original", "metric": "cosine", "min_cluster_size": 5}


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
