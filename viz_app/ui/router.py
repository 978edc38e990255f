"""The app's explicit router (``st.navigation``), used by ``streamlit_app.py`` and the pages.

Streamlit treats a ``pages/`` folder as the old automatic page discovery until
``st.navigation`` first runs in the server process. If a visitor's very first request is a
sub-page URL (``/data``), Streamlit would run that page alone: no router, no wide layout,
file-name navigation. Each page calls :func:`ensure_router` first; in that case it runs the
router itself (which shows the same page through it) and stops.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from viz_app.reduce.project import DEFAULT_VIEW
from viz_app.ui.cache import session_owner, start_warm_up

#: The app's favicon (drawn for this project, shipped in the package).
FAVICON = Path(__file__).resolve().parent / "assets" / "favicon.png"


def run_app() -> None:
    """Page config, the one-time warm-up, and the navigation between the pages."""
    # a local image: a ":material/...:" page icon makes the browser fetch the favicon from
    # fonts.gstatic.com on every page load (seen in a request log); nothing may leave the server
    st.set_page_config(page_title="Embedding Lens", page_icon=str(FAVICON), layout="wide")
    start_warm_up(DEFAULT_VIEW)
    # every session is known to the closed-session sweeper from its first run, so what Streamlit
    # keeps for it (uploaded files, also of a failed upload) is freed when it ends
    session_owner()
    nav = st.navigation(
        [
            st.Page("pages/explore.py", title="Explore", icon=":material/scatter_plot:", default=True),
            st.Page("pages/data.py", title="Data", icon=":material/folder_open:"),
            st.Page("pages/arithmetic.py", title="Arithmetic", icon=":material/calculate:"),
            st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
            st.Page("pages/recommendations.py", title="Recommendations", icon=":material/movie:"),
        ]
    )
    nav.run()


def ensure_router() -> None:
    """If this page runs without the router (see module docstring), run it through the router."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        run_app()
        st.stop()
