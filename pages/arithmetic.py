"""Arithmetic: vector expressions, the analogy benchmark and semantic axes on the current dataset."""

import streamlit as st

from viz_app.ui import arithmetic_views, router, safe, views

router.ensure_router()
st.title("Arithmetic")
loaded = views.current_dataset()
if loaded is not None:
    es = loaded[0]
    st.markdown(f"**{safe.md(es.name)}** · {es.n_samples:,} points · {es.n_features} dims")
    arithmetic_views.expression_box(es)
    arithmetic_views.semantic_axes(es)
    arithmetic_views.analogy_benchmark(es)
