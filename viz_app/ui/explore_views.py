"""The interactive part of the Explore page: map clicks, neighbours, search and selection.

Everything here runs inside one ``st.fragment``: a click, a table row, a search or a selection
reruns only the fragment, never the projection. The map is the live map (``viz_app.ui.map``):
its data crosses once, each rerun sends only the small view (focus, highlights, labels, arrows).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import nullcontext

import numpy as np
import pandas as pd
import streamlit as st

from viz_app.data.model import EmbeddingSet
from viz_app.errors import VizAppError
from viz_app.explore import neighbors as nbrs
from viz_app.explore.arithmetic import evaluate, mean_vector
from viz_app.explore.expression import MAX_EXPRESSION_CHARS
from viz_app.explore.neighbors import METRICS, build_index_in_background, has_index, most_similar
from viz_app.explore.place import expression_on_map, placement_normalize
from viz_app.explore.search import MAX_PATTERN_CHARS, rank_matches, search
from viz_app.export.projector import csv_bytes, map_table
from viz_app.map.encode import MAX_KNN_K
from viz_app.map.scene import COLORS, expression_layers
from viz_app.map.view import Arrow, Highlight, Label, MapView, Marker
from viz_app.reduce import Projection
from viz_app.ui import cache, controls, export_views, safe, state, trust_views, views, viewstate
from viz_app.ui.map import MapEvent, live_map, map_data, map_event

#: Height of the Explore map, CSS pixels.
MAP_HEIGHT = 620


def _focus_row(es: EmbeddingSet) -> int | None:
    fid = state.for_set(state.FOCUS, es.fingerprint)
    if fid is None:
        return None
    try:
        return int(es.index_of([fid])[0])
    except VizAppError:
        return None


def set_focus(es: EmbeddingSet, item_id: str | None) -> None:
    """Make ``item_id`` the focus (None clears it)."""
    state.put(state.FOCUS, (es.fingerprint, item_id) if item_id is not None else None)


def _handle_map_event(es: EmbeddingSet, ev: MapEvent) -> bool:
    """A new click focuses a point; a new box/lasso fills (or clears) the selection. True if the
    state changed. Called before the map is drawn: a click reruns the fragment (the component's
    state value), and this run's panels already follow it."""
    changed = False
    if ev.clicked and ev.focus_id is not None and ev.focus_id != state.for_set(state.FOCUS, es.fingerprint):
        set_focus(es, ev.focus_id)
        changed = True
    if ev.selected and ev.selection_ids is not None:
        ids = tuple(str(i) for i in ev.selection_ids)
        new = (es.fingerprint, ids) if ids else None
        changed = changed or new != state.get(state.SELECTION)
        state.put(state.SELECTION, new)
    return changed


def _search_box(es: EmbeddingSet) -> np.ndarray:
    viewstate.apply_pending_widgets()  # a settings file's search, loaded on another page
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    pattern = c1.text_input(
        "Search labels and text",
        key=state.SEARCH,
        placeholder="e.g. king, or ^new with regex",
        max_chars=MAX_PATTERN_CHARS,
        help="A substring, or with Regex on a regular expression in RE2 syntax (no backreferences).",
    )
    regex = c2.toggle("Regex", key=state.SEARCH_REGEX)
    try:
        return search(es, pattern or "", regex=regex)
    except VizAppError as exc:
        safe.warning(exc)
        return np.empty(0, dtype=np.intp)


def _matches_panel(es: EmbeddingSet, matches: np.ndarray) -> None:
    if not st.session_state.get(state.SEARCH):
        return
    st.caption(f"{len(matches):,} match{'es' if len(matches) != 1 else ''} highlighted on the map")
    if len(matches):
        shown = rank_matches(es, matches, st.session_state.get(state.SEARCH) or "")[:500]

        def picked() -> None:  # only a new pick moves the focus, so "Clear focus" stays cleared
            pick = st.session_state.get("match_pick")
            if pick is not None:
                set_focus(es, str(es.ids[pick]))
            st.session_state["match_pick"] = None

        st.selectbox(
            "Focus a match",
            [None] + [int(r) for r in shown],
            key="match_pick",
            format_func=lambda r: "—" if r is None else str(es.labels[r]),
            on_change=picked,
            help="Exact matches first, then labels that start with the text, then the rest.",
        )


