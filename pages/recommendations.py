"""Recommendations: MovieLens users and films as learned vectors; top 10 for a user or liked films."""

import streamlit as st

from viz_app.ui import recommend_views, router

router.ensure_router()
st.title("Recommendations")
st.caption(
    "Movie and user vectors learned by predicting 100,004 MovieLens ratings (GroupLens; research use). "
    "The movies are also a sample on the Data page: 'MovieLens (learned item embeddings)'."
)
rec = recommend_views.recommender()
if rec is not None:
    target = recommend_views.pick_target(rec)
    recommend_views.map_panel(rec, target)
    if target is not None:
        recommend_views.recommendations(rec, target)
        recommend_views.rated(rec, target)
    recommend_views.evaluation(rec)
    recommend_views.one_hot_panel(rec)
