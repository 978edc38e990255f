"""Embedding Lens: entry point (``streamlit run streamlit_app.py``); see viz_app/ui/router.py."""

from viz_app.ui.router import run_app

run_app()
