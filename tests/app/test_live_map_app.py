"""live_map / map_event under AppTest (no browser): the component mounts, the map's files land
in the store, and a click or a selection set as the component's state comes back as a MapEvent
(once as new, then as kept). The real clicks are in tests/e2e/test_live_map.py."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _page():
    import streamlit as st

    from viz_app.data.samples import digits
    from viz_app.ui.map import Highlight, MapView, live_map, map_data, map_event, store_stats

    es = digits()
    md = map_data(es, es.vectors[:, :2], color_by="digit", k=5, image_shape=(8, 8))
    before = map_event(md, key="m")
    ev = live_map(md, MapView(focus=before.focus_row, highlights=[Highlight("h", [1, 2])]), key="m", height=400)
    sel = None if ev.selection_rows is None else ev.selection_rows.tolist()
    st.write(f"focus={ev.focus_id} clicked={ev.clicked} before={before.clicked} sel={sel} selected={ev.selected}")
    st.write(f"ids={None if ev.selection_ids is None else list(ev.selection_ids)} how={ev.selection_how}")
    st.write(f"stored={store_stats()['entries'] >= 4}")


def test_live_map_mounts_and_reports_clicks_and_selections():
    at = AppTest.from_function(_page, default_timeout=120).run()
    assert not at.exception
    assert [m.value for m in at.markdown] == [
        "focus=None clicked=False before=False sel=None selected=False",
        "ids=None how=",
        "stored=True",
    ]
    # what the page's JS sends: the focus row and a packed selection (rows 1 and 2), with sequences
    at.session_state["m"] = {
        "focus": {"row": 3, "seq": 1},
        "selection": {"n": 2, "packed": "AQAAAAIAAAA=", "how": "lasso", "seq": 2},
    }
    at.run()
    assert not at.exception
    assert at.markdown[0].value == "focus=3 clicked=True before=True sel=[1, 2] selected=True"
    assert at.markdown[1].value == "ids=['1', '2'] how=lasso"
    at.run()  # another rerun: the same state, no longer new
    assert at.markdown[0].value == "focus=3 clicked=False before=False sel=[1, 2] selected=False"
