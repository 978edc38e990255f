"""Report figures with datamapplot (matplotlib): PNG size and DPI, SVG text for the labels, a
one-page PDF, the settings embedded; the focus and its real neighbours labelled; no browser."""

from __future__ import annotations

import io
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import viz_app
from viz_app.errors import ParameterError, UnknownIdError
from viz_app.export.figure import close_figure, export_figure, figure_bytes, map_figure, report_figure
from viz_app.export.mapfile import build_map
from viz_app.export.settings import load_settings, settings_for
from viz_app.reduce import make_params

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def glove_map():
    es = viz_app.load_sample("glove").subset(np.arange(2000))
    return build_map(es, make_params("pca", n_components=2), k=10, n_clusters=6)


@pytest.fixture(scope="module")
def king_fig(glove_map):
    fig = map_figure(glove_map, focus="king", n_neighbors=8)
    yield fig
    close_figure(fig)


def _pngs_dpi(data: bytes) -> float:
    i = data.index(b"pHYs")
    ppm_x, _, unit = struct.unpack(">IIB", data[i + 4 : i + 13])
    assert unit == 1  # metres
    return ppm_x * 0.0254


def test_png_has_the_asked_dpi_and_a_print_size(king_fig):
    data = figure_bytes(king_fig, "png", dpi=200)
    img = Image.open(io.BytesIO(data))
    assert round(_pngs_dpi(data)) == 200
    # 10-inch figure, cropped to what is drawn: between 6 and 13 inches a side at 200 dpi
    assert 1200 <= img.width <= 2600 and 1200 <= img.height <= 2600
    small = Image.open(io.BytesIO(figure_bytes(king_fig, "png", dpi=72)))
    assert small.width < img.width / 2.5


def test_svg_keeps_the_labels_as_text_elements(king_fig, glove_map):
    svg = figure_bytes(king_fig, "svg").decode()
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    words = " ".join(re.sub(r"<[^>]+>", " ", t) for t in texts)
    neighbours = [str(glove_map.es.labels[r]) for r in glove_map.knn[list(glove_map.es.labels).index("king"), :8]]
    assert "king" in words and all(n in words for n in neighbours)
    assert "prince" in neighbours  # GloVe's real nearest neighbour of king
    for label in set(glove_map.cluster_labels.values()):  # every region is labelled
        assert label.split(",")[0] in words


def test_pdf_is_one_page_with_the_settings(king_fig, glove_map):
    pdf = figure_bytes(king_fig, "pdf", settings=glove_map.settings)
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    assert b"embedding-lens" in pdf or b"fingerprint" in pdf


def test_export_writes_the_file_the_sidecar_and_embeds_the_settings(king_fig, glove_map, tmp_path):
    path = export_figure(king_fig, tmp_path / "king.png", dpi=100, settings=glove_map.settings)
    assert load_settings(path.read_bytes())["dataset"]["fingerprint"] == glove_map.es.fingerprint
    assert (tmp_path / "king.png.settings.json").is_file()
    svg = export_figure(king_fig, tmp_path / "king.svg", settings=glove_map.settings)
    assert load_settings(svg.read_bytes())["projection"]["reducer"] == "pca"


_NO_BROWSER = """
import sys
import numpy as np
import viz_app
from viz_app.export.figure import figure_bytes, report_figure
v = np.random.default_rng(0).normal(size=(300, 8)).astype("float32")
es = viz_app.EmbeddingSet(v, labels=[f"w{i}" for i in range(300)], name="random")
fig = report_figure(es, viz_app.project(es, reducer="pca"), focus="w0")
assert figure_bytes(fig, "pdf").startswith(b"%PDF")
print(sorted({"kaleido", "choreographer", "playwright", "selenium"} & set(sys.modules)))
"""


def test_no_browser_is_involved():
    # in a fresh interpreter: this test process may hold playwright already (the browser tests'
    # modules are imported at collection)
    out = subprocess.run(
        [sys.executable, "-c", _NO_BROWSER], capture_output=True, text=True, timeout=600, cwd=ROOT, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_app_figure_from_a_set_and_projection_with_user_text(digits_small):
    es = digits_small
    proj = viz_app.project(es, reducer="pca")
    odd = es.metadata.assign(tag=np.where(np.arange(es.n_samples) < 300, "$\\frac{", "<b>x</b>"))
    es2 = viz_app.EmbeddingSet(es.vectors, ids=es.ids, labels=es.labels, metadata=odd, name="digits $5 <i>")
    fig = report_figure(es2, proj, color_by="tag", focus="0", title="a $ title")
    svg = figure_bytes(fig, "svg", settings=settings_for(es2, proj)).decode()
    close_figure(fig)
    assert "&lt;b&gt;x&lt;/b&gt;" in svg and "<b>x</b>" not in svg  # text, never markup
    assert "$\\frac{" in svg and "a $ title" in svg  # mathtext off: shown as typed


def test_zoom_frames_the_focus_group(glove_map):
    fig = map_figure(glove_map, focus="king", zoom=True)
    ax = fig.axes[0]
    n_drawn = sum(len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets"))
    close_figure(fig)
    # only the points in the window around king and its 10 neighbours (+ 11 markers), not all
    assert n_drawn - 11 < glove_map.es.n_samples


def test_bad_arguments_are_refused(glove_map, king_fig):
    with pytest.raises(UnknownIdError, match="no-such-word"):
        map_figure(glove_map, focus="no-such-word")
    with pytest.raises(ParameterError, match="zoom needs a focus"):
        map_figure(glove_map, zoom=True)
    with pytest.raises(ParameterError, match="frequency_rank"):
        map_figure(glove_map, color_by="frequency_rank")  # a number per word: not a category
    with pytest.raises(ParameterError, match="dpi"):
        figure_bytes(king_fig, "png", dpi=5000)
    with pytest.raises(ParameterError, match="format"):
        figure_bytes(king_fig, "jpg")