def _neighbours_panel(es: EmbeddingSet, focus: int | None) -> pd.DataFrame | None:
    st.subheader("Nearest neighbours")
    c1, c2 = st.columns(2)
    k = c1.slider("k", 1, min(50, es.n_samples - 1), min(10, es.n_samples - 1), key=state.K)
    metric = c2.selectbox(
        "Metric", METRICS, key=state.NN_METRIC, help="In the original embedding space, not on the map."
    )
    limit = nbrs.EXACT_MAX_ELEMENTS  # read now: tests lower it
    approximate = es.n_samples * es.n_features > limit
    building = approximate and not has_index(es, metric)
    if building:  # start it now, so it is ready (or under way) before the first click
        build_index_in_background(es, metric)
        st.caption(
            f"Building the approximate neighbour index (pynndescent) over {es.n_samples:,} vectors "
            f"({metric}) in the background, once per dataset and metric; for large sets this takes "
            "minutes. The first neighbour list waits for it."
        )
    if focus is None:
        st.info(
            "Click a point on the map (or search and pick a match) to see its nearest neighbours in the original space."
        )
        return None
    st.text(f"Focus: {es.labels[focus]}")
    t0 = time.perf_counter()
    waiting = (
        st.spinner(f"Waiting for the neighbour index over {es.n_samples:,} vectors…") if building else nullcontext()
    )
    with waiting:
        nn = most_similar(es, int(focus), k=k, metric=metric, exact_max_elements=limit)
    ms = (time.perf_counter() - t0) * 1000
    table = nn.drop(columns=["row"] + (["id"] if (nn["id"] == nn["label"]).all() else []))
    ev = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key=f"nn_table_{es.fingerprint[:8]}_{es.ids[focus]}",
        height=min(38 + 35 * len(table), 420),
    )
    how = "Approximate (pynndescent index)" if approximate else "Exact"
    st.caption(f"{how} search over {es.n_samples:,} vectors ({metric}) in {ms:.0f} ms. Click a row to move the focus.")
    rows = ev.selection.rows if ev is not None else []
    if rows:
        set_focus(es, str(nn.iloc[rows[0]]["id"]))
        st.rerun(scope="fragment")
    if st.button("Clear focus", key="clear_focus"):
        set_focus(es, None)
        st.rerun(scope="fragment")
    return nn


def named_vectors(es: EmbeddingSet, clusters: np.ndarray | None, *, normalize: bool = True) -> dict:
    """``$selection`` (mean of the box/lasso selection) and ``$clusterN`` (mean of cluster N)."""

    out = {}
    sel = state.for_set(state.SELECTION, es.fingerprint)
    if sel:
        out["selection"] = mean_vector(es, list(sel), name="selection", normalize=normalize)
    if clusters is not None:
        for c in sorted(set(int(x) for x in np.unique(clusters)) - {-1}):
            out[f"cluster{c}"] = mean_vector(
                es, es.ids[np.asarray(clusters) == c].tolist(), name=f"cluster{c}", normalize=normalize
            )
    return out


def _expression_key(es: EmbeddingSet, proj: Projection, clusters: np.ndarray | None, expr: str) -> tuple:
    uses_named = "$" in expr
    sig = (
        (
            state.for_set(state.SELECTION, es.fingerprint),
            hash(np.asarray(clusters).tobytes()) if clusters is not None else None,
        )
        if uses_named
        else None
    )
    return ("expression", es.content_key, proj.params, proj.model is not None, expr, sig)


def _expression_result(es: EmbeddingSet, proj: Projection, clusters: np.ndarray | None, expr: str):
    """The expression's nearest items and its placement on the map, computed once per
    expression, map and named inputs (every click reruns the map): ``(table, drawn)``.
    Raises :class:`VizAppError` for a bad expression."""
    uses_named = "$" in expr
    return cache.expressions().get_or_compute(
        _expression_key(es, proj, clusters, expr),
        lambda: (
            evaluate(es, expr, k=10, named=named_vectors(es, clusters) if uses_named else {}),
            expression_on_map(
                es,
                proj,
                expr,
                k=10,
                named=named_vectors(es, clusters, normalize=placement_normalize(proj.params)) if uses_named else None,
            ),
        ),
    )


