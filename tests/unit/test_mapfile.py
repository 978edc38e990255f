"""Map files: computed once (projection, kNN graph, clusters, trust), reopened without projecting."""

from __future__ import annotations

import json
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.neighbors import NearestNeighbors

import viz_app
from viz_app.data.readers.mapfile import MAP_KEY, SETTINGS_KEY
from viz_app.errors import DataFormatError
from viz_app.export.mapfile import build_map, load_map, write_map
from viz_app.reduce import make_params


@pytest.fixture(scope="module")
def digits_map(digits_small, tmp_path_factory):
    m = build_map(digits_small, make_params("pca", n_components=2), k=10, n_clusters=10)
    path = write_map(m, tmp_path_factory.mktemp("maps") / "digits.parquet")
    return m, path


def test_stored_graph_is_the_exact_neighbour_list_with_distances(digits_map, digits_small):
    m, _ = digits_map
    ref_d, ref_i = NearestNeighbors(n_neighbors=10, metric="cosine").fit(digits_small.vectors).kneighbors()
    assert m.knn.shape == (600, 10) and m.knn.dtype == np.int32
    assert not (m.knn == np.arange(600)[:, None]).any()
    np.testing.assert_allclose(m.knn_distance, ref_d[:, :10], atol=1e-5)  # kneighbors() leaves each row out
    assert (m.knn == ref_i[:, :10]).mean() > 0.99  # ties may swap


def test_map_file_holds_coordinates_graph_clusters_trust_and_settings(digits_map):
    m, path = digits_map
    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    for col in ("id", "label", "vector", "map_x", "map_y", "cluster", "cluster_label", "knn", "knn_distance"):
        assert col in names
    info = json.loads(pf.schema_arrow.metadata[MAP_KEY])
    settings = json.loads(pf.schema_arrow.metadata[SETTINGS_KEY])
    assert info["knn"] == {"k": 10, "metric": "cosine"} and info["clusters"]["k"] == 10
    t = info["trust"]  # Venna & Kaski's T and C and preservation@10, from the file's own kNN graph
    assert 0.8 < t["trustworthiness"] <= 1.0  # PCA on digits keeps ~0.85
    assert 0.8 < t["continuity"] <= 1.0 and t["k"] == 10 and t["points"] == m.es.n_samples
    assert 10 * t["chance"] < t["preservation"] < 1.0  # far above a random map's k / (n - 1)
    assert settings["projection"]["reducer"] == "pca" and settings["dataset"]["fingerprint"] == m.es.fingerprint
    # digits carry their digit as label: clusters are labelled by their majority digit
    assert sum("%" in lab for lab in m.cluster_labels.values()) >= 5


def test_reopened_map_has_the_same_coordinates_without_running_a_reducer(digits_map, monkeypatch):
    m, path = digits_map

    def boom(*a, **k):
        raise AssertionError("a reducer ran")

    monkeypatch.setattr(sys.modules["viz_app.reduce.project"], "project_with", boom)
    monkeypatch.setattr(sys.modules["viz_app.explore.engine"], "project_with", boom)
    back = load_map(path)
    assert back.projection.model is None  # a fit would have kept its fitted reducer
    np.testing.assert_array_equal(back.projection.coords, m.projection.coords)
    assert back.projection.params == m.projection.params
    np.testing.assert_array_equal(back.knn, m.knn)
    np.testing.assert_array_equal(back.clusters, m.clusters)
    assert back.cluster_labels == m.cluster_labels
    assert back.es.fingerprint == m.es.fingerprint and list(back.es.labels) == list(m.es.labels)
    # viz_app.load reads it as an ordinary set: same vectors, the map in metadata columns
    es = viz_app.load(path)
    assert es.fingerprint == m.es.fingerprint
    np.testing.assert_array_equal(es.metadata[["map_x", "map_y"]].to_numpy(), m.projection.coords)


def test_a_map_file_with_other_vectors_is_refused(digits_map, tmp_path):
    _, path = digits_map
    table = pq.read_table(path)
    md = dict(table.schema.metadata)
    s = json.loads(md[SETTINGS_KEY])
    s["dataset"]["fingerprint"] = "0" * 64
    md[SETTINGS_KEY] = json.dumps(s).encode()
    pq.write_table(table.replace_schema_metadata(md), tmp_path / "bad.parquet")
    with pytest.raises(DataFormatError, match=r"bad\.parquet"):
        load_map(tmp_path / "bad.parquet")


def test_a_map_file_with_broken_metadata_is_refused(digits_map, tmp_path):
    _, path = digits_map
    table = pq.read_table(path)
    md = dict(table.schema.metadata)
    md[MAP_KEY] = b"{not json"
    pq.write_table(table.replace_schema_metadata(md), tmp_path / "broken.parquet")
    with pytest.raises(DataFormatError, match="not JSON"):
        viz_app.read(tmp_path / "broken.parquet")


def test_a_plain_parquet_table_is_not_a_map(tmp_path):
    with pytest.raises(DataFormatError, match="not a map file"):
        load_map("sample_data/words.parquet")
