"""Search, focus, colour and links with AppTest (issue 17): a focus cleared after "Focus a
match" stays cleared; the match list starts with the exact match; a sample gets the same default colour
however it is opened; after an upload the URL names it, and reopening that URL says the upload
is not held instead of showing another set; a settings file restores clusters, search, focus and selection."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 600


def _explore(query: dict | None = None, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "explore.py"), default_timeout=TIMEOUT)
    for k, v in state.items():
        at.session_state[k] = v
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def _focus(at: AppTest) -> str | None:
    f = at.session_state["focus"] if "focus" in at.session_state else None  # noqa: SIM401 (no .get)
    return f[1] if f else None


def test_clear_focus_after_focus_a_match_and_exact_match_first():
    at = _explore(reducer="pca")
    at.text_input(key="search").input("king").run()
    pick = at.selectbox(key="match_pick")
    shown = pick.options[1:4]  # formatted labels
    assert shown[0] == "king" and shown[1].startswith("king"), shown
    pick.select_index(1).run()
    assert not at.exception and _focus(at) == "king"
    assert at.query_params.get("focus") == "king"
    assert at.selectbox(key="match_pick").value is None  # the pick is spent: it cannot focus again
    at.session_state["focus"] = None  # what "Clear focus" does (its fragment-scoped rerun needs a browser)
    at.run()
    assert not at.exception and _focus(at) is None
    at.run()  # a later rerun keeps it cleared (the pick no longer re-focuses)
    assert _focus(at) is None and "focus" not in at.query_params


def test_same_default_colour_from_the_url_and_from_the_data_page():
    by_url = _explore({"sample": "digits", "reducer": "pca"})
    assert by_url.sidebar.selectbox(key="_w_color_by").value == "digit"
    # GloVe first (coloured by frequency_band), then digits chosen as on the Data page
    at = _explore(reducer="pca")
    assert at.sidebar.selectbox(key="_w_color_by").value == "frequency_band"
    at.session_state["dataset"] = {"kind": "sample", "key": "digits"}
    at.run()
    assert at.sidebar.selectbox(key="_w_color_by").value == "digit"


def test_an_upload_link_says_the_upload_is_not_held():
    at = _explore({"upload": "1a2b3c4d5e6f", "file": "glove_1k.csv"}, reducer="pca")
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert "glove_1k.csv" in text and "1a2b3c4d5e6f" in text and "does not hold" in text
    assert not any("GloVe" in m.value for m in at.markdown)  # no silent fallback to the sample


def test_upload_url_is_not_bare():
    import io

    from viz_app.ui import cache

    es = __import__("viz_app").load(io.BytesIO((ROOT / "sample_data" / "words.csv").read_bytes()), name="words.csv")
    key = cache.put_session_set(es, owner="url-test")
    at = _explore(
        **{cache.OWNER: "url-test"},
        dataset={"kind": "upload", "key": key, "name": "words.csv", "fingerprint": es.fingerprint},
        reducer="pca",
    )
    assert not at.exception
    assert at.query_params.get("upload") == es.fingerprint[:12] and at.query_params.get("file") == "words.csv"


def _settings_then_explore(payload: bytes, page: str) -> None:
    import runpy

    import streamlit as st

    from viz_app.ui import viewstate

    if "done" not in st.session_state:
        st.session_state["done"] = True
        st.session_state["reducer"] = "pca"
        viewstate.load_settings_file(payload, None)
    runpy.run_path(page)


def test_settings_restore_clusters_search_and_focus():
    from viz_app.data.samples import glove
    from viz_app.export.settings import settings_for
    from viz_app.reduce.project import project

    at = _explore(reducer="pca")
    at.text_input(key="search").input("queen").run()
    at.sidebar.radio(key="_w_cluster_method").set_value("kmeans").run()
    at.sidebar.slider(key="_w_cluster_k").set_value(6).run()
    at.selectbox(key="match_pick").select_index(1).run()
    assert not at.exception and _focus(at) == "queen"
    es = glove(10_000)
    view = {
        "clusters": at.session_state["clusters"],
        "search": at.session_state["search"],
        "search_regex": False,
        "focus": _focus(at),
        "selection": ["queen", "king", "prince"],
    }
    assert view["clusters"]["method"] == "kmeans" and view["clusters"]["k"] == 6
    proj = project(es, reducer="pca", n_components=2)
    s = settings_for(es, proj, dataset_ref={"kind": "sample", "key": "glove"}, color_by="cluster", view=view)
    restored = AppTest.from_function(
        _settings_then_explore,
        args=(json.dumps(s).encode(), str(ROOT / "pages" / "explore.py")),
        default_timeout=TIMEOUT,
    ).run()
    assert not restored.exception
    assert restored.sidebar.radio(key="_w_cluster_method").value == "kmeans"
    assert restored.sidebar.slider(key="_w_cluster_k").value == 6
    assert restored.text_input(key="search").value == "queen"
    assert _focus(restored) == "queen"
    assert restored.session_state["selection"] == (es.fingerprint, ("queen", "king", "prince"))


def test_a_sample_link_carries_search_k_and_clusters():
    at = _explore({"sample": "digits", "reducer": "pca", "q": "7", "nn": "5", "cluster": "kmeans:6:original"})
    assert not at.exception
    assert at.text_input(key="search").value == "7"
    assert at.sidebar.radio(key="_w_cluster_method").value == "kmeans"
    assert at.sidebar.slider(key="_w_cluster_k").value == 6
    assert at.slider(key="k").value == 5
    assert at.query_params.get("q") == "7" and at.query_params.get("cluster") == "kmeans:6:original"
    assert at.query_params.get("nn") == "5"


def test_a_sample_link_keeps_the_camera_and_reopens_it():
    from viz_app.data.samples import load_sample
    from viz_app.reduce import make_params
    from viz_app.ui.viewstate import camera_from_query, camera_query

    fp = load_sample("digits").fingerprint
    at = _explore({"sample": "digits", "reducer": "pca"})
    assert "cam" not in at.query_params  # the whole map: nothing to keep
    # what the page reports once the camera rests after a zoom (kept by the explorer, see keep_camera)
    describe = make_params("pca", n_samples=1797, n_components=2).describe()
    at.session_state["camera"] = (fp, (describe, {"target": [1.25, -3.5], "zoom": 2.75}))
    at.run()
    assert not at.exception and at.query_params.get("cam") == "1.25,-3.5,2.75"
    # the link opened in a new session: the map gets that camera, and the URL and settings keep it
    again = _explore(dict(at.query_params))
    assert not again.exception and again.query_params.get("cam") == "1.25,-3.5,2.75"
    assert again.session_state["camera"] == (fp, (describe, {"target": [1.25, -3.5], "zoom": 2.75}))
    # 3-D and bad values
    cam3 = {"target": [1.0, 2.0, 3.0], "zoom": -1.5, "rotationOrbit": 75.0, "rotationX": -30.0}
    assert camera_from_query(camera_query(cam3), 3) == cam3
    for bad in ("1,2", "1,2,nan", "1,2,99", "a,b,c", "1,2,3,4,5,6"):
        assert camera_from_query(bad, 2) is None, bad