def _expression_found(es: EmbeddingSet, proj: Projection, clusters: np.ndarray | None):
    """What the map draws of the current expression: ``(drawn, table)``, or None (no
    expression, or a bad one: :func:`_arithmetic_panel` shows why)."""
    expr = state.get(state.MAP_EXPR) or ""
    if not expr:
        return None
    try:
        res, drawn = _expression_result(es, proj, clusters, expr)
    except VizAppError:
        return None
    return drawn, res


def _arithmetic_panel(es: EmbeddingSet, proj: Projection, clusters: np.ndarray | None) -> None:
    """Expression box and the nearest items (table); the map draws the expression
    (:func:`_expression_found`, computed before the map from the same cache)."""

    expr = state.get(state.MAP_EXPR) or ""
    with st.expander("Vector arithmetic", expanded=bool(expr)):
        expr = controls.persistent(
            st.text_input,
            "Expression",
            state.MAP_EXPR,
            "",
            placeholder="king - man + woman",
            max_chars=MAX_EXPRESSION_CHARS,
            help="Items by id or label; quote multi-word labels; numbers scale; mean(a, b). "
            "$selection and $clusterN are the means of the selection and of a cluster.",
        )
        names = (["$selection"] if state.for_set(state.SELECTION, es.fingerprint) else []) + (
            [f"$cluster{c}" for c in np.unique(clusters) if c >= 0] if clusters is not None else []
        )
        if names:
            st.caption(f"Available: {', '.join(names)[:300]}")
        if not expr:
            return
        try:
            res, drawn = _expression_result(es, proj, clusters, expr)
        except VizAppError as exc:
            safe.error(exc)
            return
        st.text(f"{res.attrs.get('expr', expr)}  →  {res['label'].iloc[0]}")
        table = res.drop(columns=["row"] + (["id"] if (res["id"] == res["label"]).all() else []))
        ev = st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            on_select="rerun",
            selection_mode="single-row",
            key=f"expr_table_{es.fingerprint[:8]}_{abs(hash(expr))}",
            height=min(38 + 35 * len(table), 420),
        )
        rows = ev.selection.rows if ev is not None else []
        if rows:
            set_focus(es, str(res.iloc[rows[0]]["id"]))
            st.rerun(scope="fragment")
        st.caption(
            f"Operands left out of the list (3CosAdd, cosine). The black diamond on the map is the result, "
            f"placed by {drawn.method}. Click a row to focus it."
        )
        if drawn.approximate:
            views.refit_button(es, proj)


def _selection_panel(es: EmbeddingSet, proj: Projection) -> None:
    ids = state.for_set(state.SELECTION, es.fingerprint)
    if not ids:
        st.caption("Box or lasso select on the map (toolbar, top left; 2D and 3D) to list a region's points.")
        return
    rows = es.index_of(list(ids))
    st.subheader(f"Selection: {len(rows):,} points")
    table = es.table().iloc[rows].reset_index(drop=True)
    st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 360))
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Download CSV", data=_selection_csv(es, proj, rows), file_name="selection.csv", mime="text/csv", key="sel_csv"
    )
    if c2.button(
        "Isolate (re-project these)",
        key="isolate",
        disabled=len(rows) < 5,
        help="Make the selection the current dataset and project it on its own.",
    ):
        isolate(es, rows, f"{es.name} — selection of {len(rows):,}")
    if c3.button("Clear selection", key="clear_sel"):
        state.put(state.SELECTION, None)
        st.rerun(scope="fragment")


def _selection_csv(es: EmbeddingSet, proj: Projection, rows: np.ndarray) -> bytes:

    return csv_bytes(map_table(es, proj).iloc[rows])


def isolate(es: EmbeddingSet, rows: np.ndarray, name: str) -> None:
    """Make a subset the current dataset (re-projected on its own); Reset returns to the parent."""
    sub = es.subset(np.asarray(rows), name=name)
    try:
        key = cache.put_session_set(sub)
    except VizAppError as exc:
        safe.error(exc)
        return
    parent = state.get(state.DATASET)
    state.put(
        state.DATASET,
        {
            "kind": "subset",
            "key": key,
            "name": name,
            "parent": parent if parent and parent.get("kind") != "subset" else (parent or {}).get("parent"),
        },
    )
    st.rerun()


