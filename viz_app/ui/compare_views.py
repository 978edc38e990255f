"""Compare page blocks: choose two sets, the global figures, two linked live maps coloured by
Jaccard@k, the most-changed and most-stable items, the focused item's neighbours in both spaces
side by side, the per-item table and export.

The maths is :mod:`viz_app.explore.compare`, the two maps' alignment and links
:mod:`viz_app.map.compare`; comparisons and linked maps are cached server-wide by content
(:func:`viz_app.ui.cache.comparisons`). A click in either map, a row of the ranked lists and the
focus box all set one focus (a matched item), which both maps show with that space's neighbours
(shared ones in green, the others in orange). AppTest cannot click a dataframe row nor a map
point: the callbacks (:func:`pick_row`, :func:`take_map_events`) are also tested directly.
"""

from __future__ import annotations

import functools
import hashlib
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from viz_app.data import io as data_io
from viz_app.data import samples
from viz_app.data.model import EmbeddingSet
from viz_app.errors import VizAppError
from viz_app.explore.compare import MAX_K, Comparison, compare
from viz_app.export.comparison import export_comparison
from viz_app.map.compare import LinkedMaps, linked_maps
from viz_app.reduce import ProjectionParams, make_params
from viz_app.reduce.project import DEFAULT_VIEW
from viz_app.reduce.registry import MAX_SEED, get_reducer, reducer_names
from viz_app.ui import cache, data_views, safe, state, views
from viz_app.ui.map import Highlight, MapData, MapEvent, MapView, live_map, map_data, map_event

SOURCES = {"pair": "A bundled pair", "current": "The current dataset and another set"}
LIST_ROWS = 15
MAP_KEYS = {"a": "cmp_map_a", "b": "cmp_map_b"}
MAP_HEIGHT = 470
SHARED_COLOR = "#2ca02c"
ONLY_COLOR = "#ff7f0e"


def choose_sets() -> tuple[EmbeddingSet, EmbeddingSet] | None:
    """Radio: a bundled pair, or the current dataset and a second set; returns (A, B) or None."""
    source = st.radio("Compare", list(SOURCES), format_func=SOURCES.get, key=state.CMP_SOURCE, horizontal=True)
    if source == "pair":
        key = st.selectbox(
            "Bundled pair", list(samples.PAIRS), format_func=lambda k: samples.PAIRS[k].title, key=state.CMP_PAIR
        )
        pair = samples.PAIRS[key]
        st.caption(pair.description)
        a = views.load_dataset({"kind": "sample", "key": pair.a})
        b = views.load_dataset({"kind": "sample", "key": pair.b})
        return (a, b) if a is not None and b is not None else None
    loaded = views.current_dataset()
    if loaded is None:
        return None
    b = second_set(loaded[0])
    return (loaded[0], b) if b is not None else None


def _second_options(current: EmbeddingSet) -> dict[str, str]:
    cur = state.get(state.DATASET) or {}
    opts = {
        f"session:{d['kind']}:{d['key']}": f"{d.get('name') or d['key']} (opened in this session)"
        for d in reversed(state.get(state.SESSION_SETS, []))
        if (d["kind"], d["key"]) != (cur.get("kind"), cur.get("key")) and d["kind"] != "sample"
    }
    for key, info in samples.SAMPLES.items():
        if (cur.get("kind"), cur.get("key")) != ("sample", key):
            opts[f"sample:{key}"] = f"{info.title} (bundled)"
    opts["upload"] = "Upload a file…"
    return opts


def second_set(current: EmbeddingSet) -> EmbeddingSet | None:
    """The set to compare the current one with: a set opened in this session, a bundled sample or
    an upload (parsed, embedded with progress if it holds texts; a bad file shows one error)."""
    pending = st.session_state.pop(state.CMP_PENDING, None)
    opts = _second_options(current)
    if pending in opts:
        st.session_state[state.CMP_SECOND] = pending
    elif st.session_state.get(state.CMP_SECOND) not in opts:
        st.session_state.pop(state.CMP_SECOND, None)
    choice = st.selectbox("Second set", list(opts), format_func=opts.get, key=state.CMP_SECOND)
    if choice != "upload":
        kind, _, key = choice.partition(":")
        if kind == "session":
            kind, _, key = key.partition(":")
        return views.load_dataset({"kind": kind, "key": key})
    f = st.file_uploader("Upload the second set", key="cmp_upload", help="Any format the Data page accepts")
    if f is not None and state.get("_cmp_upload_sig") != f.file_id:
        state.put("_cmp_upload_sig", f.file_id)
        try:
            es = data_views.embed_with_progress(data_io.read(f, name=f.name))
            accept_second(es)
        except VizAppError as exc:
            safe.error(f"Could not load this file. {exc}")
            return None
        st.rerun()
    return None


