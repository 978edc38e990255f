"""Arithmetic page blocks: expression -> nearest items, the analogy benchmark, semantic axes."""

from __future__ import annotations

import streamlit as st

from viz_app.data.model import EmbeddingSet
from viz_app.errors import VizAppError
from viz_app.explore.analogy import evaluate_analogies, read_analogies
from viz_app.explore.arithmetic import evaluate, mean_vector
from viz_app.explore.axes import axis_projection
from viz_app.explore.expression import MAX_EXPRESSION_CHARS
from viz_app.map.scene import extreme_rows, semantic_map_axes
from viz_app.map.view import Highlight, MapView
from viz_app.ui import cache, safe, state
from viz_app.ui.map import live_map, map_data


def expression_box(es: EmbeddingSet) -> None:
    """An expression such as ``king - man + woman``; the nearest items to its vector."""
    st.subheader("Vector arithmetic")
    c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="bottom")
    expr = c1.text_input(
        "Expression",
        key="expr",
        placeholder='king - man + woman, mean(a, b), "new york" - usa + france',
        max_chars=MAX_EXPRESSION_CHARS,
    )
    method = c2.selectbox(
        "Method",
        ["3cosadd", "3cosmul"],
        key="expr_method",
        help="3CosAdd (Mikolov et al. 2013) or 3CosMul (Levy & Goldberg 2014, a - b + c only).",
    )
    k = c3.number_input("k", 1, 50, 10, key="expr_k")
    if not expr:
        st.caption(
            "Operands are left out of the results, as in the analogy literature. Quote multi-word labels; "
            "with a text model, quoted free text is embedded on the fly."
        )
        return
    sel = state.for_set(state.SELECTION, es.fingerprint)
    named = {"selection": mean_vector(es, list(sel), name="selection")} if sel else {}
    if named:
        st.caption(f"$selection: the mean of the {len(sel):,} items selected on the map.")
    try:
        res = evaluate(es, expr, k=int(k), method=method, named=named)
    except VizAppError as exc:
        safe.error(exc)
        return
    st.text(f"{res.attrs.get('expr', expr)}  →  {res['label'].iloc[0]}")
    st.dataframe(res.drop(columns=[c for c in ("row",) if c in res.columns]), hide_index=True, width="stretch")
    if st.button(
        "Show on the Explore map",
        key="expr_to_map",
        help="Draws the result with arrows from its operands on the current map.",
    ):
        state.put(state.MAP_EXPR, expr)
        st.session_state.pop(f"_w_{state.MAP_EXPR}", None)
        st.switch_page("pages/explore.py")


def analogy_benchmark(es: EmbeddingSet) -> None:
    """Google analogy set (gensim's test data) accuracy per section, over the N most frequent rows."""
    st.subheader("Analogy benchmark (Google analogy set)")
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    n = c1.slider(
        "Vocabulary: the N first rows (most frequent words for GloVe)",
        1000,
        es.n_samples,
        min(30_000, es.n_samples),
        step=1000,
        key="analogy_n",
    )
    if not c2.button("Run", key="analogy_run"):
        return
    try:
        with st.spinner(f"Evaluating 19,544 questions over {n:,} words"):
            result = cache.derived().get_or_compute(
                ("analogy", es.content_key, n), lambda: evaluate_analogies(es, read_analogies(), restrict_vocab=n)
            )
    except VizAppError as exc:
        safe.error(exc)
        return
    st.markdown(
        f"**Overall accuracy {result.accuracy:.1%}** ({result.correct:,} / {result.total:,}; "
        f"{result.skipped:,} questions skipped: a word outside the vocabulary) — same semantics as "
        "gensim's `evaluate_word_analogies`."
    )
    st.dataframe(result.sections, hide_index=True, width="stretch")
    st.caption(f"Failures ({len(result.failures):,}), first 500:")
    st.dataframe(result.failures.head(500), hide_index=True, width="stretch", height=300)


def semantic_axes(es: EmbeddingSet) -> None:
    """Items placed on two directions (B − A), e.g. man → woman by poor → rich."""
    st.subheader("Semantic axes")
    st.caption(
        "Each axis is the direction from A to B (each an expression). Embeddings carry the biases of "
        "their training data: this view is one way to look at them."
    )
    c = st.columns(4)
    xa = c[0].text_input("x from", "man", key="ax_xa", max_chars=MAX_EXPRESSION_CHARS)
    xb = c[1].text_input("x to", "woman", key="ax_xb", max_chars=MAX_EXPRESSION_CHARS)
    ya = c[2].text_input("y from", "poor", key="ax_ya", max_chars=MAX_EXPRESSION_CHARS)
    yb = c[3].text_input("y to", "rich", key="ax_yb", max_chars=MAX_EXPRESSION_CHARS)
    mode = st.radio(
        "Coordinate",
        ["cosine", "scalar"],
        horizontal=True,
        key="ax_mode",
        format_func={"cosine": "cosine with the direction", "scalar": "scalar projection"}.get,
    )
    try:
        ax = axis_projection(es, x=(xa, xb), y=(ya, yb), mode=mode)
    except VizAppError as exc:
        safe.error(exc)
        return
    # no kNN graph shipped (k=0): a click asks the server for that point's neighbours
    md = map_data(es, ax.coords, k=0)
    ends = Highlight("axis ends", extreme_rows(ax.coords, 6), color="#444444", style="ring", label=True)
    view = MapView(highlights=[ends], axes=semantic_map_axes(ax), point_size=4, opacity=0.6)
    live_map(md, view, key="axes_map", height=520)
    unit = "cosine, -1 to 1" if ax.mode == "cosine" else "scalar projection, in the vectors' units"
    st.caption(safe.md(f"x: {ax.x_label} · y: {ax.y_label} ({unit}; the values grow to the right and upwards)"))
