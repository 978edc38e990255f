"""AppTest of the Compare page: bundled pairs, the current set against another, focusing an item.

AppTest cannot click a dataframe row (nor upload a file): focusing goes through the "Focus an
item" select box, which a row click sets (``compare_views.pick_row``, tested with a stand-in
selection state below).
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 600


@pytest.fixture(autouse=True)
def _cwd(monkeypatch):
    monkeypatch.chdir(ROOT)


def _plain(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def _page(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "compare.py"), default_timeout=TIMEOUT)
    state.setdefault("cmp_reducer", "pca")  # PCA maps: seconds, not minutes, on 2 shared cores
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _focus_box(at: AppTest):
    return next(s for s in at.selectbox if s.label.startswith("Focus an item"))


def test_glove_vs_minilm_pair_shows_figures_lists_and_both_neighbour_sets(glove_10k):
    from viz_app.explore.neighbors import most_similar

    at = _page()
    assert not at.exception, at.exception
    m = _metrics(at)
    assert set(m) >= {"Mean Jaccard@10", "Linear CKA", "Procrustes disparity", "Matched items", "Unmatched items"}
    assert 0.02 < float(m["Mean Jaccard@10"]) < 0.6 and 0.05 < float(m["Linear CKA"]) < 0.95
    assert m["Procrustes disparity"] == "n/a" and m["Matched items"] == "10,000" and m["Unmatched items"] == "0"
    changed, stable = at.dataframe[0].value, at.dataframe[1].value
    assert len(changed) == len(stable) == 15 and list(changed.columns) == ["label", "jaccard", "n_shared"]
    assert changed["jaccard"].max() <= stable["jaccard"].min()
    # focus a word: both neighbour lists, shared ones ticked on both sides
    box = _focus_box(at)
    king = list(glove_10k.labels).index("king")
    box.set_value(king).run()
    assert not at.exception
    left, right = at.dataframe[2].value, at.dataframe[3].value
    assert list(left["label"]) == list(most_similar(glove_10k, "king", k=10)["label"])
    assert len(right) == 10 and "king" not in set(right["label"])
    assert left["shared"].sum() == right["shared"].sum()
    assert set(left.loc[left.shared, "label"]) == set(right.loc[right.shared, "label"])
    assert "king" in _plain(at.markdown[-1].value) or any("**king**" in _plain(x.value) for x in at.markdown)


def test_news_pair_by_k_and_the_item_table():
    at = _page(cmp_pair="news-minilm-vs-lsa", cmp_k=5)
    assert not at.exception, at.exception
    m = _metrics(at)
    assert m["Matched items"] == "550" and "Mean Jaccard@5" in m
    assert 0.05 < float(m["Mean Jaccard@5"]) < 0.8
    table = at.dataframe[-1].value
    assert len(table) == 550 and {"jaccard", "neighbors_a", "neighbors_b"} <= set(table.columns)
    assert table["jaccard"].between(0, 1).all()


def test_current_dataset_against_a_set_opened_in_the_session():
    from viz_app.data.samples import glove
    from viz_app.ui import cache

    words = glove(600)
    part = words.subset(np.arange(100, 600), name="=words 100-599")
    key = cache.put_session_set(part, owner="compare-test")
    at = _page(
        **{cache.OWNER: "compare-test"},
        cmp_source="current",
        dataset={"kind": "sample", "key": "glove"},
        session_sets=[{"kind": "upload", "key": key, "name": part.name}],
        cmp_second=f"session:upload:{key}",
    )
    assert not at.exception, at.exception
    m = _metrics(at)
    assert m["Matched items"] == "500" and m["Unmatched items"] == "9,500"
    assert m["Mean Jaccard@10"] == "1.000"  # the same vectors: neighbours among the 500 matched agree
    assert any("=words 100-599" in _plain(c.value) for c in at.caption)
    unmatched = at.dataframe[0].value  # in the "without a partner" expander
    assert set(unmatched["side"]) == {"a"} and "the" in set(unmatched["label"])


def _click(at: AppTest, key: str, row: int, seq: int) -> None:
    """What the live map's JS sends on a click: its component state (see test_live_map_app.py)."""
    at.session_state[key] = {"focus": {"row": row, "seq": seq}}
    at.run()
    assert not at.exception, at.exception


def test_a_click_in_either_map_focuses_the_word_in_both_with_both_neighbour_lists(glove_10k):
    from viz_app.data.samples import load_sample
    from viz_app.explore.neighbors import most_similar

    at = _page()
    assert not at.exception, at.exception
    assert "B aligned to A" in " ".join(c.value for c in at.caption)
    words = list(glove_10k.labels)
    _click(at, "cmp_map_a", words.index("king"), 1)  # GloVe (A) and MiniLM (B) share row order
    assert _focus_box(at).value == words.index("king")
    left, right = at.dataframe[2].value, at.dataframe[3].value
    assert list(left["label"]) == list(most_similar(glove_10k, "king", k=10)["label"])
    minilm = load_sample("glove-minilm")
    assert list(right["label"]) == list(most_similar(minilm, "king", k=10)["label"])
    _click(at, "cmp_map_b", words.index("france"), 1)  # a click in B focuses the same word
    assert _focus_box(at).value == words.index("france")
    assert list(at.dataframe[3].value["label"]) == list(most_similar(minilm, "france", k=10)["label"])
    # a lasso in A (rows 0..99) selects the same words in B: the page reports them
    import base64

    rows = np.arange(100, dtype="<u4")
    packed = base64.b64encode(rows.tobytes()).decode()
    at.session_state["cmp_map_a"] = {"selection": {"n": 100, "packed": packed, "how": "lasso", "seq": 3}}
    at.run()
    assert not at.exception, at.exception
    line = next(_plain(m.value) for m in at.markdown if m.value.startswith("Selected in A"))
    assert line.startswith("Selected in A: 100 items, 100 with a partner; their mean Jaccard@10 ")


def test_a_click_on_an_item_without_a_partner_says_so():
    from viz_app.data.samples import glove
    from viz_app.ui import cache

    part = glove(600).subset(np.arange(100, 600), name="words 100-599")
    key = cache.put_session_set(part, owner="compare-click-test")  # uploads are per session
    at = _page(
        **{cache.OWNER: "compare-click-test"},
        cmp_source="current",
        dataset={"kind": "sample", "key": "glove"},
        session_sets=[{"kind": "upload", "key": key, "name": part.name}],
        cmp_second=f"session:upload:{key}",
    )
    assert not at.exception, at.exception
    before = _focus_box(at).value
    _click(at, "cmp_map_a", 0, 1)  # "the": row 0 of GloVe, not among words 100-599
    assert any(i.value == "the has no partner in B: not compared." for i in at.info)
    assert _focus_box(at).value == before
    _click(at, "cmp_map_a", 150, 2)  # matched: focused, the note gone
    assert _focus_box(at).value == 50 and not at.info


def test_row_click_callback_sets_the_focus(monkeypatch):
    from viz_app.ui import compare_views

    fake: dict = {"list": SimpleNamespace(selection=SimpleNamespace(rows=[2]))}
    monkeypatch.setattr(compare_views.st, "session_state", fake)
    compare_views.pick_row("list", [40, 41, 42, 43], "focus")
    assert fake["focus"] == 42
    fake["list"] = SimpleNamespace(selection=SimpleNamespace(rows=[]))  # a click that deselects
    compare_views.pick_row("list", [40, 41, 42, 43], "focus")
    assert fake["focus"] == 42


def test_compare_page_is_in_the_router():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.session_state["reducer"] = "pca"
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception and at.title[0].value == "Compare"
