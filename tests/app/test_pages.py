"""AppTest for each page, through the entry point (st.navigation) and page by page.

AppTest cannot drive ``st.file_uploader`` (Streamlit's ``streamlit.testing.v1`` has no file
uploader element); the upload
path is tested through ``data_views.accept_upload``, which the uploader calls, and for real in
tests/e2e.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 600


@pytest.fixture(autouse=True)
def _cwd(monkeypatch):
    monkeypatch.chdir(ROOT)


def _plain(markdown: str) -> str:
    """Messages are shown with every punctuation backslash-escaped (viz_app.ui.safe.md): undo it."""
    import re

    return re.sub(r"\\(.)", r"\1", markdown)


def _explore(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "explore.py"), default_timeout=TIMEOUT)
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def _via_router(page: str) -> AppTest:
    """Open the app through the entry point (st.navigation), with PCA, then switch to ``page``."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.session_state["reducer"] = "pca"
    at.run()
    return at.switch_page(page).run()


def test_entry_point_opens_explore_on_the_default_sample_with_umap():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    caption = _plain(at.markdown[0].value)
    assert "GloVe 6B 50-d, top 10,000" in caption and "10,000 points" in caption and "50 dims" in caption
    assert "UMAP 2D, n_neighbors=15, min_dist=0.1, cosine, seed 0" in caption
    assert at.sidebar.radio(key="_w_reducer").value == "umap"
    assert at.sidebar.selectbox(key="_w_color_by").value == "frequency_band"


def test_switching_reducer_and_dimensions_updates_the_caption():
    at = _explore(reducer="pca")
    assert "PCA 2D" in at.markdown[0].value and "explained variance" in at.markdown[0].value
    at.sidebar.radio(key="_w_n_components").set_value(3).run()
    assert not at.exception and "PCA 3D" in at.markdown[0].value
    assert at.sidebar.get("slider")[0].label == "Point size"  # PCA has no reducer sliders


def test_tsne_controls_and_bounds_for_a_small_dataset():
    from viz_app.ui import cache

    es = __import__("viz_app.data.samples").data.samples.digits().subset(np.arange(40))
    key = cache.put_session_set(es, owner="tsne-test")
    at = _explore(**{cache.OWNER: "tsne-test"}, dataset={"kind": "upload", "key": key, "name": "tiny"}, reducer="tsne")
    assert not at.exception
    slider = at.sidebar.slider(key="_w_tsne_perplexity")
    assert slider.max <= (40 - 2) / 3  # bounded so t-SNE cannot fail on 40 points
    assert "t-SNE 2D" in at.markdown[0].value and "40 points" in at.markdown[0].value


def test_colour_by_lists_metadata_columns_and_none():
    at = _explore(reducer="pca")
    opts = at.sidebar.selectbox(key="_w_color_by").options
    assert opts == ["(none)", "neighbourhood preserved", "frequency_rank", "frequency_band", "kind"]
    at.sidebar.selectbox(key="_w_color_by").set_value("(none)").run()
    assert not at.exception


def test_data_page_loads_a_sample_and_previews_it():
    at = _via_router("pages/data.py")
    assert not at.exception and at.title[0].value == "Data"
    assert "10,000 points" in at.markdown[0].value or any("10,000 points" in m.value for m in at.markdown)
    at.radio[0].set_value("digits").run()
    at.button[0].click().run()
    assert at.session_state["dataset"]["key"] == "digits"
    assert any("Loaded sample: Handwritten digits" in _plain(s.value) for s in at.success)
    assert at.dataframe[0].value.shape[0] == 500 and list(at.dataframe[0].value.columns) == ["id", "label", "digit"]


def _upload_script(payload: bytes, name: str) -> None:
    import io as _io

    import streamlit as st

    from viz_app.ui import data_views

    if "done" not in st.session_state:
        st.session_state["done"] = True
        data_views.accept_upload(_io.BytesIO(payload), name=name)
    data_views.show_message()


