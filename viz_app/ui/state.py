"""Session-state key names (constants) and small accessors. Values stored are small: keys,
parameters, ids; datasets and projections live in the server-side stores of ``ui.cache``."""

from __future__ import annotations

from typing import Any

import streamlit as st

DATASET = "dataset"  # dict(kind="sample"|"upload", key=str, name=str)
REDUCER = "reducer"
DIMS = "n_components"
METRIC = "metric"
SEED = "random_state"
COLOR_BY = "color_by"
COLOR_FOR = "_color_for"  # (kind, key) of the dataset COLOR_BY was chosen for (a new set resets it)
POINT_SIZE = "point_size"
OPACITY = "opacity"
TOOLTIP = "tooltip_columns"  # metadata columns shown on hover
UPLOAD_MSG = "upload_message"  # (kind, text) shown once on the Data page
UPLOAD_RAW = "upload_raw_key"  # store key of the last parsed upload (RawData)
UPLOAD_SIG = "upload_signature"  # (name, size) of the last processed upload, not to parse it twice

FOCUS = "focus"  # (fingerprint, id) of the focus item
SELECTION = "selection"  # (fingerprint, tuple of ids) from a box/lasso selection
K = "k"
NN_METRIC = "nn_metric"
SEARCH = "search"
SEARCH_REGEX = "search_regex"
CLUSTERS = "clusters"  # dict of cluster settings or None
FIT_SAMPLE = "fit_sample"  # (fingerprint, reducer, sample size): the user chose fit-on-a-sample
CAMERA = "camera"  # (fingerprint, (projection description, camera dict)): where the Explore map's camera rests
MAP_EXPR = "map_expr"  # the vector-arithmetic expression drawn on the Explore map
SESSION_SETS = "session_sets"  # list of dataset dicts this session has opened (newest last, at most 12)

CMP_SOURCE = "cmp_source"  # "pair" | "current"
CMP_PAIR = "cmp_pair"  # key of viz_app.data.samples.PAIRS
CMP_SECOND = "cmp_second"  # "sample:<key>" | "session:<store key>" | "upload"
CMP_PENDING = "_cmp_pending_second"  # a freshly uploaded second set, selected on the next run
CMP_K = "cmp_k"
CMP_FOCUS = "cmp_focus"  # prefix of the focus widget's key (one per comparison)
CMP_REDUCER = "cmp_reducer"  # reducer of both Compare maps
CMP_SEED = "cmp_seed"
CMP_SELECTION = "cmp_selection"  # prefix: (rows of map A, rows of map B) of the last box/lasso selection
CMP_NOTE = "_cmp_note"  # a one-off message about the last map click (an item without a partner)

NO_COLOR = "(none)"


def get(key: str, default: Any = None) -> Any:
    """``st.session_state[key]`` or ``default``."""
    return st.session_state.get(key, default)


def put(key: str, value: Any) -> None:
    """Set ``st.session_state[key]``."""
    st.session_state[key] = value


def remember_set(ds: dict, limit: int = 12) -> None:
    """Add a dataset dict (``kind``, ``key``, ``name``) to this session's list of opened sets."""
    sets = [
        d
        for d in st.session_state.get(SESSION_SETS, [])
        if (d.get("kind"), d.get("key")) != (ds.get("kind"), ds.get("key"))
    ]
    st.session_state[SESSION_SETS] = ([*sets, dict(ds)])[-limit:]


def for_set(key: str, fingerprint: str):
    """The value stored as ``(fingerprint, value)`` under ``key`` if it belongs to this set."""
    v = st.session_state.get(key)
    return v[1] if isinstance(v, tuple) and len(v) == 2 and v[0] == fingerprint else None


def param_key(reducer: str, param: str) -> str:
    """Session key of a reducer parameter's value (one per reducer: switching keeps each)."""
    return f"{reducer}_{param}"


REC_MODE = "rec_mode"  # Recommendations page: "user" or "profile"
REC_USER = "rec_user"  # the MovieLens user id picked
REC_METHOD = "rec_method"  # "learned" or "average"
REC_LIKED = "rec_liked"  # movie ids picked as liked (a profile)
