"""AppTest of the Recommendations page, opened through the entry point (st.navigation).

The page's recommender is trained once per server, or read from the on-disk model cache that
``python -m viz_app.warmup`` fills (tests/unit/test_recommend.py measures a fresh fit).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from viz_app.data.ratings import index_ratings, item_table, load_movielens

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 600


@pytest.fixture(autouse=True)
def _cwd(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="module")
def movies():
    df = load_movielens()
    return df, item_table(df, index_ratings(df)).set_index("id")


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.session_state["reducer"] = "pca"
    at.run()
    return at.switch_page("pages/recommendations.py").run()


def _titles_rated_by(movies, user: int) -> set[str]:
    df, items = movies
    return set(items.loc[df.loc[df["userId"] == user, "movieId"].astype(str), "label"])


def test_picking_a_user_lists_10_films_none_of_which_they_rated(movies):
    at = _page()
    assert not at.exception and at.title[0].value == "Recommendations"
    at.selectbox(key="rec_user").set_value("15").run()
    assert not at.exception
    top, rated = at.dataframe[0].value, at.dataframe[1].value
    assert list(top.columns) == ["rank", "title", "score", "because you liked"]
    assert len(top) == 10 and list(top["rank"]) == list(range(1, 11))
    assert not set(top["title"]) & _titles_rated_by(movies, 15)
    assert len(rated) == 1_700 and set(rated["title"]) == _titles_rated_by(movies, 15)
    assert top["score"].is_monotonic_decreasing and all(top["because you liked"].str.len() > 0)
    at.radio(key="rec_method").set_value("average").run()
    again = at.dataframe[0].value
    assert len(again) == 10 and not set(again["title"]) & _titles_rated_by(movies, 15)


def test_liked_titles_build_a_profile(movies):
    at = _page()
    at.radio(key="rec_mode").set_value("profile").run()
    assert any("Pick a few films" in i.value for i in at.info)
    at.multiselect(key="rec_liked").set_value(["1", "3114"]).run()  # Toy Story, Toy Story 2
    assert not at.exception
    top = at.dataframe[0].value
    assert len(top) == 10 and not {"Toy Story (1995)", "Toy Story 2 (1999)"} & set(top["title"])
    assert "Finding Nemo (2003)" in set(top["title"])
    assert set(at.dataframe[1].value["title"]) == {"Toy Story (1995)", "Toy Story 2 (1999)"}


def test_evaluation_table_and_one_hot_panel():
    at = _page()
    table = at.dataframe[2].value.set_index("method")
    assert list(table.index) == ["learned", "average", "popularity"]
    assert float(table.loc["learned", "rmse"]) <= 0.90 and table.loc["popularity", "rmse"] == "— (ranks only)"
    assert table.loc["learned", "recall@10"] > table.loc["popularity", "recall@10"]
    one_hot, learned = (float(m.value.rstrip("%")) for m in at.metric)
    assert learned >= 1.75 * one_hot  # films rated by >= 20 users: 14.9% vs 8.3%
    panel = next(d.value for d in at.dataframe if "learned / one-hot" in d.value.columns)
    assert list(panel["films"]) == ["rated by ≥ 20 users (1,303)", "rated by ≥ 50 users (453)"]
    ratios = [float(r.rstrip("×")) for r in panel["learned / one-hot"]]
    assert ratios[0] >= 1.75 and ratios[1] >= 2.0, ratios  # 1.80 and 2.06


def test_the_movielens_sample_loads_on_the_data_page():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.session_state["reducer"] = "pca"
    at.run()
    at = at.switch_page("pages/data.py").run()
    at.radio[0].set_value("movielens").run()
    at.button[0].click().run()
    assert not at.exception and at.session_state["dataset"]["key"] == "movielens"
    preview = at.dataframe[0].value
    assert len(preview) == 500 and preview["label"].iloc[0] == "Toy Story (1995)"
    assert {"main_genre", "n_ratings", "mean_rating"} <= set(preview.columns)
    assert any("1,303 points" in m.value and "32 dims" in m.value for m in at.markdown)


def test_a_click_on_the_movie_map_lists_more_like_this():
    from viz_app.data.samples import load_sample

    es = load_sample("movielens")
    at = _page()
    at.selectbox(key="rec_user").set_value("15").run()
    assert not at.exception, at.exception
    assert any("Star: user 15's vector placed on the map" in c.value for c in at.caption)
    row = int(list(es.labels).index("Toy Story (1995)"))
    at.session_state["rec_map"] = {"focus": {"row": row, "seq": 1}}  # what the map's JS sends on a click
    at.run()
    assert not at.exception, at.exception
    assert any(m.value.replace("\\", "").startswith("**More like Toy Story (1995)**") for m in at.markdown)
    more = next(d.value for d in at.dataframe if list(d.value.columns) == ["title", "similarity"])
    assert len(more) == 10 and "Toy Story 2 (1999)" in set(more["title"]) and more["similarity"].is_monotonic_decreasing


def test_the_map_view_marks_rated_films_recommendations_and_the_user():
    from viz_app.data.ratings import load_movielens
    from viz_app.data.samples import load_sample
    from viz_app.explore.recommend import train_recommender
    from viz_app.explore.recommend_map import recommendation_map
    from viz_app.reduce import project
    from viz_app.ui.recommend_views import RATED_COLOR, RECOMMENDED_COLOR, map_view

    rec, es = train_recommender(load_movielens()), load_sample("movielens")
    proj = project(es, reducer="pca")
    rm = recommendation_map(rec, es, proj, user_id="15")
    view = map_view(rm, focus=None)
    sets = {h.name: h for h in view.highlights}
    assert list(sets["recommended"].rows) == list(rm.highlight_rows) and sets["recommended"].color == RECOMMENDED_COLOR
    assert set(sets["rated"].rows) == set(rm.rated["row"]) and sets["rated"].color == RATED_COLOR
    assert not set(sets["recommended"].rows) & set(sets["rated"].rows)  # never a film they rated
    assert [lab.text for lab in view.labels] == [
        t for t, r in zip(rm.recommended["label"], rm.recommended["row"]) if r >= 0
    ]
    assert view.labels[0].text.startswith("1. ")
    (star,) = view.markers
    assert star.shape == "star" and star.label == "user 15" and list(star.position) == list(rm.user_position)
