"""Exports: report figure, PNG/SVG/PDF (kaleido + Debian Chromium), HTML, CSV/parquet, projector TSV."""

from __future__ import annotations

import io
import json
import re
import struct
import threading

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import viz_app
from viz_app import DataFormatError, MissingDependencyError, ParameterError, UnknownIdError
from viz_app.data.model import EmbeddingSet
from viz_app.export import figure as export
from viz_app.export import render
from viz_app.export.figure import (
    export_figure,
    export_projector,
    export_table,
    figure_bytes,
    load_projector,
    report_figure,
)
from viz_app.export.plotly_map import scatter_map
from viz_app.export.settings import PNG_KEYWORD, load_settings, settings_for, sidecar_path

HYPERLINK = '=HYPERLINK("http://x","y")'
XSS = "</script><script>alert(1)</script>"

# Image tests need Chrome/Chromium (Debian: apt-get install chromium); they fail, not skip, without it.


@pytest.fixture(scope="module")
def digits_pca(digits_set):
    return digits_set, viz_app.project(digits_set, reducer="pca")


@pytest.fixture(scope="module")
def digits_fig(digits_pca):
    es, proj = digits_pca
    return report_figure(es, proj, color_by="digit", width=800, height=600)


@pytest.fixture(scope="module")
def glove_2k():
    from viz_app.data.samples import glove

    es = glove(2000)
    return es, viz_app.project(es, reducer="pca")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _nearest_neighbours(es: EmbeddingSet, word: str, k: int) -> list[str]:
    v = es.vectors / np.linalg.norm(es.vectors, axis=1, keepdims=True)
    sims = v @ v[es.index_of([word])[0]]
    return [es.ids[i] for i in np.argsort(-sims)[1 : k + 1]]


# --- report figure (no browser) ---------------------------------------------------------------


def test_report_figure_is_print_styled_svg_and_keeps_every_id(digits_pca):
    es, proj = digits_pca
    fig = report_figure(es, proj, color_by="digit", focus="0", labels_for=["1", "2", "3"])
    points = [t for t in fig.data if t.name != "labelled"]
    assert {t.type for t in points} == {"scatter"}  # SVG traces, not WebGL
    assert sorted(i for t in points for i in t.customdata) == sorted(es.ids)
    assert len(points) == 10 and fig.layout.paper_bgcolor == "white" and fig.layout.plot_bgcolor == "white"
    assert fig.layout.font.size >= 16 and fig.layout.width == 1200 and fig.layout.height == 900
    texts = [a.text for a in fig.layout.annotations]
    caption = texts[-1]
    assert "1,797 points" in caption and proj.params.describe() in caption and es.name in caption
    assert fig.layout.title.text == es.name
    assert texts[:4] == ["<b>0</b>", "1", "2", "3"]  # focus first, in bold
    labelled = fig.data[-1]
    assert list(labelled.customdata) == ["0", "1", "2", "3"] and labelled.marker.symbol[0] == "star"


def test_report_figure_escapes_user_text(digits_pca):
    es, proj = digits_pca
    labels = es.labels.copy()
    labels[5] = XSS
    bad = EmbeddingSet(es.vectors, labels=labels, metadata=es.metadata, name=XSS)
    fig = report_figure(bad, proj, labels_for=["5"])
    js = fig.to_json()
    assert "<script" not in js and "&lt;script&gt;alert(1)" in js


def test_report_figure_3d_keeps_scatter3d_and_scene_labels(digits_set):
    proj = viz_app.project(digits_set, reducer="pca", n_components=3)
    fig = report_figure(digits_set, proj, focus="7", labels_for=["8"], caption=False, title="")
    assert fig.data[0].type == "scatter3d" and len(fig.data[0].x) == digits_set.n_samples
    assert [a.text for a in fig.layout.scene.annotations] == ["<b>7</b>", "8"]
    assert not fig.layout.annotations and fig.layout.title.text is None


def test_report_figure_rejects_bad_arguments(digits_pca, glove_2k):
    es, proj = digits_pca
    with pytest.raises(UnknownIdError):
        report_figure(es, proj, focus="no such id")
    with pytest.raises(ParameterError, match="not a metadata column"):
        report_figure(es, proj, color_by="colour")
    with pytest.raises(ParameterError, match="at most"):
        report_figure(es, proj, labels_for=es.ids[:61])
    with pytest.raises(ParameterError, match="200..4000"):
        report_figure(es, proj, width=50)
    with pytest.raises(ParameterError, match="not computed from"):
        report_figure(glove_2k[0], proj)


def test_figure_bytes_checks_format_and_size(digits_fig):
    with pytest.raises(ParameterError, match="unknown figure format"):
        figure_bytes(digits_fig, "jpeg")
    with pytest.raises(ParameterError, match="scale"):
        figure_bytes(digits_fig, "png", scale=5)
    with pytest.raises(ParameterError, match="width"):
        figure_bytes(digits_fig, "png", width=20)
    with pytest.raises(ParameterError, match="suffix"):
        export_figure(digits_fig, "map.gif")


# --- images via kaleido + Chromium ----------------------------------------------------------


