"""Explore: the map of the current dataset."""

import streamlit as st

from viz_app.ui import router, controls, views

router.ensure_router()
st.title("Explore")
loaded = views.current_dataset()
if loaded is not None:
    es, default_color = loaded
    with st.sidebar:
        params = controls.projection_controls(es)
        color_by, size, opacity = controls.display_controls(es, default_color)
    proj = views.compute_projection(es, params) if params is not None else None
    if proj is not None:
        st.markdown(views.describe(es, proj))
        views.map_view(es, proj, color_by, size, opacity)
