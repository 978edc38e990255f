from __future__ import annotations

import numpy as np
import pytest

from viz_app import ParameterError, embed_texts, encode, register_encoder
from viz_app.embed import encoders as embed_mod


def test_minilm_puts_paraphrases_closer_than_unrelated(minilm):
    v = encode(["a cat sat on the mat", "a kitten on a rug", "stock prices fell"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 2] + 0.3 and sim[0, 1] > sim[1, 2] + 0.3


def test_same_texts_are_never_embedded_twice(minilm, monkeypatch):
    texts = ["the first unique probe sentence 8812", "another unique probe sentence 8812"]
    calls = []
    real = minilm.encode
    monkeypatch.setattr(minilm, "encode", lambda batch, **kw: calls.append(list(batch)) or real(batch, **kw))
    a = encode(texts + texts[:1])  # duplicate inside one call: embedded once
    b = encode(list(reversed(texts)))  # a second call: served from the cache
    assert calls == [texts]
    np.testing.assert_array_equal(a[0], a[2])
    np.testing.assert_array_equal(b[0], a[1])


def test_progress_counts_batches(minilm):
    seen = []
    encode(
        [f"progress sentence number {i} zq" for i in range(10)], batch_size=4, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(4, 10), (8, 10), (10, 10)]


def test_embed_texts_builds_a_set(minilm):
    es = embed_texts(["red apples", "green pears", "a" * 200], name="fruit")
    assert es.n_features == 384 and es.model_name == "all-MiniLM-L6-v2" and es.text_column == "text"
    assert es.labels[2].endswith("…") and len(es.labels[2]) == 80
    assert es.metadata["text"].tolist()[0] == "red apples"


@pytest.mark.parametrize(
    "texts, kw, words",
    [([], {}, "no texts"), (["a", 3], {}, "text 1 is int"), (["a"], {"batch_size": 0}, "batch_size")],
)
def test_bad_input(texts, kw, words):
    with pytest.raises(ParameterError, match=words):
        encode(texts, **kw)


def test_registry_accepts_a_local_model_folder_and_refuses_others(tmp_path, minilm):
    with pytest.raises(ParameterError, match="not a sentence-transformers model folder"):
        register_encoder("nowhere", tmp_path)
    with pytest.raises(ParameterError, match="unknown encoder"):
        embed_mod.get_encoder("never-registered")
    path = embed_mod._registry[embed_mod.DEFAULT_MODEL]()
    register_encoder("minilm-copy", path)
    assert "minilm-copy" in embed_mod.available_encoders()
    v = encode(["registry check sentence"], model="minilm-copy")
    w = encode(["registry check sentence"])
    np.testing.assert_allclose(v, w, atol=1e-5)
