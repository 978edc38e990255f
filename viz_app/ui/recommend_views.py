"""Recommendations page blocks: pick a user or liked films, the live map of the films (coloured by
main genre) with the user's vector, their rated films and their top 10 on it, "more like this" on
a click, the top 10 and why, the evaluation, and the one-hot vs learned comparison. The core is
:mod:`viz_app.explore.recommend`; what the map draws is :mod:`viz_app.explore.recommend_map`."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from viz_app.data.model import EmbeddingSet
from viz_app.data.ratings import LIKED, load_movielens
from viz_app.embed.ratings import RatingParams
from viz_app.errors import VizAppError
from viz_app.explore.recommend import Recommender, train_recommender
from viz_app.explore.recommend_eval import one_hot_vs_learned
from viz_app.explore.recommend_map import RecommendationMap, recommendation_map
from viz_app.reduce import Projection, make_params
from viz_app.reduce.project import DEFAULT_VIEW
from viz_app.reduce.registry import reducer_names
from viz_app.ui import cache, safe, state, views
from viz_app.ui.map import Highlight, Label, MapView, Marker, live_map, map_data, map_event

MODES = {"user": "A MovieLens user", "profile": "Films I like"}
METHOD_NAMES = {"learned": "learned user vector", "average": "average of the films they rated ≥ 4"}
MAX_LIKED = 50
MAP_KEY = "rec_map"
MAP_SAMPLE = "movielens"
TOOLTIP = ["year", "genres", "n_ratings", "mean_rating"]
RECOMMENDED_COLOR = "#d62728"
RATED_COLOR = "#22222288"


class _Holder:
    """The server's one MovieLens recommender (a few MB) and its one-hot comparison, computed once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[Any, Any] = {}


@st.cache_resource
def _holder() -> _Holder:
    return _Holder()


def recommender() -> Recommender | None:
    """The MovieLens recommender at the default hyperparameters: trained once per server (with a
    progress bar; read from the disk cache after ``python -m viz_app.warmup``). None on error."""
    holder, key = _holder(), ("recommender", RatingParams())
    if key in holder.values:
        return holder.values[key]
    slot = st.empty()
    try:
        with holder.lock, slot.container():
            if key not in holder.values:
                bar = st.progress(0.0, text="Learning movie and user vectors from 100,004 MovieLens ratings")
                holder.values[key] = train_recommender(
                    load_movielens(), progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m)
                )
    except VizAppError as exc:
        safe.error(exc)
        return None
    finally:
        slot.empty()
    return holder.values[key]


@dataclass(frozen=True)
class Target:
    """Whom to recommend for: a user (with a method) or a profile of liked film ids."""

    user_id: str | None = None
    method: str = "learned"
    liked: tuple[str, ...] = ()


def pick_target(rec: Recommender) -> Target | None:
    """A user (and the vector to score with) or some liked films; None until something is picked."""
    mode = st.radio("Recommend for", list(MODES), format_func=MODES.get, key=state.REC_MODE, horizontal=True)
    if mode == "user":
        n = dict(zip(rec.users.ids, rec.users.metadata["n_ratings"]))
        c1, c2 = st.columns(2)
        user = c1.selectbox(
            "User", list(rec.users.ids), key=state.REC_USER, format_func=lambda u: f"user {u} · {n[u]:,} ratings"
        )
        method = c2.radio("Score with", list(METHOD_NAMES), format_func=METHOD_NAMES.get, key=state.REC_METHOD)
        return Target(user_id=user, method=method)
    order = rec.items.metadata["n_ratings"].sort_values(ascending=False, kind="stable").index
    labels = dict(zip(rec.items.ids, rec.items.labels))
    liked = st.multiselect(
        "Films you like (most rated first)",
        list(rec.items.ids[order]),
        key=state.REC_LIKED,
        format_func=labels.get,
        max_selections=MAX_LIKED,
        placeholder="Type a title, e.g. Toy Story",
    )
    if not liked:
        st.info("Pick a few films you like: your profile is the mean of their vectors.")
        return None
    return Target(liked=tuple(liked))


def recommendation_table(rec: Recommender, target: Target, *, k: int = 10) -> pd.DataFrame:
    """``rank``, ``title``, ``score`` and ``because`` (the liked films nearest to each, with cosine)."""
    if target.user_id is not None:
        recs = rec.recommend(target.user_id, k=k, method=target.method)
        liked = rec.items.ids[rec.liked_rows(target.user_id)]
    else:
        recs = rec.recommend_for_items(target.liked, k=k)
        liked = list(target.liked)
    why = rec.because(liked, recs["id"], n=3)
    because = [
        ", ".join(f"{t} ({s:.2f})" for t, s in zip(b, sims)) for b, sims in zip(why["because"], why["similarity"])
    ]
    return pd.DataFrame(
        {
            "rank": range(1, len(recs) + 1),
            "title": recs["title"],
            "score": recs["score"].round(3),
            "because you liked": because,
        }
    )