def _map_data(es: EmbeddingSet, proj: Projection, color: pd.Series | None, color_name: str | None, tooltip):
    """The map's prepared data (cached per content): a metadata column colours by name, a
    computed colour by its values: names (clusters) as categories, fractions in [0, 1]
    (neighbourhood preserved@k) on a continuous 0-1 colour bar, however few distinct values
    they take; the kNN graph holds up to 50 neighbours."""
    own = color_name is not None and color_name in es.metadata.columns
    computed = None if own or color is None else color
    fraction = (
        computed is not None
        and pd.api.types.is_float_dtype(computed)
        and bool(((computed >= 0) & (computed <= 1)).all())
    )
    return map_data(
        es,
        proj,
        color_by=color_name if color is not None else None,
        color=computed,
        tooltip=list(tooltip),
        k=max(0, min(MAX_KNN_K, es.n_samples - 1)),
        color_scale="continuous" if fraction else "auto",
        color_range=(0.0, 1.0) if fraction else None,
    )


def _view(
    es: EmbeddingSet,
    *,
    focus: int | None,
    nn: pd.DataFrame | None,
    matches: np.ndarray,
    found,
    labels: Sequence[Label],
    size: float,
    opacity: float,
    zoom_to=None,
    inspected: tuple[list, list] = ([], []),
) -> MapView:
    """What the map shows over its points on this rerun (plain data, see viz_app.map.view);
    ``inspected``: the focus inspector's arrows and highlights (missing and false neighbours)."""
    sel_ids = state.for_set(state.SELECTION, es.fingerprint) or ()
    k = int(st.session_state.get(state.K) or 10)
    cosine = (st.session_state.get(state.NN_METRIC) or "cosine") == "cosine"
    highlights: list[Highlight] = []
    if len(matches):
        highlights.append(Highlight("search", matches, color=COLORS["search"], style="ring", size=1.4, label=True))
    if not cosine and nn is not None:  # the shipped graph is cosine: show the table's own neighbours
        highlights.append(
            Highlight("neighbours", nn["row"].to_numpy(), color="#ff7f0e", style="ring", size=1.4, label=True,
                      priority=800)
        )  # fmt: skip
    arrows: list[Arrow] = []
    markers: list[Marker] = []
    if found is not None:
        arrows, markers, extra = expression_layers(found[0], found[1]["row"].to_numpy()[:5])
        highlights.extend(extra)
    arrows = [*arrows, *inspected[0]]
    highlights.extend(inspected[1])
    return MapView(
        focus=focus,
        k=k if cosine else 0,
        highlights=highlights,
        arrows=arrows,
        markers=markers,
        labels=list(labels),
        selection=es.index_of(list(sel_ids)) if sel_ids else [],
        point_size=float(size),
        opacity=float(opacity),
        dim=0.35 if found is not None else None,
        zoom_to=zoom_to,
    )


def _expression_zoom(es: EmbeddingSet, proj: Projection, found) -> list[int] | None:
    """Once per drawn expression: the rows nearest to its operands and its result (the camera
    fits them, as a one-off request; the user's zoom is left alone afterwards)."""
    if found is None:
        return None
    drawn = found[0]
    sig = (es.fingerprint, proj.params, drawn.expr)
    if st.session_state.get("_expr_zoomed") == sig:
        return None
    st.session_state["_expr_zoomed"] = sig
    c = np.asarray(proj.coords, dtype=np.float64)
    at = [np.asarray(xy, dtype=np.float64) for _, _, xy in drawn.operands] + [np.asarray(drawn.result, np.float64)]
    return [int(np.argmin(((c - p) ** 2).sum(axis=1))) for p in at]


def _camera_request(es: EmbeddingSet, proj: Projection, found, restored: dict | None) -> dict | list[int] | None:
    """This run's one-off camera request: ``restored`` (a settings file's or a link's camera,
    :func:`viewstate.pending_camera`), else the fit of a newly drawn expression, else None."""
    expr = _expression_zoom(es, proj, found)
    return restored if restored is not None else expr


