"""Explore: the map of the current dataset; click, search, select."""

import streamlit as st

from viz_app.ui import controls, explore_views, router, views, viewstate

router.ensure_router()
st.title("Explore")
viewstate.apply_query_params()
loaded = views.current_dataset()
if loaded is not None:
    es, default_color = loaded
    views.reset_button()
    with st.sidebar:
        params = controls.projection_controls(es)
        color_by, size, opacity = controls.display_controls(es, default_color)
    proj = views.compute_projection(es, params) if params is not None else None
    if proj is not None:
        st.markdown(views.describe(es, proj))
        color = es.metadata[color_by] if color_by else None
        explore_views.explorer(es, proj, color, color_by, size, opacity, params=params)