def accept_second(es: EmbeddingSet) -> None:
    """Keep an uploaded set server-side, add it to this session's sets and select it as B."""
    key = cache.put_session_set(es)
    state.remember_set({"kind": "upload", "key": key, "name": es.name})
    st.session_state[state.CMP_PENDING] = f"session:upload:{key}"


def _identity(es: EmbeddingSet) -> str:
    """What defines a set for a comparison: its ``content_key`` (vectors, ids, labels, metadata)."""
    return es.content_key


def k_slider(a: EmbeddingSet, b: EmbeddingSet) -> int:
    """Neighbours per item, 1..min(100, smaller set - 1); default 10."""
    top = max(1, min(MAX_K, a.n_samples - 1, b.n_samples - 1))
    return st.slider("k (neighbours per item)", 1, top, min(10, top), key=state.CMP_K)


def comparison(a: EmbeddingSet, b: EmbeddingSet, k: int) -> tuple[Comparison, str] | None:
    """The comparison of A and B (cached by content) and a short key naming it; None on error."""
    ia, ib = _identity(a), _identity(b)
    key = ("compare", ia, ib, k)
    try:
        with st.spinner(f"Comparing: {k} nearest neighbours of every item in each space, Jaccard@{k}, CKA"):
            cmp = cache.comparisons().get_or_compute(key, lambda: compare(a, b, k=k))
    except VizAppError as exc:
        safe.error(exc)
        return None
    return cmp, hashlib.sha256(repr(key).encode()).hexdigest()[:12]


def global_figures(cmp: Comparison) -> None:
    """Mean Jaccard@k (with chance), linear CKA, Procrustes disparity, matched and unmatched counts."""
    s = cmp.summary
    cols = st.columns(5)
    cols[0].metric(
        f"Mean Jaccard@{s['k']}",
        f"{s['mean_jaccard']:.3f}",
        help=f"Random neighbour lists would give about {s['chance_jaccard']:.4f}; 1 = the same neighbours.",
    )
    cols[1].metric("Linear CKA", f"{s['cka']:.3f}", help="Kornblith et al. 2019; 1 = the same up to rotation and scale")
    dims = f"{s['n_features_a']} vs {s['n_features_b']} dimensions"
    cols[2].metric(
        "Procrustes disparity",
        "n/a" if s["procrustes"] is None else f"{s['procrustes']:.3f}",
        help=f"Only when both spaces have the same dimension ({dims}); 0 = the same up to rotation and scale.",
    )
    cols[3].metric("Matched items", f"{s['n_matched']:,}", help=f"matched by {s['matched_on']}")
    cols[4].metric("Unmatched items", f"{s['n_unmatched']:,}")
    st.caption(
        f"A: {safe.md(s['name_a'])} ({s['n_features_a']}-d, {s['metric_a']}) · "
        f"B: {safe.md(s['name_b'])} ({s['n_features_b']}-d, {s['metric_b']}) · "
        f"matched by {s['matched_on']} · computed in {s['elapsed_s']:.1f} s"
    )
    with st.expander(f"How many of their {s['k']} neighbours the items keep"):
        counts = cmp.table["n_shared"].value_counts().reindex(range(s["k"] + 1), fill_value=0)
        st.bar_chart(
            pd.DataFrame({"neighbours in both": counts.index, "items": counts.to_numpy()}),
            x="neighbours in both",
            y="items",
            height=220,
        )
    if s["n_unmatched"]:
        with st.expander(f"{s['n_unmatched']:,} items without a partner ({s['n_unmatched_a']:,} in A, "
                         f"{s['n_unmatched_b']:,} in B)"):  # fmt: skip
            st.dataframe(cmp.unmatched, hide_index=True, width="stretch", height=240)


def _focus_key(tag: str) -> str:
    return f"{state.CMP_FOCUS}_{tag}"


def pick_row(list_key: str, positions: list[int], focus_key: str) -> None:
    """Row-click callback of a ranked list: the clicked item becomes the focus."""
    rows = st.session_state[list_key].selection.rows
    if rows:
        st.session_state[focus_key] = positions[rows[0]]


