"""Entry script for ``benchmarks/load.py``: ``streamlit_app.py`` plus an injectable fault.

It does what ``streamlit_app.py`` does (``viz_app.ui.router.run_app()``), except that a visit
with ``?fault=1`` in the URL raises ``RuntimeError`` before the router runs. Streamlit then
shows that session an exception box, and ``load.py`` checks that the other sessions on the
same server keep working. Nothing in the app is changed for this.

Why ``load.py`` does not run this file from ``benchmarks/``: the router declares its pages as
``st.Page("pages/explore.py")`` and so on, and Streamlit resolves those paths against the
folder of the *main script* (``PagesManager.main_script_parent``). It does the same for the
``pages/`` folder that Streamlit's v1 page discovery looks at, and ``router.ensure_router()``
relies on that discovery. Run from here, every visit would fail with
``StreamlitPageNotFoundError: benchmarks/pages/explore.py``. So ``load.py`` copies this file into
a temporary folder, next to a symlink ``pages -> <repo>/pages``. It starts the server with the
repository as the working directory (so ``.streamlit/config.toml`` applies as usual) and with
the repository on ``PYTHONPATH`` (for ``import viz_app``). The app then sees the same layout as
with ``streamlit_app.py``: a main script with a ``pages/`` folder next to it. ``st.Page``
resolves the symlink, so the real page files run. This is the layout ``load.py`` uses:

    <tmp>/load_fault_app.py    (a copy of this file)
    <tmp>/pages -> <repo>/pages
"""

import streamlit as st

from viz_app.ui.router import run_app

if st.query_params.get("fault"):
    raise RuntimeError("injected fault for benchmarks/load.py")

run_app()
