"""Keep the app on its explicit router (``st.navigation`` in ``streamlit_app.py``).

Streamlit treats a ``pages/`` folder as the old automatic page discovery until
``st.navigation`` first runs in the server process. If a visitor's very first request is a
sub-page URL (``/data``), Streamlit would run that page alone: no router, no wide layout,
file-name navigation. Each page calls :func:`ensure_router` first; in that case it switches
the process to the router and reruns, which then shows the same page through the router.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def ensure_router() -> None:
    """Rerun through the entry script's ``st.navigation`` if this page was run on its own."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
