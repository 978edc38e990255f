"""The interactive HTML export (viz_app.export.interactive): one self-contained page holding the
live map's bundle, the map's files and the view; the browser side is tested in
tests/e2e/test_explore.py (opened from file://, a click highlights neighbours)."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError
from viz_app.export import interactive
from viz_app.export.interactive import interactive_html
from viz_app.map.encode import unpack
from viz_app.map.prepare import prepare_map
from viz_app.map.view import Highlight, MapView

BUNDLE = "export default function(){}; const s = `</script><b>x</b>`;"


def _set(n: int = 60) -> EmbeddingSet:
    rng = np.random.default_rng(0)
    labels = [f"w{i}" for i in range(n)]
    labels[3] = "</script><script>alert(1)</script>"
    return EmbeddingSet(rng.normal(size=(n, 8)).astype(np.float32), ids=[str(i) for i in range(n)], labels=labels)


def _data_block(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="lens-data">(.*?)</script>', page, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_the_page_holds_the_bundle_the_files_and_the_view():
    es = _set()
    md = prepare_map(es, es.vectors[:, :2], k=20)
    view = MapView(focus=7, k=5, highlights=[Highlight("h", [1, 2])])
    page = interactive_html(md.encoded, view, bundle_js=BUNDLE, title="<i>My</i> map", caption="a & b").decode()
    assert "<title>&lt;i&gt;My&lt;/i&gt; map</title>" in page and "a &amp; b" in page
    assert not re.search(r"<script[^>]*\bsrc=", page) and "http://" not in page and "https://" not in page
    # exactly the page's own script elements: a label or the bundle cannot close one early
    assert page.count("</script>") == 3
    assert "`<\\/script><b>x<\\/b>`" in page  # the same JS string, escaped
    d = _data_block(page)
    v = d["view"]
    assert v["focus"] == 7 and v["k"] == 5 and v["map"]["n"] == 60 and v["map"]["details"] is None
    assert [s["name"] for s in v["sets"]] == ["h"]
    files = {u: base64.b64decode(b) for u, b in d["files"].items()}
    assert set(files) == {v["map"]["points"], v["map"]["labels"], v["map"]["knn"]}
    assert files[v["map"]["points"]] == md.encoded.blobs["points"]
    header, sections = unpack(files[v["map"]["knn"]])
    graph = np.asarray(sections["indices"]).reshape(60, -1)
    full = np.asarray(unpack(md.encoded.blobs["knn"])[1]["indices"]).reshape(60, -1)
    assert header["k"] == 5 and (graph == full[:, :5]).all()  # cut to the view's k, nearest first


def test_too_many_points_is_a_clear_error(monkeypatch):
    es = _set()
    md = prepare_map(es, es.vectors[:, :2], k=0)
    monkeypatch.setattr(interactive, "MAX_HTML_POINTS", 50)
    with pytest.raises(ParameterError, match="up to 50 points, not 60"):
        interactive_html(md.encoded, MapView(), bundle_js=BUNDLE, title="t")
