"""Embedding Lens: entry point and router (``streamlit run streamlit_app.py``)."""

import streamlit as st

from viz_app.ui.cache import start_warm_up
from viz_app.warmup import DEFAULT_VIEW

st.set_page_config(page_title="Embedding Lens", page_icon=":material/scatter_plot:", layout="wide")
start_warm_up(DEFAULT_VIEW)
nav = st.navigation(
    [
        st.Page("pages/explore.py", title="Explore", icon=":material/scatter_plot:", default=True),
        st.Page("pages/data.py", title="Data", icon=":material/folder_open:"),
    ]
)
nav.run()