def recommendations(rec: Recommender, target: Target) -> None:
    """The top 10 with their scores and why."""
    st.subheader("Top 10")
    try:
        table = recommendation_table(rec, target)
    except VizAppError as exc:
        safe.error(exc)
        return
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(
        "Score: the dot product of the vector with each film's vector (films already rated are left out). "
        f"'Because you liked': the films rated ≥ {LIKED:g} (or picked) most cosine-similar to it."
    )


def rated(rec: Recommender, target: Target) -> None:
    """The films the user rated (or the films picked)."""
    if target.user_id is None:
        st.subheader("Your films")
        rows = rec.items.index_of(list(target.liked))
        st.dataframe(pd.DataFrame({"title": rec.items.labels[rows]}), hide_index=True, width="stretch")
        return
    table = rec.rated(target.user_id)
    st.subheader(f"Rated by user {target.user_id} ({len(table):,})")
    table = table.assign(date=table["date"].dt.strftime("%Y-%m-%d"))
    st.dataframe(table.drop(columns=["id"]), hide_index=True, width="stretch", height=300)


def evaluation(rec: Recommender) -> None:
    """RMSE, recall@10 and NDCG@10 of the three methods on held-out ratings."""
    st.subheader("How good are they? Held-out evaluation")
    bar = st.progress(0.0, text="Fitting the two evaluation models (once per server)")
    try:
        table = rec.evaluate(progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m))
    except VizAppError as exc:
        safe.error(exc)
        return
    finally:
        bar.empty()
    shown = table.round(4).assign(rmse=[f"{x:.3f}" if x == x else "— (ranks only)" for x in table["rmse"]])
    st.dataframe(shown, hide_index=True, width="stretch")
    st.caption(
        "RMSE (stars): the model fitted on a random 90% of the ratings, on the other 10%. recall@10 and "
        "NDCG@10: the model fitted on each user's earliest 80%, asked for 10 films; relevant = the films "
        "of the latest 20% rated ≥ 4. 'average' scores with the mean of the films a user liked; "
        "'popularity' recommends the most-rated films."
    )


#: Films compared in the one-hot panel: rated by at least this many users (the map's films, and
#: the better-learned ones: a vector backed by few ratings stays close to the prior).
ONE_HOT_MIN_RATINGS = (20, 50)