def test_upload_of_a_good_file_becomes_the_dataset():
    csv = (ROOT / "sample_data" / "words.csv").read_bytes()
    at = AppTest.from_function(_upload_script, args=(csv, "words.csv"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.session_state["dataset"]["kind"] == "upload"
    assert _plain(at.success[0].value).startswith("Loaded words.csv: 1,000 points × 50 dims (csv)")


def test_a_bad_upload_shows_one_message_and_keeps_the_previous_dataset():
    at = AppTest.from_function(
        _upload_script, args=(b"label,x,y\nking,1,2\nqueen,3\n", "bad.csv"), default_timeout=TIMEOUT
    )
    at.session_state["dataset"] = {"kind": "sample", "key": "digits"}
    at.run()
    assert not at.exception
    assert at.session_state["dataset"] == {"kind": "sample", "key": "digits"}
    msg = at.error[0].value
    assert msg.startswith("Could not load this file. bad.csv") and "row 3" in msg


def test_clusters_colour_the_map_and_fill_the_cluster_table():
    at = _explore(dataset={"kind": "sample", "key": "digits"}, reducer="pca")
    at.sidebar.radio(key="_w_cluster_method").set_value("kmeans").run()
    assert not at.exception
    assert at.sidebar.selectbox(key="_w_color_by").value == "cluster"
    table = at.dataframe[-1].value
    assert list(table.columns[:3]) == ["cluster", "size", "share"] and len(table) == 8
    assert table["size"].sum() == 1797
    # one keyword label per cluster on the map (laid out without overlaps in the page)
    view = _map_view(at)
    assert [lab["style"] for lab in view["labels"]].count("cluster") == 8
    assert view["map"]["n"] == 1797
    at.sidebar.radio(key="_w_cluster_method").set_value("hdbscan").run()
    assert not at.exception and at.dataframe[-1].value["size"].sum() == 1797


def test_search_counts_matches():
    at = _explore(reducer="pca")
    at.text_input(key="search").input("^king").run()
    assert not at.exception
    assert any("0 matches highlighted" in c.value for c in at.caption)  # a literal substring
    at.toggle(key="search_regex").set_value(True).run()
    assert any("3 matches highlighted" in c.value for c in at.caption)


def test_arithmetic_page_evaluates_king_man_woman_and_draws_axes():
    at = _via_router("pages/arithmetic.py")
    assert not at.exception and at.title[0].value == "Arithmetic"
    at.text_input(key="expr").input("king - man + woman").run()
    assert not at.exception
    assert at.dataframe[0].value["label"].iloc[0] == "queen"
    assert any(t.value.endswith("→  queen") for t in at.text)
    at.text_input(key="expr").input("king - mna").run()
    assert "mna" in at.error[0].value  # the unknown term is named (with suggestions)
    view = _map_view(at)  # the semantic-axes map: numbered axes titled by their words, ends labelled
    axes = view["axes"]
    assert (axes["x"]["title"], axes["y"]["title"]) == ("man → woman (cosine)", "poor → rich (cosine)")
    assert axes["x"]["ticks"] == [-0.4, -0.2, 0.0, 0.2, 0.4] and view["arrows"] == []
    assert [s["name"] for s in view["sets"]] == ["axis ends"] and view["sets"][0]["label"]
    at.radio(key="ax_mode").set_value("scalar").run()
    axes = _map_view(at)["axes"]
    assert axes["y"]["title"] == "poor → rich (scalar projection)"
    assert axes["y"]["ticks"] == [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0]


def _map_view(at: AppTest) -> dict:
    """The view JSON the live map component received on the last run (viz_app.map.view)."""
    import json

    maps = [e for e in at.get("bidi_component") if e.proto.component_name == "embedding_lens.live_map"]
    assert len(maps) == 1, f"{len(maps)} maps drawn"
    return json.loads(maps[0].proto.json)


def test_expression_on_the_explore_map_table_marker_and_arrows():
    at = _explore(reducer="pca", map_expr="king - man + woman")
    assert not at.exception
    table = next(df.value for df in at.dataframe if "similarity" in df.value.columns and "rank" in df.value.columns)
    assert table["label"].iloc[0] == "queen"
    assert any(t.value.endswith("→  queen") for t in at.text)
    view = _map_view(at)
    shapes = {m["label"]: m["shape"] for m in view["markers"]}
    assert shapes == {"+ king": "circle", "− man": "circle", "+ woman": "circle", "(king - man) + woman": "diamond"}
    assert len(view["arrows"]) == 2  # man -> woman and king -> result
    assert view["axes"] is None  # a PCA map's units mean nothing: no numbered axes
    nearest = next(s for s in view["sets"] if s["name"] == "nearest to the result")
    assert nearest["label"] and nearest["rows"]["n"] == 5
    assert any("PCA transform" in c.value for c in at.caption)


def test_expression_with_selection_mean():
    from viz_app.data import samples
    from viz_app.ui import cache

    es = cache.sample("glove") if False else samples.load_sample("glove")
    at = _explore(
        reducer="pca", map_expr="$selection - france + italy", selection=(es.fingerprint, ("paris", "london", "berlin"))
    )
    assert not at.exception
    assert any("$selection" in c.value for c in at.caption)
    table = next(df.value for df in at.dataframe if "similarity" in df.value.columns and "rank" in df.value.columns)
    assert "rome" in table["label"].head(5).tolist()
    assert "paris" not in table["label"].tolist()  # the selection's items are operands: left out


def test_unknown_term_in_expression_is_a_message_not_a_traceback():
    at = _explore(reducer="pca", map_expr="king - qeen")
    assert not at.exception
    assert any("unknown term 'qeen'" in _plain(e.value) and "queen" in e.value for e in at.error)


def test_over_the_point_budget_offers_a_seeded_sample_and_transform(monkeypatch):
    monkeypatch.setenv("EMBEDDING_LENS_MAX_POINTS_PCA", "4000")
    at = _explore(reducer="pca")
    assert not at.exception
    assert any("over the limit of 4,000 points" in _plain(e.value) for e in at.error)
    offer = at.button(key="fit_sample_offer")
    assert "seeded sample of 4,000 points" in offer.label and "other 6,000" in offer.label
    offer.click().run()
    assert not at.exception and not at.error
    caption = at.markdown[0].value
    assert "fitted on a seeded sample of 4,000 points, the rest placed by transform" in caption
    assert at.sidebar.button(key="fit_all")  # a way back
    assert _map_view(at)["map"]["n"] == 10_000  # every point drawn


def test_messages_render_user_text_literally():
    from viz_app.ui.safe import md

    s = md("**[click](https://evil.example/)** <b>x</b> :red[y] www.evil.com me@evil.com $x$ 1,000")
    for raw in ("**", "[click]", "](", "<b>", ":red[", "$x$"):
        assert raw not in s, raw  # each is escaped
    for link in ("https://", "www.evil", "me@evil"):
        assert link not in s, link  # broken by an invisible word joiner: no autolink
    assert (
        s.replace("\\", "").replace("\u2060", "")
        == "**[click](https://evil.example/)** <b>x</b> :red[y] www.evil.com me@evil.com $x$ 1,000"
    )


def test_a_large_set_builds_its_neighbour_index_up_front(monkeypatch):
    """Above EXACT_MAX_ELEMENTS the page starts the pynndescent build when it opens (caption),
    so the first click does not start it; the list then says it is approximate."""
    from viz_app.data.samples import load_sample
    from viz_app.explore import neighbors as nb

    monkeypatch.setattr(nb, "EXACT_MAX_ELEMENTS", 100_000)  # GloVe 10k x 50 = 500,000 entries: above
    nb.clear_index_cache()
    es = load_sample("glove")
    at = _explore(reducer="pca")
    assert not at.exception
    assert any(
        "Building the approximate neighbour index (pynndescent) over 10,000 vectors (cosine)" in c.value
        for c in at.caption
    )
    thread = nb.build_index_in_background(es, "cosine")  # the page's build, or None once it is done
    if thread is not None:
        thread.join(TIMEOUT)
    assert nb.has_index(es, "cosine") and nb.index_cache_info().misses == 1  # one build, started by the page
    at.session_state["focus"] = (es.fingerprint, "king")
    at.run()
    assert not at.exception
    assert not any("Building the approximate" in c.value for c in at.caption)
    assert any(c.value.startswith("Approximate (pynndescent index) search over 10,000 vectors") for c in at.caption)
    table = at.dataframe[0].value
    assert {"queen", "prince"} <= set(table["label"].head(5))
    assert nb.index_cache_info().misses == 1  # the click reused it
    nb.clear_index_cache()


def test_a_click_and_a_lasso_in_the_map_fill_the_neighbour_and_selection_tables():
    """What the map's JS reports (its state value: the clicked row, a packed selection) drives
    the panels: the click focuses king (table, URL, the view's focus), the lasso fills the
    selection table and the view's selection."""
    import base64

    from viz_app.data.samples import load_sample

    es = load_sample("glove")
    king = int(np.flatnonzero(es.labels == "king")[0])
    at = _explore(reducer="pca")
    key = f"lens_map_{es.fingerprint[:8]}"
    at.session_state[key] = {"focus": {"row": king, "seq": 1}}
    at.run()
    assert not at.exception
    assert any(t.value == "Focus: king" for t in at.text)
    assert {"queen", "prince"} <= set(at.dataframe[0].value["label"])
    assert _map_view(at)["focus"] == king
    rows = np.array([3, 5, 8, 13], dtype="<u4")
    at.session_state[key] = {
        "focus": {"row": king, "seq": 1},
        "selection": {"n": 4, "packed": base64.b64encode(rows.tobytes()).decode(), "how": "lasso", "seq": 2},
    }
    at.run()
    assert not at.exception
    assert any(h.value == "Selection: 4 points" for h in at.subheader)
    assert _map_view(at)["selection"]["n"] == 4
    assert any(t.value == "Focus: king" for t in at.text)  # the focus stays