def ranked_lists(cmp: Comparison, tag: str) -> None:
    """The most-changed and most-stable items side by side; click a row to focus it."""
    config = {
        "label": st.column_config.TextColumn("item"),
        "jaccard": st.column_config.NumberColumn(f"Jaccard@{cmp.k}", format="%.2f"),
        "n_shared": st.column_config.NumberColumn("shared", help=f"neighbours in both lists, of {cmp.k}"),
    }
    lists = (
        ("Most changed", cmp.most_changed(LIST_ROWS), "changed"),
        ("Most stable", cmp.most_stable(LIST_ROWS), "stable"),
    )
    for col, (title, frame, name) in zip(st.columns(2), lists):
        key = f"cmp_{name}_{tag}"
        col.markdown(f"**{title}** (click a row to focus it)")
        col.dataframe(
            frame[["label", "jaccard", "n_shared"]],
            column_config=config,
            hide_index=True,
            width="stretch",
            key=key,
            on_select=functools.partial(pick_row, key, [int(p) for p in frame.index], _focus_key(tag)),
            selection_mode="single-row",
        )


def focus_picker(cmp: Comparison, tag: str) -> int:
    """A searchable select box of every matched item (default: the most changed); its position."""
    key = _focus_key(tag)
    t = cmp.table
    if st.session_state.get(key) not in range(len(t)):
        st.session_state[key] = int(cmp.most_changed(1).index[0])
    ids, labels = t["id"].to_numpy(), t["label"].to_numpy()

    def name(p: int) -> str:
        return labels[p] if labels[p] == ids[p] else f"{labels[p]} ({ids[p]})"

    return int(st.selectbox("Focus an item (type to search)", range(len(t)), format_func=name, key=key))


def neighbour_panel(cmp: Comparison, position: int) -> None:
    """The focused item's k neighbours in each space, side by side, shared ones ticked."""
    nb = cmp.neighbors(position)
    row = cmp.table.iloc[position]
    s = cmp.summary
    st.markdown(
        f"**{safe.md(row['label'])}** · Jaccard@{cmp.k} {row['jaccard']:.2f} · {row['n_shared']} of {cmp.k} "
        f"neighbours in both · change rank {row['change_rank']:,} of {len(cmp.table):,}"
    )
    for col, side in zip(st.columns(2), ("a", "b")):
        score = "similarity" if s[f"metric_{side}"] == "cosine" else "distance"
        col.caption(f"Neighbours in {side.upper()} ({s[f'n_features_{side}']}-d, {s[f'metric_{side}']})")
        frame = pd.DataFrame(
            {
                "rank": nb["rank"],
                "label": nb[f"label_{side}"],
                score: nb[f"score_{side}"],
                "shared": nb[f"shared_{side}"],
            }
        )
        col.dataframe(
            frame,
            hide_index=True,
            width="stretch",
            key=f"cmp_nb_{side}",
            column_config={
                "label": st.column_config.TextColumn("neighbour"),
                score: st.column_config.NumberColumn(
                    f"cosine {score}" if score == "similarity" else score, format="%.3f"
                ),
                "shared": st.column_config.CheckboxColumn("in both", help="also among the other space's neighbours"),
            },
        )


def _table_bytes(cmp: Comparison, fmt: str) -> bytes:
    buf = io.BytesIO()
    export_comparison(cmp, buf, fmt=fmt)
    return buf.getvalue()


def item_table(cmp: Comparison) -> None:
    """Every matched item with its Jaccard@k and both neighbour lists; CSV / parquet download."""
    with st.expander(f"All {len(cmp.table):,} matched items with their Jaccard@{cmp.k}"):
        st.dataframe(
            cmp.table[["label", "jaccard", "n_shared", "distance_ratio", "change_rank", "neighbors_a", "neighbors_b"]],
            hide_index=True,
            width="stretch",
            height=360,
            key="cmp_table",
            column_config={
                "jaccard": st.column_config.ProgressColumn(
                    f"Jaccard@{cmp.k}", min_value=0.0, max_value=1.0, format="%.2f"
                ),
                "distance_ratio": st.column_config.NumberColumn("distance ratio", format="%.2f"),
                "neighbors_a": st.column_config.ListColumn("neighbours in A (ids)"),
                "neighbors_b": st.column_config.ListColumn("neighbours in B (ids)"),
            },
        )
        c1, c2, _ = st.columns([1, 1, 3])
        for col, fmt, mime in ((c1, "csv", "text/csv"), (c2, "parquet", "application/octet-stream")):
            col.download_button(
                fmt.upper() if fmt == "csv" else "Parquet",
                data=lambda fmt=fmt: _table_bytes(cmp, fmt),
                file_name=f"comparison.{fmt}",
                mime=mime,
                key=f"cmp_dl_{fmt}",
                on_click="ignore",
                width="stretch",
            )
        st.caption("CSV cells that a spreadsheet would run as formulas start with ' ; neighbour lists are JSON arrays.")


