"""Data: pick a bundled sample or upload a file; preview and column choices."""

import streamlit as st

from viz_app.data.io import FORMATS
from viz_app.ui import data_views, roles_views, router, sharing, views

router.ensure_router()
st.title("Data")
left, right = st.columns(2, gap="large")
with left:
    data_views.sample_picker()
with right:
    data_views.uploader()
    data_views.settings_loader(lambda: (views.current_dataset() or (None,))[0])
    with st.expander("Accepted formats"):
        for f in FORMATS:
            st.markdown(f"**{f.title}** ({f.extensions}): {f.description}")
            st.code(f.example, language=None)
data_views.show_message()
roles_views.role_editor(data_views.accept_upload)
loaded = views.current_dataset()
if loaded is not None:
    data_views.column_choices(loaded[0])
    sharing.share_panel(loaded[0])
    data_views.preview(views.current_dataset()[0])
    st.page_link("pages/explore.py", label="Open the map", icon=":material/scatter_plot:")
