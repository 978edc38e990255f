"""Sidebar widgets whose values persist across pages.

Streamlit forgets a widget's state when its page is not shown; each widget here has a private
key (``_w_<name>``) and mirrors its value into a permanent session-state key (``<name>``), from
which it is re-initialised when the page is shown again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from viz_app.data.model import EmbeddingSet, ProjectionParams
from viz_app.errors import ParameterError
from viz_app.reduce.project import BOUNDS, DEFAULTS, METRICS, make_params
from viz_app.ui import safe, state

REDUCER_NAMES = {"umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}


def persistent(widget: Callable[..., Any], label: str, name: str, default: Any, **kw: Any) -> Any:
    """Render ``widget`` bound to the permanent session key ``name`` (initial value ``default``)."""
    wkey = f"_w_{name}"
    if wkey not in st.session_state:
        st.session_state[wkey] = state.get(name, default)
    lo, hi = kw.get("min_value"), kw.get("max_value")
    if lo is not None and hi is not None:  # a smaller dataset may lower the bound: clip, never fail
        st.session_state[wkey] = type(st.session_state[wkey])(min(max(st.session_state[wkey], lo), hi))
    # on_change stores the value before any script runs, so a choice survives leaving the page
    value = widget(label, key=wkey, on_change=lambda: state.put(name, st.session_state[wkey]), **kw)
    state.put(name, value)
    return value


def _choice(label: str, name: str, options: Sequence[Any], default: Any, radio: bool = False, **kw: Any) -> Any:
    opts = list(options)
    if state.get(name, default) not in opts:
        state.put(name, default if default in opts else opts[0])
        st.session_state.pop(f"_w_{name}", None)
    return persistent(st.radio if radio else st.selectbox, label, name, default, options=opts, **kw)


def projection_controls(es: EmbeddingSet) -> ProjectionParams | None:
    """Reducer, dimensions and the reducer's parameters (bounded to what ``es`` allows)."""
    n = es.n_samples
    st.subheader("Projection")
    reducer = _choice(
        "Reducer",
        state.REDUCER,
        list(REDUCER_NAMES),
        "umap",
        radio=True,
        horizontal=True,
        format_func=REDUCER_NAMES.get,
        help="PCA: linear, instant. t-SNE (openTSNE): local clusters. "
        "UMAP (umap-learn): local and some global structure.",
    )
    dims = _choice("Dimensions", state.DIMS, [2, 3], 2, radio=True, horizontal=True, format_func=lambda d: f"{d}D")
    kw: dict[str, Any] = {}
    if reducer != "pca":
        kw["metric"] = _choice("Metric (original space)", state.METRIC, METRICS, DEFAULTS["metric"])
    if reducer == "tsne":
        hi = float(min(BOUNDS["perplexity"][1], (n - 2) // 3))  # t-SNE needs n > 3 * perplexity + 1
        if hi > 2:
            kw["perplexity"] = persistent(
                st.slider,
                "Perplexity",
                state.PERPLEXITY,
                min(DEFAULTS["perplexity"], hi),
                min_value=2.0,
                max_value=hi,
                step=1.0,
                help="Effective number of neighbours each point attends to (5-50 is usual).",
            )
        else:
            kw["perplexity"] = 2.0
    if reducer == "umap":
        hi = int(min(BOUNDS["n_neighbors"][1], n - 1))  # UMAP needs n_neighbors < n
        if hi > 2:
            kw["n_neighbors"] = persistent(
                st.slider,
                "n_neighbors",
                state.N_NEIGHBORS,
                min(DEFAULTS["n_neighbors"], hi),
                min_value=2,
                max_value=hi,
                help="Local neighbourhood size: small = fine detail, large = global shape.",
            )
        else:
            kw["n_neighbors"] = 2
        kw["min_dist"] = persistent(
            st.slider,
            "min_dist",
            state.MIN_DIST,
            DEFAULTS["min_dist"],
            min_value=0.0,
            max_value=1.0,
            step=0.05,
            help="How tightly points may pack in the map.",
        )
    seed = persistent(st.number_input, "Random seed", state.SEED, 0, min_value=0, max_value=2**31 - 1, step=1)
    chosen = state.get(state.FIT_SAMPLE)
    if chosen and chosen[0] == es.fingerprint and chosen[1] == reducer and chosen[2] < n:
        kw["fit_sample"] = int(chosen[2])
        st.info(
            f"{REDUCER_NAMES[reducer]} is fitted on a seeded sample of {chosen[2]:,} of the {n:,} points; "
            "the others are placed with its transform."
        )
        if st.button("Fit on all points instead", key="fit_all"):
            state.put(state.FIT_SAMPLE, None)
            st.rerun()
    state.put("_param_error", None)
    try:
        return make_params(reducer, n_samples=n, n_components=dims, random_state=int(seed), **kw)
    except ParameterError as exc:  # e.g. t-SNE on 6 points: say so (the page repeats it in the main area)
        safe.error(exc)
        state.put("_param_error", f"Cannot project {es.name!r} this way: {exc}. Choose another reducer in the sidebar.")
        return None


def cluster_controls(es: EmbeddingSet) -> dict | None:
    """Clustering method and its parameter; None when clustering is off."""
    st.subheader("Clusters")
    names = {"none": "off", "kmeans": "KMeans", "hdbscan": "HDBSCAN"}
    method = _choice(
        "Method",
        "cluster_method",
        list(names),
        "none",
        radio=True,
        horizontal=True,
        format_func=names.get,
        help="KMeans (k clusters) or HDBSCAN (density; sparse points are noise), scikit-learn.",
    )
    if method == "none" or es.n_samples < 4:
        state.put("_clusters_on", False)
        return None
    if not state.get("_clusters_on"):  # just switched on: colour by cluster
        state.put("_clusters_on", True)
        state.put(state.COLOR_BY, "cluster")
        st.session_state.pop(f"_w_{state.COLOR_BY}", None)
    out: dict = {"method": method}
    if method == "kmeans":
        out["k"] = persistent(
            st.slider, "k (clusters)", "cluster_k", 8, min_value=2, max_value=int(min(50, es.n_samples - 1))
        )
    else:
        out["min_cluster_size"] = persistent(
            st.slider,
            "min_cluster_size",
            "cluster_mcs",
            15,
            min_value=2,
            max_value=int(max(3, min(500, es.n_samples // 2))),
        )
    out["space"] = _choice(
        "Cluster in",
        "cluster_space",
        ["original", "projection"],
        "original",
        radio=True,
        horizontal=True,
        format_func={"original": "original space", "projection": "the map"}.get,
    )
    return out


def display_controls(
    es: EmbeddingSet, default_color: str | None, extra: Sequence[str] = ()
) -> tuple[str | None, float, float]:
    """Colour-by column (``extra`` adds computed columns such as ``cluster``), point size (px), opacity."""
    st.subheader("Display")
    cols = [state.NO_COLOR] + list(extra) + [c for c in es.metadata.columns if c != es.text_column and c not in extra]
    color = _choice("Colour by", state.COLOR_BY, cols, default_color or state.NO_COLOR)
    size = persistent(st.slider, "Point size", state.POINT_SIZE, 5.0, min_value=1.0, max_value=20.0, step=0.5)
    opacity = persistent(st.slider, "Opacity", state.OPACITY, 0.8, min_value=0.05, max_value=1.0, step=0.05)
    return (None if color == state.NO_COLOR else color), float(size), float(opacity)
