"""The only Streamlit-aware code of Embedding Lens: caches, session state, widgets and views."""
