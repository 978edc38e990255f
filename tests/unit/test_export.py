"""Exports: CSV/parquet tables and Embedding Projector folders (report figures:
tests/unit/test_report_figure.py)."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

import viz_app
from viz_app import DataFormatError, ParameterError
from viz_app.data.model import EmbeddingSet
from viz_app.export.projector import export_projector, export_table, load_projector

HYPERLINK = '=HYPERLINK("http://x","y")'
XSS = "</script><script>alert(1)</script>"


@pytest.fixture(scope="module")
def digits_pca(digits_set):
    return digits_set, viz_app.project(digits_set, reducer="pca")


@pytest.fixture(scope="module")
def glove_2k():
    from viz_app.data.samples import glove

    es = glove(2000)
    return es, viz_app.project(es, reducer="pca")


# --- tables ---------------------------------------------------------------------------------


def test_csv_round_trips_and_neutralises_formulas(glove_2k, tmp_path):
    es, proj = glove_2k
    labels = es.labels.copy()
    labels[:2] = [HYPERLINK, "@SUM(A1)"]
    es2 = EmbeddingSet(es.vectors, ids=es.ids, labels=labels, metadata=es.metadata, name=es.name)
    clusters = np.arange(es.n_samples) % 7 - 1
    path = export_table(es2, proj, tmp_path / "map.csv", clusters=clusters)
    back = pd.read_csv(path, keep_default_na=False)
    assert list(back.columns[:5]) == ["x", "y", "id", "label", "cluster"]
    np.testing.assert_array_equal(back[["x", "y"]].to_numpy().astype(np.float32), proj.coords)
    assert (back[["x", "y"]].to_numpy() < 0).any()  # negative numbers stay numbers
    assert back["label"][0] == "'" + HYPERLINK and back["label"][1] == "'@SUM(A1)"
    risky = [lab for lab in es.labels if lab.startswith(("=", "+", "-", "@"))]
    assert risky  # real GloVe tokens such as "-" and "--"
    assert {"'" + r for r in risky} <= set(back["label"])
    plain = ~back["label"].str.startswith("'")
    assert (back["label"][plain] == pd.Series(labels)[plain]).all()
    assert (back["cluster"] == clusters).all() and (back["frequency_rank"] == es.metadata["frequency_rank"]).all()
    assert "\t" not in path.read_text() and not path.read_text().startswith("\ufeff")


def test_parquet_and_buffer_exports(digits_pca, tmp_path):
    es, proj = digits_pca
    path = export_table(es, proj, tmp_path / "map.parquet")
    back = pd.read_parquet(path)
    np.testing.assert_array_equal(back[["x", "y"]].to_numpy(), proj.coords)
    assert list(back["id"]) == list(es.ids) and list(back["digit"].astype(str)) == list(es.labels)
    buf = io.BytesIO()
    assert export_table(es, proj, buf, fmt="csv") is None and buf.getvalue().startswith(b"x,y,id,label,digit\r\n")
    with pytest.raises(ParameterError, match="table format"):
        export_table(es, proj, io.BytesIO())
    with pytest.raises(ParameterError, match="clusters"):
        export_table(es, proj, buf, fmt="csv", clusters=[1, 2])


# --- Embedding Projector -----------------------------------------------------------------------


def test_projector_round_trip_is_exact(glove_2k, tmp_path):
    es, proj = glove_2k
    cfg = export_projector(es, tmp_path / "proj", projection=proj)
    config = json.loads(cfg.read_text())
    assert config["embeddings"][0] == {
        "tensorName": es.name,
        "tensorShape": [2000, 50],
        "tensorPath": "tensors.tsv",
        "metadataPath": "metadata.tsv",
    }
    back = load_projector(cfg)
    np.testing.assert_array_equal(back.vectors, es.vectors)  # %.9g gives float32 back bit for bit
    assert back.fingerprint == es.fingerprint
    assert list(back.labels) == list(es.labels) and list(back.ids) == list(es.ids)
    assert list(back.metadata.columns) == list(es.metadata.columns)
    assert (back.metadata["frequency_band"] == es.metadata["frequency_band"]).all()
    coords = load_projector(cfg, tensor_name=config["embeddings"][1]["tensorName"])
    np.testing.assert_array_equal(coords.vectors, proj.coords)


def test_projector_keeps_ids_and_flattens_tabs(digits_set, tmp_path):
    es = digits_set.subset(np.arange(50))
    labels = es.labels.copy()
    labels[3] = "a\tb\nc"
    labels[4] = ""
    es2 = EmbeddingSet(es.vectors, ids=[f"img{i}" for i in range(50)], labels=labels, metadata=es.metadata)
    back = load_projector(export_projector(es2, tmp_path))
    lines = (tmp_path / "metadata.tsv").read_text().split("\n")
    assert lines[0] == "label\tid\tdigit" and len(lines) == 52  # header, 50 rows, final newline
    assert back.labels[3] == "a b c" and back.labels[4] == "" and list(back.ids) == list(es2.ids)
    np.testing.assert_array_equal(back.vectors, es.vectors)


@pytest.mark.parametrize(
    "path, match",
    [("../outside.tsv", "outside"), ("/etc/passwd", "outside"), ("https://x.org/t.tsv", "not URLs"), (7, "string")],
)
def test_load_projector_refuses_paths_outside_its_folder(digits_set, tmp_path, path, match):
    cfg = export_projector(digits_set.subset(np.arange(20)), tmp_path / "p")
    config = json.loads(cfg.read_text())
    config["embeddings"][0]["tensorPath"] = path
    cfg.write_text(json.dumps(config))
    with pytest.raises(DataFormatError, match=match):
        load_projector(cfg)


def test_load_projector_checks_the_config(digits_set, tmp_path):
    cfg = export_projector(digits_set.subset(np.arange(20)), tmp_path)
    config = json.loads(cfg.read_text())
    config["embeddings"][0]["tensorShape"] = [20, 63]
    cfg.write_text(json.dumps(config))
    with pytest.raises(DataFormatError, match="tensorShape"):
        load_projector(cfg)
    cfg.write_text('{"embeddings": []}')
    with pytest.raises(DataFormatError, match="embeddings"):
        load_projector(cfg)
    with pytest.raises(DataFormatError, match="no embedding named"):
        cfg.write_text(json.dumps({"embeddings": [{**config["embeddings"][0], "tensorShape": [20, 64]}]}))
        load_projector(cfg, tensor_name="nope")
    with pytest.raises(DataFormatError, match="cannot be opened"):
        load_projector(tmp_path / "missing.json")
