"""prepare_map on real data: the shipped kNN graph is the neighbour list, tooltips, keys."""

from __future__ import annotations

import numpy as np
import pytest

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError, UnknownIdError
from viz_app.explore.neighbors import most_similar
from viz_app.map.encode import unpack
from viz_app.map.prepare import RowDetails, knn_graph, map_key, prepare_map


def test_glove_graph_matches_the_neighbour_table(glove_10k):
    es = glove_10k
    md = prepare_map(es, es.vectors[:, :2], k=20)
    graph = unpack(md.encoded.blobs["knn"])[1]["indices"]
    king = int(np.flatnonzero(es.labels == "king")[0])
    first = [es.labels[r] for r in graph[king, :10]]
    assert first == most_similar(es, "king", k=10)["label"].tolist()
    assert {"queen", "prince"} <= set(first)
    assert graph.shape == (10_000, 20) and (graph != np.arange(10_000)[:, None]).all()
    assert md.ids[king] == "king" and md.n == 10_000 and md.dims == 2


def test_knn_graph_rejects_bad_k():
    es = EmbeddingSet(np.eye(5, dtype=np.float32))
    with pytest.raises(ParameterError):
        knn_graph(es, 5)


def test_tooltip_details_text_and_thumbnail(digits_set):
    es = digits_set.subset(np.arange(50))
    d = RowDetails(es, tooltip=["digit"], image_shape=(8, 8))
    row = d.row(7)
    assert row["fields"] == [["digit", str(es.metadata["digit"][7])]] and row["label"] == es.labels[7]
    assert row["image"]["w"] == row["image"]["h"] == 8
    with pytest.raises(UnknownIdError, match="nope"):
        RowDetails(es, tooltip=["nope"])
    with pytest.raises(ParameterError, match="64"):
        RowDetails(es, image_shape=(4, 4))


def test_tooltip_uses_the_full_text_column():
    import pandas as pd

    text = "A long sentence " * 20
    es = EmbeddingSet(
        np.eye(3, dtype=np.float32),
        labels=["short", "b", "c"],
        metadata=pd.DataFrame({"text": [text, "b", "c"]}),
        text_column="text",
    )
    assert RowDetails(es).row(0)["label"] == text  # the whole text, not the 5-character label


def test_map_key_covers_labels_metadata_and_coords(digits_set):
    es = digits_set.subset(np.arange(100))
    xy = es.vectors[:, :2]
    k = map_key(es, xy, color_by="digit")
    assert map_key(es, xy, color_by="digit") == k
    assert map_key(es, xy + 1, color_by="digit") != k
    assert map_key(es, xy) != k
    relabelled = EmbeddingSet(es.vectors, ids=es.ids, labels=[f"x{i}" for i in range(100)], metadata=es.metadata)
    assert map_key(relabelled, xy, color_by="digit") != k


def test_prepare_map_colours_and_errors(digits_set):
    es = digits_set.subset(np.arange(200))
    md = prepare_map(es, es.vectors[:, :3], color_by="digit", k=0)
    assert "knn" not in md.encoded.blobs and md.encoded.legend["kind"] == "categories"
    assert [it["label"] for it in md.encoded.legend["items"]] == [str(i) for i in range(10)]
    with pytest.raises(UnknownIdError):
        prepare_map(es, es.vectors[:, :2], color_by="colour")
    with pytest.raises(ParameterError):
        prepare_map(es, es.vectors[:10, :2])
