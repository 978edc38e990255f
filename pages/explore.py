"""Explore: the map of the current dataset; click, search, select, cluster."""

import streamlit as st

from viz_app.ui import controls, explore_views, router, safe, trust_views, views, viewstate

router.ensure_router()
st.title("Explore")
viewstate.apply_query_params()
loaded = views.current_dataset()
if loaded is not None:
    es, default_color = loaded
    views.reset_button()
    with st.sidebar:
        params = controls.projection_controls(es)
        clus = controls.cluster_controls(es)
        color_by, size, opacity = controls.display_controls(
            es,
            "cluster" if clus else default_color,
            extra=(["cluster"] if clus else []) + trust_views.color_options(es),
        )
        tooltip = controls.tooltip_controls(es)
    if params is None:
        safe.error(st.session_state.get("_param_error") or "These settings cannot project this dataset.")
    proj = views.compute_projection(es, params) if params is not None else None
    if proj is not None:
        st.markdown(views.describe(es, proj))
        trust_views.trust_caption(es, proj)
        found = views.compute_clusters(es, proj, clus) if clus else None
        clustering, table = found if found else (None, None)
        if color_by == "cluster" and clustering is not None:
            color = views.cluster_colors(clustering, table)
        elif color_by == trust_views.PRESERVED:
            color = trust_views.preserved_colors(es, proj)
        else:
            color = es.metadata[color_by] if color_by in es.metadata.columns else None
        explore_views.explorer(
            es,
            proj,
            color,
            color_by if color is not None else None,
            size,
            opacity,
            params=params,
            annotations=views.cluster_annotations(proj, clustering, table) if clustering else None,
            clusters=clustering.labels_ if clustering else None,
            cluster_table=table,
            tooltip=tooltip,
        )
        trust_views.sweep_panel(es, proj.params)
