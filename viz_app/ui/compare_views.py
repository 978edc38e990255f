"""Compare page blocks: choose two sets, the global figures, the most-changed and most-stable
items, the focused item's neighbours in both spaces side by side, the per-item table and export.

The maths is :mod:`viz_app.explore.compare`; comparisons are cached server-wide by content
(:func:`viz_app.ui.cache.comparisons`). AppTest cannot click a dataframe row: the row-click
callback (:func:`pick_row`) is also tested directly.
"""

from __future__ import annotations

import functools
import hashlib
import io

import pandas as pd
import streamlit as st

from viz_app.data import io as data_io
from viz_app.data import samples
from viz_app.data.model import EmbeddingSet
from viz_app.errors import VizAppError
from viz_app.explore.compare import MAX_K, Comparison, compare
from viz_app.export.comparison import export_comparison
from viz_app.ui import cache, data_views, safe, state, views

SOURCES = {"pair": "A bundled pair", "current": "The current dataset and another set"}
LIST_ROWS = 15


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
