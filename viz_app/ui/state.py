"""Session-state key names (constants) and small accessors. Values stored are small: keys,
parameters, ids; datasets and projections live in the server-side stores of ``ui.cache``."""

from __future__ import annotations

from typing import Any

import streamlit as st

DATASET = "dataset"  # dict(kind="sample"|"upload", key=str, name=str)
REDUCER = "reducer"
DIMS = "n_components"
PERPLEXITY = "perplexity"
N_NEIGHBORS = "n_neighbors"
MIN_DIST = "min_dist"
METRIC = "metric"
SEED = "random_state"
COLOR_BY = "color_by"
POINT_SIZE = "point_size"
OPACITY = "opacity"
UPLOAD_MSG = "upload_message"  # (kind, text) shown once on the Data page
UPLOAD_RAW = "upload_raw_key"  # store key of the last parsed upload (RawData)
UPLOAD_SIG = "upload_signature"  # (name, size) of the last processed upload, not to parse it twice

NO_COLOR = "(none)"


def get(key: str, default: Any = None) -> Any:
    """``st.session_state[key]`` or ``default``."""
    return st.session_state.get(key, default)


def put(key: str, value: Any) -> None:
    """Set ``st.session_state[key]``."""
    st.session_state[key] = value