@st.fragment
def _live_panel(
    es: EmbeddingSet,
    proj: Projection,
    md,
    map_key: str,
    matches: np.ndarray,
    found,
    labels: Sequence[Label],
    size: float,
    opacity: float,
    params,
    color_name: str | None,
    latest: dict,
) -> None:
    """The map, the neighbour panel, the focus inspector and the selection: the fragment a map
    click reruns (nested in :func:`explorer`).

    A click (or a box/lasso) reruns only this: about half of the Explore page's elements, and
    every element re-sent costs the page a React render and the server a websocket message
    (measured on the 10k GloVe map: 59 messages per click when the whole Explore fragment
    reran). ``latest`` receives this run's focus, neighbour ids and map view, read later by the
    export panel's downloads (drawn outside this fragment, so not refreshed by a click)."""
    ev = map_event(md, key=map_key)
    _handle_map_event(es, ev)
    viewstate.keep_camera(es, proj.params, ev.camera)  # where the user left the camera: saved with the view
    restored = viewstate.pending_camera(es, proj.params)  # a settings file's or a link's camera, once
    viewstate.keep_camera(es, proj.params, restored)  # the map will rest there: URL and settings keep it
    requested = viewstate.pending_focus(es)
    if requested is not None:
        set_focus(es, requested)
    focus = _focus_row(es)
    viewstate.write_query_params(
        params or proj.params,
        color_name,
        str(es.ids[focus]) if focus is not None else None,
        viewstate.kept_camera(es, proj.params),
    )
    left, right = st.columns([5, 2], gap="small")
    with right:
        try:
            nn = _neighbours_panel(es, focus)
        except VizAppError as exc:
            safe.error(exc)
            nn = None
        inspected = trust_views.inspector(es, proj, focus)
    view = _view(
        es,
        focus=focus,
        nn=nn,
        matches=matches,
        found=found,
        labels=labels,
        size=size,
        opacity=opacity,
        zoom_to=_camera_request(es, proj, found, restored),
        inspected=inspected,
    )
    with left:
        live_map(md, view, key=map_key, height=MAP_HEIGHT)  # its events were read above (map_event)
    _selection_panel(es, proj)
    latest.update(
        focus=str(es.ids[focus]) if focus is not None else None,
        view=view,
        settings=export_views.view_settings(es, proj, color_by=color_name, dataset_ref=state.get(state.DATASET) or {}),
    )


@st.fragment
def explorer(
    es: EmbeddingSet,
    proj: Projection,
    color: pd.Series | None,
    color_name: str | None,
    size: float,
    opacity: float,
    annotations: Sequence[Label] | None = None,
    clusters=None,
    params=None,
    cluster_table: pd.DataFrame | None = None,
    tooltip: Sequence[str] = (),
) -> None:
    """Search, map + panels, vector arithmetic, clusters and export; reruns on its own when the
    user searches or types an expression.

    The map is the live map (viz_app.ui.map): a click highlights the point and its neighbours
    in the page at once, then reruns the nested fragment :func:`_live_panel` (map, neighbour
    table, inspector, selection) so the neighbour table follows; a box or lasso selection fills
    the selection table. ``annotations``: cluster labels.
    """
    map_key = f"lens_map_{es.fingerprint[:8]}"
    try:
        md = _map_data(es, proj, color, color_name, tooltip)
    except VizAppError as exc:
        safe.error(exc)
        return
    matches = _search_box(es)
    _matches_panel(es, matches)
    found = _expression_found(es, proj, clusters)
    latest: dict = st.session_state.setdefault("_explore_latest", {})
    _live_panel(
        es, proj, md, map_key, matches, found, annotations or (), size, opacity, params, color_name, latest
    )  # fmt: skip
    _arithmetic_panel(es, proj, clusters)
    if cluster_table is not None:
        st.subheader(f"Clusters ({int((cluster_table['cluster'] >= 0).sum())})")
        st.dataframe(cluster_table, hide_index=True, width="stretch", height=min(38 + 35 * len(cluster_table), 360))
    export_views.export_panel(
        es,
        proj,
        color_by=color_name,
        color=color,
        latest=latest,
        clusters=clusters,
        md=md,
    )
