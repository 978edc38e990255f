"""Embedding Lens: entry point (``streamlit run streamlit_app.py``); see viz_app/ui/router.py.

``streamlit run`` finds the ``st.App`` below and serves it: Streamlit plus the live map's own
routes (its JavaScript bundle and data files, see viz_app/ui/map/server.py). Each session then
runs this file as ``__main__``, which draws the pages.
"""

import streamlit as st

from viz_app.ui.map import map_routes
from viz_app.ui.router import run_app

if __name__ == "__main__":
    run_app()
else:  # imported by `streamlit run` (or an ASGI server such as uvicorn) to get the app
    app = st.App(__file__, routes=map_routes())
