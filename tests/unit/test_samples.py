from __future__ import annotations

import numpy as np
import pytest

from viz_app import ParameterError, load_sample
from viz_app.data.samples import SAMPLES, glove, glove_full


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
    assert set(SAMPLES) == {"glove", "news-reviews", "digits", "movielens"}