def one_hot_panel(rec: Recommender) -> None:
    """One-hot vs learned vectors: how often the 10 nearest films share the main genre, over the
    films rated by >= 20 and by >= 50 users (:func:`viz_app.explore.recommend_eval.one_hot_vs_learned`)."""
    st.subheader("One-hot vs learned")
    holder = _holder()
    rows = []
    for m in ONE_HOT_MIN_RATINGS:
        key = ("one-hot", rec.items.fingerprint, m)
        if key not in holder.values:
            with st.spinner(f"Comparing the 10 nearest films of the films rated by at least {m} users"):
                holder.values[key] = one_hot_vs_learned(rec.items, min_ratings=m)
        t = holder.values[key].set_index("vectors")
        one_hot, learned = t.loc["one-hot", "agreement"], t.loc["learned", "agreement"]
        rows.append((m, t, one_hot, learned, learned / max(one_hot, 1e-12)))
    m0, t0, one_hot0, learned0, ratio0 = rows[0]
    c1, c2 = st.columns(2)
    c1.metric("One-hot vectors", f"{one_hot0:.1%}", help="cosine 0 between every pair")
    c2.metric(f"Learned vectors ({rec.items.n_features}-d)", f"{learned0:.1%}", f"{ratio0:.1f}× one-hot")
    table = pd.DataFrame(
        [
            {
                "films": f"rated by ≥ {m} users ({int(t.loc['learned', 'items']):,})",
                "one-hot": f"{oh:.1%}",
                "learned": f"{le:.1%}",
                "learned / one-hot": f"{r:.2f}×",
                "chance": f"{t.loc['one-hot', 'chance']:.1%}",
            }
            for m, t, oh, le, r in rows
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(
        f"Share of the 10 nearest films (cosine) that have a film's main genre. One-hot vectors are all at "
        f"cosine 0 from each other, so their nearest films are a random draw and share the genre by chance. "
        f"The learned vectors, fitted only to ratings, put films of a genre together {ratio0:.1f} times as often "
        f"over the {int(t0.loc['learned', 'items']):,} films rated by at least {m0} users (the map's films), and "
        f"{rows[-1][4]:.1f} times as often over the films rated by at least {rows[-1][0]} users, whose vectors "
        f"rest on more ratings."
    )


def movie_map() -> tuple[EmbeddingSet, Projection] | None:
    """The bundled films (rated by >= 20 users) and their 2-D map with the reducer chosen on the
    Explore page (default UMAP), its default parameters and seed 0, with the fitted reducer kept
    in memory so a user's vector is placed by its own transform (a map read from the disk cache is
    fitted again once: the same seed, the same coordinates)."""
    es = views.load_dataset({"kind": "sample", "key": MAP_SAMPLE})
    if es is None:
        return None
    reducer = state.get(state.REDUCER)
    try:
        params = make_params(
            reducer if reducer in reducer_names() else DEFAULT_VIEW.reducer, n_samples=es.n_samples, n_components=2
        )
    except VizAppError as exc:
        safe.error(exc)
        return None
    proj = views.compute_projection(es, params)
    if proj is not None and proj.model is None:
        with st.spinner("Fitting the map's reducer again, to place the user's vector with its own transform"):
            proj = cache.refit(es, params, only_if_same=True)
    return None if proj is None else (es, proj)


def overlay(rec: Recommender, es: EmbeddingSet, proj: Projection, target: Target) -> RecommendationMap | None:
    """What the map draws for ``target`` (:func:`~viz_app.explore.recommend_map.recommendation_map`)."""
    try:
        if target.user_id is not None:
            return recommendation_map(rec, es, proj, user_id=target.user_id, method=target.method)
        return recommendation_map(rec, es, proj, liked_ids=list(target.liked))
    except VizAppError as exc:
        safe.error(exc)
        return None


def map_view(rm: RecommendationMap | None, focus: int | None) -> MapView:
    """Rated films ringed in dark grey, the top 10 filled red and labelled with their rank, the
    user's vector a star; the clicked film and its 10 nearest films (cosine) as the focus."""
    if rm is None:
        return MapView(focus=focus, k=10, point_size=5.0, auto_labels=20)
    recs = rm.recommended[rm.recommended["row"] >= 0]
    return MapView(
        focus=focus,
        k=10,
        highlights=[
            Highlight("rated", rm.rated["row"].to_numpy(), color=RATED_COLOR, style="ring", size=1.1),
            Highlight("recommended", rm.highlight_rows, color=RECOMMENDED_COLOR, style="halo", size=2.0),
        ],
        labels=[
            Label(text=t, row=int(r), priority=850 - i) for i, (t, r) in enumerate(zip(recs["label"], recs["row"]))
        ],
        markers=[
            Marker(rm.user_position, shape="star", color=RECOMMENDED_COLOR, size=13, label=rm.who),
        ],
        point_size=5.0,
    )


def more_like_this(rec: Recommender, es: EmbeddingSet, row: int) -> None:
    """The 10 films most cosine-similar to the clicked one (its neighbours on the map, listed)."""
    film = es.ids[row]
    st.markdown(f"**More like {safe.md(es.labels[row])}** ({es.metadata.at[row, 'year']}, "
                f"{safe.md(es.metadata.at[row, 'genres'])})")  # fmt: skip
    try:
        table = rec.similar_items(film, k=10)
    except VizAppError as exc:
        safe.error(exc)
        return
    st.dataframe(table.drop(columns=["id"], errors="ignore"), hide_index=True, width="stretch", key="rec_more")


@st.fragment
def map_panel(rec: Recommender, target: Target | None) -> None:
    """The live map of the films with the target's overlay; a click lists "more like this"."""
    found = movie_map()
    if found is None:
        return
    es, proj = found
    rm = overlay(rec, es, proj, target) if target is not None else None
    md = map_data(es, proj, color_by="main_genre", tooltip=TOOLTIP, k=10)
    focus = map_event(md, key=MAP_KEY).focus_row
    st.caption(
        f"{es.n_samples:,} films rated by at least 20 users, {proj.params.describe()} of their learned 32-d "
        "vectors, coloured by main genre. "
        + (
            f"Star: {rm.who}'s vector placed on the map ({rm.placement}"
            f"{', approximate' if rm.approximate else ''}); grey rings: the films they rated; red: their top 10 "
            "(numbered). "
            if rm is not None
            else ""
        )
        + "Click a film for more like it."
    )
    ev = live_map(md, map_view(rm, focus), key=MAP_KEY, height=560)
    if ev.focus_row is not None:
        more_like_this(rec, es, ev.focus_row)
