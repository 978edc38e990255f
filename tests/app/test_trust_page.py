"""AppTest: the Explore caption says how faithful the map is (issue 12), for PCA and t-SNE alike."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import viz_app
from viz_app.data.samples import digits

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 600


@pytest.fixture(autouse=True)
def _cwd(monkeypatch):
    monkeypatch.chdir(ROOT)


def _trust_caption(at: AppTest, deadline_s: float = 300) -> str:
    """Rerun until the background job has finished and the caption shows the figures."""
    end = time.monotonic() + deadline_s
    while True:
        assert not at.exception
        hits = [c.value for c in at.caption if c.value.startswith("Trustworthiness")]
        if hits:
            return hits[0]
        waiting = [c.value for c in at.caption if "Measuring how faithful" in c.value]
        assert waiting, [c.value for c in at.caption]  # the map is shown while it runs
        assert time.monotonic() < end, waiting
        time.sleep(0.5)
        at.run()


@pytest.mark.parametrize("reducer", ["pca", "tsne"])
def test_the_caption_gives_trustworthiness_continuity_and_preservation(reducer):
    from viz_app.ui import cache

    es = digits().subset(np.arange(400))
    key = cache.put_session_set(es, owner="trust-test")
    at = AppTest.from_file(str(ROOT / "pages" / "explore.py"), default_timeout=TIMEOUT)
    at.session_state[cache.OWNER] = "trust-test"
    at.session_state["dataset"] = {"kind": "upload", "key": key, "name": "digits 400"}
    at.session_state["reducer"] = reducer
    text = _trust_caption(at.run())
    proj = viz_app.project(es, reducer=reducer)
    r = viz_app.trust(es, proj)
    assert f"Trustworthiness {r.trustworthiness:.3f} · continuity {r.continuity:.3f}" in text
    assert f"neighbourhood preserved@10 {r.preservation:.1%} (chance {r.chance:.2%})" in text
    assert "from the exact cosine kNN graph" in text
    assert re.search(r"preserved@10 \d+\.\d%", text)


def test_the_sweep_runs_in_the_background_and_a_thumbnail_becomes_the_map(monkeypatch):
    from viz_app.map import sweep
    from viz_app.ui import cache

    monkeypatch.setattr(sweep, "SWEEP_VALUES", {"umap": {"n_neighbors": (5, 15)}, "tsne": {"perplexity": (10.0,)}})
    es = digits().subset(np.arange(300))
    key = cache.put_session_set(es, owner="trust-test")
    at = AppTest.from_file(str(ROOT / "pages" / "explore.py"), default_timeout=TIMEOUT)
    at.session_state[cache.OWNER] = "trust-test"
    at.session_state["dataset"] = {"kind": "upload", "key": key, "name": "digits 300"}
    at.session_state["reducer"] = "pca"
    at.run()
    assert any("(4 maps)" in e.label for e in at.expander)
    at.button(key="sweep_run").click().run()
    end = time.monotonic() + 600
    while not at.dataframe or "trustworthiness" not in at.dataframe[-1].value.columns:
        assert not at.exception
        assert time.monotonic() < end
        time.sleep(1)
        at.run()
    table = at.dataframe[-1].value
    assert sorted(table["reducer"]) == ["PCA", "UMAP", "UMAP", "t-SNE"]
    pca_row = table[table["reducer"] == "PCA"].iloc[0]
    r = viz_app.trust(es, viz_app.project(es, reducer="pca"))
    assert pca_row["trustworthiness"] == pytest.approx(r.trustworthiness)
    assert table["preservation"].iloc[0] > pca_row["preservation"]  # best first: not PCA on digits
    captions = [c.value for c in at.caption if "P@10" in c.value]
    assert len(captions) == 4 and any("(this map)" in c for c in captions)
    at.button(key="sweep_pick_1").click().run()  # the t-SNE thumbnail (PCA is first)
    assert not at.exception
    assert at.session_state["reducer"] == "tsne"
    assert "t-SNE 2D, perplexity=10" in at.markdown[0].value


def test_colour_by_neighbourhood_preserved_paints_each_point_by_its_score():
    from viz_app.ui import cache

    es = digits().subset(np.arange(400))
    key = cache.put_session_set(es, owner="trust-test")
    at = AppTest.from_file(str(ROOT / "pages" / "explore.py"), default_timeout=TIMEOUT)
    at.session_state[cache.OWNER] = "trust-test"
    at.session_state["dataset"] = {"kind": "upload", "key": key, "name": "digits 400"}
    at.session_state["reducer"] = "pca"
    at.run()
    at.sidebar.selectbox(key="_w_color_by").set_value("neighbourhood preserved")
    _trust_caption(at.run())
    assert at.sidebar.selectbox(key="_w_color_by").value == "neighbourhood preserved"
    assert not any("as soon as the figures are ready" in c.value for c in at.caption)
    from viz_app.ui import trust_views

    colors = trust_views.preserved_colors(es, viz_app.project(es, reducer="pca"))
    expected = viz_app.trust(es, viz_app.project(es, reducer="pca")).per_point["preservation"]
    assert colors.name == "neighbourhood preserved" and np.array_equal(colors.to_numpy(), expected.to_numpy())


def test_a_focus_shows_its_missing_and_false_neighbours_on_the_map():
    from viz_app.map.trust import inspect_focus
    from viz_app.ui import cache

    es = digits().subset(np.arange(400))
    key = cache.put_session_set(es, owner="trust-test")
    at = AppTest.from_file(str(ROOT / "pages" / "explore.py"), default_timeout=TIMEOUT)
    at.session_state[cache.OWNER] = "trust-test"
    at.session_state["dataset"] = {"kind": "upload", "key": key, "name": "digits 400"}
    at.session_state["reducer"] = "pca"
    at.session_state["focus"] = (es.fingerprint, es.ids[5])
    at.run()
    assert not at.exception
    f = inspect_focus(es, viz_app.project(es, reducer="pca"), 5)
    text = next(c.value for c in at.caption if "Map vs. reality" in c.value)
    assert f"**{len(f.missing)} missing**" in text and f"**{len(f.false)} false**" in text


def test_neighbourhood_preserved_is_drawn_on_a_0_to_1_colour_bar_not_as_categories():
    import pandas as pd

    from viz_app.ui import explore_views

    es = digits().subset(np.arange(400))
    proj = viz_app.project(es, reducer="pca")
    share = viz_app.trust(es, proj).per_point["preservation"].rename("neighbourhood preserved")
    assert share.nunique() <= 11  # k = 10: few distinct values, which "auto" would call categories
    legend = explore_views._map_data(es, proj, share, "neighbourhood preserved", ()).encoded.legend
    assert legend["kind"] == "colorbar" and (legend["min"], legend["max"]) == (0.0, 1.0)
    names = pd.Series([f"c{i % 3}" for i in range(400)], name="cluster")
    legend = explore_views._map_data(es, proj, names, "cluster", ()).encoded.legend
    assert legend["kind"] == "categories"
