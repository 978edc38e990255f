from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from viz_app import DataFormatError, EmbeddingSet, ParameterError, UnknownIdError, VizAppError
from viz_app.data.model import fingerprint_vectors
from viz_app.reduce import Projection, make_params


def test_vectors_are_float32_readonly_and_fingerprinted():
    es = EmbeddingSet(np.arange(12, dtype=np.float64).reshape(4, 3), labels=list("abcd"))
    assert es.vectors.dtype == np.float32 and es.vectors.shape == (4, 3)
    assert not es.vectors.flags.writeable
    with pytest.raises(ValueError):
        es.vectors[0, 0] = 1.0
    assert list(es.ids) == ["0", "1", "2", "3"] and list(es.labels) == list("abcd")
    assert es.fingerprint == fingerprint_vectors(np.arange(12, dtype=np.float32).reshape(4, 3))
    other = EmbeddingSet(np.arange(12, dtype=np.float32).reshape(4, 3) + 1)
    assert other.fingerprint != es.fingerprint


@pytest.mark.parametrize(
    "vectors, kw, words",
    [
        (np.zeros(5), {}, "2-D"),
        (np.zeros((0, 3)), {}, "at least one row"),
        (np.array([[1.0, np.nan], [0, 1]]), {}, "NaN"),
        (np.array([[1.0, np.inf], [0, 1]]), {}, "infinite"),
        (np.array([[1e39, 1.0], [0, 1]]), {}, "float32"),
        (np.ones((2, 2)), {"ids": ["a", "a"]}, "unique"),
        (np.ones((2, 2)), {"labels": ["a"]}, "1 labels for 2"),
        (np.ones((2, 2)), {"metadata": pd.DataFrame({"x": [1, 2, 3]})}, "3 rows but there are 2"),
    ],
)
def test_bad_sets_raise_data_format_error(vectors, kw, words):
    with pytest.raises(DataFormatError, match=words) as info:
        EmbeddingSet(vectors, name="bad.npy", **kw)
    assert isinstance(info.value, VizAppError) and "bad.npy" in str(info.value)


def test_duplicate_labels_are_allowed_ids_are_rows():
    es = EmbeddingSet(np.eye(3), labels=["x", "x", "y"])
    assert list(es.labels) == ["x", "x", "y"] and len(set(es.ids)) == 3


def test_index_of_subset_and_with_labels():
    meta = pd.DataFrame({"word": ["a", "b", "c", "d"], "n": [1, 2, 3, 4]})
    es = EmbeddingSet(np.eye(4), ids=["w", "x", "y", "z"], metadata=meta)
    assert es.index_of(["z", "w"]).tolist() == [3, 0]
    with pytest.raises(UnknownIdError, match="'q'"):
        es.index_of(["q"])
    sub = es.subset([2, 0])
    assert list(sub.ids) == ["y", "w"] and sub.metadata["n"].tolist() == [3, 1]
    assert np.array_equal(sub.vectors, es.vectors[[2, 0]])
    assert list(es.with_labels("word").labels) == ["a", "b", "c", "d"]
    with pytest.raises(ParameterError):
        es.with_labels("nope")
    assert list(es.table().columns) == ["id", "label", "word", "n"]


def test_projection_checks_shape_and_describes_params():
    p = make_params("umap")
    proj = Projection(np.zeros((5, 2)), p, "fp")
    assert proj.coords.dtype == np.float32 and not proj.coords.flags.writeable
    with pytest.raises(ParameterError):
        Projection(np.zeros((5, 3)), p, "fp")
    assert p.describe() == "UMAP 2D, n_neighbors=15, min_dist=0.1, cosine, seed 0"
    assert p.as_dict() == {
        "reducer": "umap",
        "n_components": 2,
        "metric": "cosine",
        "n_neighbors": 15,
        "min_dist": 0.1,
        "random_state": 0,
    }