def test_png_has_requested_pixel_size_and_shows_the_points(digits_fig):
    from PIL import Image  # Pillow comes with streamlit

    data = figure_bytes(digits_fig, "png", scale=2, width=800, height=600)
    assert _png_size(data) == (1600, 1200)
    img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    non_white = (img < 245).any(axis=2).mean()
    assert 0.02 < non_white < 0.5, non_white
    colours = {tuple(c) for c in img.reshape(-1, 3)[::7]}
    palette = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]
    for rgb in palette:  # digit colours appear (opacity 0.75 on white lightens them)
        target = 255 - 0.75 * (255 - np.array(rgb))
        assert min(np.abs(np.array(c) - target).sum() for c in colours) < 25, rgb
    assert _png_size(figure_bytes(digits_fig, "png", scale=1))[0] == 800  # the figure's own width


def test_svg_has_one_vector_marker_per_point(digits_pca):
    es, proj = digits_pca
    fig = report_figure(es, proj, color_by="digit", focus="0", labels_for=["1", "2"], width=800, height=600)
    svg = figure_bytes(fig, "svg").decode()
    assert svg.count('<path class="point') == es.n_samples + 3  # + the 3 outlined labelled points
    assert "<image" not in svg  # nothing rasterised
    assert re.search(r'<svg[^>]* width="800" height="600"', svg)
    screen = scatter_map(proj.coords[:300], ids=es.ids[:300], labels=es.labels[:300])  # WebGL, as in the app
    assert screen.data[0].type == "scattergl"
    svg = figure_bytes(screen, "svg").decode()
    assert svg.count('<path class="point') == 300 and "<image" not in svg


def test_pdf_opens_and_has_one_page(digits_fig):
    pdf = figure_bytes(digits_fig, "pdf")
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1


def test_export_figure_writes_file_sidecar_and_png_text_chunk(digits_pca, digits_fig, tmp_path):
    from PIL import Image

    es, proj = digits_pca
    s = settings_for(es, proj, dataset_ref={"kind": "sample", "key": "digits"}, color_by="digit")
    path = export_figure(digits_fig, tmp_path / "map.png", scale=1, settings=s)
    assert _png_size(path.read_bytes()) == (800, 600)
    assert load_settings(sidecar_path(path)) == s
    assert load_settings(path) == s  # read back from the PNG itself
    assert json.loads(Image.open(path).text[PNG_KEYWORD]) == s
    svg = export_figure(digits_fig, tmp_path / "map.svg", settings=s)
    assert load_settings(svg) == s and sidecar_path(svg).exists()
    pdf = export_figure(digits_fig, tmp_path / "map.pdf", settings=s)
    assert pdf.read_bytes().startswith(b"%PDF") and load_settings(sidecar_path(pdf)) == s


def test_one_renderer_serves_concurrent_threads(digits_fig):
    export.start_renderer()
    sizes = [(400, 300), (500, 400), (640, 480)]
    results: dict[int, bytes] = {}

    def work(i: int) -> None:
        results[i] = figure_bytes(digits_fig, "png", scale=1, width=sizes[i][0], height=sizes[i][1])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert {i: _png_size(b) for i, b in results.items()} == dict(enumerate(sizes))
    assert render.RENDERER.running


def test_missing_chrome_names_what_to_install(digits_fig, monkeypatch, tmp_path):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    assert export.find_chrome() is None
    with pytest.raises(MissingDependencyError, match="apt-get install chromium") as err:
        export.ImageRenderer().start()
    assert "BROWSER_PATH='/nonexistent/chromium'" in str(err.value)
    monkeypatch.setattr(render, "RENDERER", export.ImageRenderer())
    with pytest.raises(MissingDependencyError):
        export_figure(digits_fig, tmp_path / "map.png")
    assert not (tmp_path / "map.png").exists()
    assert export_figure(digits_fig, tmp_path / "map.html").stat().st_size > 1e6  # HTML needs no browser


# --- HTML -------------------------------------------------------------------------------------


def test_html_is_self_contained_with_data_and_embedded_settings(glove_2k, tmp_path):
    es, proj = glove_2k
    renamed = EmbeddingSet(es.vectors, ids=es.ids, labels=es.labels, metadata=es.metadata, name=XSS)
    s = settings_for(renamed, proj, dataset_ref={"kind": "sample", "key": "glove"})
    fig = report_figure(renamed, proj, color_by="frequency_band", focus="king", labels_for=["prince"])
    page = export_figure(fig, tmp_path / "map.html", settings=s).read_text(encoding="utf-8")
    assert all(f'"{w}"' in page for w in ("king", "prince", "london", "monday"))
    assert not re.search(r"<script[^>]*\bsrc=", page) and "cdn.plot.ly/plotly" not in page
    plain = figure_bytes(fig, "html").decode()
    assert page.count("<script") == page.count("</script>") == plain.count("</script>") + 1  # + the settings
    assert load_settings(page.encode()) == s and load_settings(sidecar_path(tmp_path / "map.html")) == s


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


def test_report_labels_of_real_neighbours(glove_2k):
    es, proj = glove_2k
    nbrs = _nearest_neighbours(es, "king", 6)
    assert "prince" in nbrs
    fig = report_figure(es, proj, focus="king", labels_for=nbrs)
    assert isinstance(fig, go.Figure) and [a.text for a in fig.layout.annotations][:2] == ["<b>king</b>", nbrs[0]]