def map_settings(a: EmbeddingSet, b: EmbeddingSet) -> ProjectionParams | None:
    """Reducer and seed of both maps (2-D, each reducer's default parameters); None on error."""
    c1, c2 = st.columns([3, 1])
    names = list(reducer_names())
    if st.session_state.get(state.CMP_REDUCER) not in names:
        st.session_state[state.CMP_REDUCER] = DEFAULT_VIEW.reducer
    reducer = c1.radio(
        "Maps: both spaces projected with",
        names,
        format_func=lambda r: get_reducer(r).display,
        key=state.CMP_REDUCER,
        horizontal=True,
        help="The same reducer, default parameters and seed for both; map B is then rotated, scaled "
        "and shifted onto map A (orthogonal Procrustes on the matched items) so the two read the same way.",
    )
    seed = c2.number_input("Seed", min_value=0, max_value=MAX_SEED, value=0, step=1, key=state.CMP_SEED)
    try:
        return make_params(reducer, n_samples=min(a.n_samples, b.n_samples), n_components=2, random_state=int(seed))
    except VizAppError as exc:
        safe.error(exc)
        return None


@dataclass(frozen=True, eq=False)
class LinkedView:
    """The two live maps of one comparison: the links between their rows and each map's data
    (the set with a ``jaccard`` column, coloured by it on a 0-1 colour bar)."""

    maps: LinkedMaps
    data_a: MapData
    data_b: MapData
    sets: tuple[EmbeddingSet, EmbeddingSet]
    coords: tuple[np.ndarray, np.ndarray]


def _with_jaccard(es: EmbeddingSet, jac: np.ndarray) -> EmbeddingSet:
    meta = es.metadata.copy()
    meta["jaccard"] = jac
    return EmbeddingSet(
        es.vectors,
        ids=es.ids,
        labels=es.labels,
        metadata=meta,
        name=es.name,
        model_name=es.model_name,
        text_column=es.text_column,
    )


def linked_view(cmp: Comparison, tag: str, params: ProjectionParams) -> LinkedView | None:
    """Both maps (projected with progress, cached like the Explore map) linked and prepared for
    the live map; None (with a message shown) when a map cannot be made."""
    proj_a = views.compute_projection(cmp.a, params)
    proj_b = views.compute_projection(cmp.b, params) if proj_a is not None else None
    if proj_a is None or proj_b is None:
        return None

    def build() -> tuple[LinkedMaps, tuple[EmbeddingSet, EmbeddingSet]]:
        lm = linked_maps(cmp, proj_a, proj_b)
        return lm, (_with_jaccard(cmp.a, lm.jaccard_a), _with_jaccard(cmp.b, lm.jaccard_b))

    try:
        lm, (sa, sb) = cache.comparisons().get_or_compute(("linked", tag, params), build)
        data = [
            map_data(es, xy, color_by="jaccard", tooltip=["jaccard"], k=0, color_scale="continuous",
                     color_range=(0.0, 1.0))
            for es, xy in ((sa, lm.coords_a), (sb, lm.coords_b))
        ]  # fmt: skip
    except VizAppError as exc:
        safe.error(exc)
        return None
    return LinkedView(lm, data[0], data[1], (sa, sb), (lm.coords_a, lm.coords_b))


def _selection_key(tag: str) -> str:
    return f"{state.CMP_SELECTION}_{tag}"


def take_map_events(lv: LinkedView, tag: str, ev_a: MapEvent, ev_b: MapEvent) -> str | None:
    """Apply the maps' latest click and box/lasso selection to the page's state: a click on a
    matched item focuses it (both maps, the focus box, the neighbour lists); a click on an item
    without a partner leaves a note; a selection in one map selects the same items in both.
    Returns the side ("a" or "b") whose click set the focus, else None."""
    fkey, clicked = _focus_key(tag), None
    for side, ev in (("a", ev_a), ("b", ev_b)):
        if ev.clicked and ev.focus_row is not None:
            f = lv.maps.focus(side, ev.focus_row)
            if f.jaccard is None:
                es = lv.sets[0 if side == "a" else 1]
                other = "B" if side == "a" else "A"
                st.session_state[state.CMP_NOTE] = f"{es.labels[ev.focus_row]} has no partner in {other}: not compared."
            else:
                st.session_state[fkey] = int(np.flatnonzero(lv.maps.rows_a == f.row_a)[0])
                st.session_state.pop(state.CMP_NOTE, None)
                clicked = side
        if ev.selected and ev.selection_rows is not None:
            ra, rb = lv.maps.selection(side, ev.selection_rows)
            st.session_state[_selection_key(tag)] = (side, ra, rb)
    return clicked


