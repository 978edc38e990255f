"""Sidebar widgets whose values persist across pages.

Streamlit forgets a widget's state when its page is not shown; each widget here has a private
key (``_w_<name>``) and mirrors its value into a permanent session-state key (``<name>``), from
which it is re-initialised when the page is shown again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError
from viz_app.explore.clusters import UMAP_ABOVE_DIMS, UMAP_DIMS, hdbscan_defaults
from viz_app.reduce import (
    DEFAULT_VIEW,
    METRICS,
    Param,
    ProjectionParams,
    ReducerSpec,
    get_reducer,
    make_params,
    reducer_names,
)
from viz_app.reduce.registry import MAX_SEED
from viz_app.ui import safe, state


def persistent(widget: Callable[..., Any], label: str, name: str, default: Any, **kw: Any) -> Any:
    """Render ``widget`` bound to the permanent session key ``name`` (initial value ``default``).

    A stored value outside the widget's bounds (a smaller dataset lowers a bound; a link or a
    settings file asked for more) is brought within them and the page says so once.
    """
    wkey = f"_w_{name}"
    if wkey not in st.session_state:
        st.session_state[wkey] = state.get(name, default)
    lo, hi = kw.get("min_value"), kw.get("max_value")
    if lo is not None and hi is not None:
        old = st.session_state[wkey]
        new = type(old)(min(max(old, lo), hi))
        if new != old:
            st.session_state[wkey] = new
            st.toast(
                safe.md(f"{label} = {old:g} is outside what this dataset allows ({lo:g} to {hi:g}); using {new:g}.")
            )
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


def _param_widget(spec: ReducerSpec, param: Param, n: int) -> Any:
    """A slider for one reducer parameter, bounded to what ``n`` points allow."""
    hi = param.upper(n)
    if hi <= param.low:  # too few points for a choice: the only value allowed
        return param.low
    return persistent(
        st.slider,
        param.label,
        state.param_key(spec.name, param.name),
        min(param.default, hi),
        min_value=param.kind(param.low),
        max_value=param.kind(hi),
        step=param.kind(param.step),
        help=param.help,
    )


def projection_controls(es: EmbeddingSet) -> ProjectionParams | None:
    """Reducer, dimensions and the reducer's parameters, from the reducer registry (bounded to
    what ``es`` allows)."""
    n = es.n_samples
    st.subheader("Projection")
    names = reducer_names()
    reducer = _choice(
        "Reducer",
        state.REDUCER,
        names,
        DEFAULT_VIEW.reducer,
        radio=True,
        horizontal=True,
        format_func=lambda r: get_reducer(r).display,
        help=" ".join(get_reducer(r).summary for r in names),
    )
    spec = get_reducer(reducer)
    dims = _choice("Dimensions", state.DIMS, [2, 3], 2, radio=True, horizontal=True, format_func=lambda d: f"{d}D")
    kw: dict[str, Any] = {p.name: _param_widget(spec, p, n) for p in spec.params}
    if spec.uses_metric:
        kw["metric"] = _choice("Metric (original space)", state.METRIC, METRICS, DEFAULT_VIEW.metric)
    seed = persistent(st.number_input, "Random seed", state.SEED, 0, min_value=0, max_value=MAX_SEED, step=1)
    chosen = state.get(state.FIT_SAMPLE)
    if chosen and chosen[0] == es.fingerprint and chosen[1] == reducer and chosen[2] < n:
        kw["fit_sample"] = int(chosen[2])
        st.info(
            f"{spec.display} is fitted on a seeded sample of {chosen[2]:,} of the {n:,} points; "
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
        state.put(state.CLUSTERS, None)
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
        mcs, _ = hdbscan_defaults(es.n_samples)
        if state.get("_pending_mcs") is not None:  # from a settings file
            state.put(f"cluster_mcs_{es.n_samples}", st.session_state.pop("_pending_mcs"))
            st.session_state.pop(f"_w_cluster_mcs_{es.n_samples}", None)
        out["min_cluster_size"] = persistent(
            st.slider,
            "min_cluster_size",
            f"cluster_mcs_{es.n_samples}",
            mcs,
            min_value=2,
            max_value=int(max(3, min(500, es.n_samples // 2))),
            help=f"Default for {es.n_samples:,} points: {mcs} (about sqrt(n)/2); min_samples is a third of it.",
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
    if method == "hdbscan" and out["space"] == "original" and es.n_features > UMAP_ABOVE_DIMS:
        st.caption(
            f"HDBSCAN runs on a {UMAP_DIMS}-d UMAP of the {es.n_features}-d vectors (as BERTopic does): "
            "in many dimensions densities are too even to separate clusters."
        )
    state.put(state.CLUSTERS, out)
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


def tooltip_controls(es: EmbeddingSet) -> list[str]:
    """Metadata columns shown when the mouse rests on a point (default: the first three besides
    the text column, whose full text the tooltip shows anyway)."""
    cols = [c for c in es.metadata.columns if c != es.text_column]
    if not cols:
        return []
    stored = state.get(state.TOOLTIP)
    if stored is None or not set(stored) <= set(cols):
        state.put(state.TOOLTIP, [c for c in (stored or cols[:3]) if c in cols])
        st.session_state.pop(f"_w_{state.TOOLTIP}", None)
    return list(
        persistent(
            st.multiselect,
            "Tooltip columns",
            state.TOOLTIP,
            cols[:3],
            options=cols,
            max_selections=12,
            help="Shown with the label when the mouse rests on a point.",
        )
    )
