from __future__ import annotations

import numpy as np
import pytest

from viz_app import ParameterError, load_pair, load_sample
from viz_app.data.samples import LSA_COMPONENTS, PAIRS, SAMPLES, glove, glove_full, news_reviews_lsa
from viz_app.data.vector_cache import cached_vectors, content_key


def test_glove_default_sample_is_the_most_frequent_words(glove_10k):
    assert glove_10k.n_samples == 10_000 and glove_10k.n_features == 50
    assert list(glove_10k.labels[:4]) == ["the", ",", ".", "of"]
    assert glove_10k.metadata["frequency_rank"].tolist()[:3] == [1, 2, 3]
    assert set(glove_10k.metadata["kind"]) == {"word", "number", "punctuation", "mixed"}
    assert glove_10k.metadata["frequency_band"].value_counts()["top 100"] == 100


def test_glove_frog_has_toad_among_its_10_nearest():
    vectors, tokens = glove_full()
    x = np.asarray(vectors[:100_000], dtype=np.float32)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    q = int(np.flatnonzero(tokens[:100_000] == "frog")[0])
    sims = x @ x[q]
    top = [tokens[i] for i in np.argsort(-sims)[1:11]]
    assert "toad" in top, top


def test_glove_size_bounds():
    with pytest.raises(ParameterError):
        glove(0)
    assert glove(5).n_samples == 5


def test_digits_sample(digits_set):
    assert digits_set.vectors.shape == (1797, 64)
    assert sorted(set(digits_set.labels)) == [str(d) for d in range(10)]


@pytest.mark.slow
def test_news_reviews_sample_is_embedded_with_categories(minilm):
    es = load_sample("news-reviews")
    assert es.n_samples == 550 and es.n_features == 384 and es.model_name == "all-MiniLM-L6-v2"
    assert es.metadata["category"].value_counts().to_dict() == {"news": 350, "movie review": 200}
    # real structure: a review's nearest neighbour is far more often a review than chance (200/549)
    v = es.vectors
    sims = v @ v.T
    np.fill_diagonal(sims, -2)
    nn = sims.argmax(axis=1)
    cat = es.metadata["category"].to_numpy()
    assert (cat[nn] == cat).mean() > 0.95


def test_unknown_sample():
    with pytest.raises(ParameterError, match="unknown sample"):
        load_sample("nope")
    assert set(SAMPLES) == {"glove", "news-reviews", "digits", "glove-minilm", "news-reviews-lsa", "movielens"}
    with pytest.raises(ParameterError, match="unknown pair"):
        load_pair("nope")


def test_every_pair_names_two_samples():
    for pair in PAIRS.values():
        assert pair.a in SAMPLES and pair.b in SAMPLES and pair.a != pair.b


def test_news_reviews_lsa_is_seeded_unit_norm_and_finds_the_category(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDDING_LENS_VECTOR_CACHE", str(tmp_path))
    es = news_reviews_lsa()
    assert es.vectors.shape == (550, LSA_COMPONENTS) and es.model_name == "TF-IDF + LSA (100-d)"
    norms = np.linalg.norm(es.vectors, axis=1)
    # unit norm, except the few texts with no word left after stop words and min_df=2 (all zeros)
    assert np.allclose(norms[norms > 0], 1.0, atol=1e-5) and (norms == 0).sum() <= 10
    assert len(list(tmp_path.glob("news-reviews-lsa-*.npy"))) == 1
    monkeypatch.setenv("EMBEDDING_LENS_VECTOR_CACHE", "")  # no cache: computed again, identical (seeded)
    assert news_reviews_lsa().fingerprint == es.fingerprint
    sims = es.vectors @ es.vectors.T
    np.fill_diagonal(sims, -2)
    cat = es.metadata["category"].to_numpy()
    assert (cat[sims.argmax(axis=1)] == cat).mean() > 0.85  # word counts also separate news from reviews


@pytest.mark.slow
def test_glove_minilm_has_glove_items_and_sentence_model_vectors(glove_10k, glove_minilm):
    assert glove_minilm.vectors.shape == (10_000, 384) and glove_minilm.model_name == "all-MiniLM-L6-v2"
    assert list(glove_minilm.ids) == list(glove_10k.ids) and glove_minilm.metadata.equals(glove_10k.metadata)
    from viz_app.explore.neighbors import most_similar

    assert "queen" in set(most_similar(glove_minilm, "king", k=5)["label"])


def test_vector_cache_reads_back_and_ignores_bad_files(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return np.arange(6, dtype=np.float64).reshape(3, 2)

    key = content_key("recipe", ["a", "b", "c"])
    v = cached_vectors("t", key, 3, compute, folder=tmp_path)
    assert v.dtype == np.float32 and not v.flags.writeable
    assert np.array_equal(cached_vectors("t", key, 3, compute, folder=tmp_path), v) and len(calls) == 1
    (path,) = tmp_path.glob("t-*.npy")
    np.save(path, np.array([{"x": 1}], dtype=object), allow_pickle=True)  # a pickle is never loaded
    assert np.array_equal(cached_vectors("t", key, 3, compute, folder=tmp_path), v) and len(calls) == 2
    cached_vectors("t", key, 4, lambda: np.zeros((4, 2)), folder=tmp_path)  # wrong shape: recomputed
    assert cached_vectors("t", key, 3, compute, folder=None).shape == (3, 2) and len(calls) == 3
    assert content_key("recipe", ["a", "b"]) != content_key("recipe", ["a\x00b"]) != key