def _map_view(lv: LinkedView, side: str, position: int, selection: tuple | None, zoom: bool) -> MapView:
    f = lv.maps.focus("a", int(lv.maps.rows_a[position]))
    row, nb, shared = (f.row_a, f.neighbors_a, f.shared_a) if side == "a" else (f.row_b, f.neighbors_b, f.shared_b)
    highlights = [
        Highlight("in both spaces", nb[shared], color=SHARED_COLOR, size=1.6, label=True, priority=800),
        Highlight(f"only in {side.upper()}", nb[~shared], color=ONLY_COLOR, size=1.6, label=True, priority=790),
    ]
    sel = None if selection is None else (selection[1] if side == "a" else selection[2])
    return MapView(
        focus=row,
        k=0,
        highlights=highlights,
        selection=sel,
        zoom_to=[row, *nb.tolist()] if zoom else None,
        point_size=3.5,
        auto_labels=25,
    )


def linked_maps_panel(cmp: Comparison, lv: LinkedView, tag: str) -> None:
    """The two maps side by side, both showing the focus (``st.session_state[_focus_key(tag)]``,
    a position in ``cmp.table``) with each space's neighbours, and the selection. A focus set
    elsewhere than in a map (ranked list, focus box) zooms both maps to it and its neighbours.
    Call inside an ``st.fragment`` with the lists and the neighbour panel."""
    clicked = take_map_events(lv, tag, map_event(lv.data_a, key=MAP_KEYS["a"]), map_event(lv.data_b, key=MAP_KEYS["b"]))
    fkey, last_key = _focus_key(tag), f"_cmp_drawn_{tag}"
    if st.session_state.get(fkey) not in range(len(cmp.table)):
        st.session_state[fkey] = int(cmp.most_changed(1).index[0])
    position = int(st.session_state[fkey])
    last = st.session_state.get(last_key)
    changed = last is not None and last != position
    st.session_state[last_key] = position
    selection = st.session_state.get(_selection_key(tag))
    s = cmp.summary
    st.caption(
        f"Colour: each item's Jaccard@{cmp.k} (yellow: the same k neighbours in the two spaces, purple: none "
        f"shared; grey: no partner). Click a point to focus it in both maps (the other map moves to it) with its "
        f"neighbours (green: in both spaces, orange: in this one only); a box or lasso selection selects the same "
        f"items in both. {lv.maps.params.describe()}; B aligned to A (Procrustes disparity of the two "
        f"maps {lv.maps.disparity:.3f})."
    )
    for col, side in zip(st.columns(2), ("a", "b")):
        with col:
            st.markdown(f"**{side.upper()}: {safe.md(s[f'name_{side}'])}** ({s[f'n_features_{side}']}-d)")
            live_map(
                lv.data_a if side == "a" else lv.data_b,
                _map_view(lv, side, position, selection, changed and clicked != side),
                key=MAP_KEYS[side],
                height=MAP_HEIGHT,
            )
    note = st.session_state.get(state.CMP_NOTE)
    if note:
        st.info(note)
    if selection is not None and len(selection[1]) + len(selection[2]):
        side, ra, rb = selection
        matched = ra[lv.maps.partner_a[ra] >= 0]
        jac = lv.maps.jaccard_a[matched]
        mean = f"{float(np.mean(jac)):.2f}" if len(jac) else "n/a"
        st.markdown(
            f"Selected in {side.upper()}: {len(ra if side == 'a' else rb):,} items, {len(matched):,} with a "
            f"partner; their mean Jaccard@{cmp.k} {mean} (all items: {s['mean_jaccard']:.2f})."
        )


@st.fragment
def linked_section(cmp: Comparison, lv: LinkedView | None, tag: str) -> None:
    """Maps, ranked lists, focus box and neighbour lists: one fragment, so a click in a map or a
    list reruns only this part of the page."""
    if lv is not None:
        linked_maps_panel(cmp, lv, tag)
    ranked_lists(cmp, tag)
    st.subheader("Neighbours of one item in both spaces")
    position = focus_picker(cmp, tag)
    neighbour_panel(cmp, position)
