"""Compare: two embeddings of the same items — where their neighbourhoods agree, which items moved."""

import streamlit as st

from viz_app.ui import compare_views, router

router.ensure_router()
st.title("Compare")
st.caption(
    "Each item's k nearest neighbours in one space against those in the other (Jaccard@k), and how "
    "alike the two spaces are overall (after the Embedding Comparator, Boggust et al. 2022)."
)
pair = compare_views.choose_sets()
if pair is not None:
    a, b = pair
    k = compare_views.k_slider(a, b)
    found = compare_views.comparison(a, b, k)
    if found is not None:
        cmp, tag = found
        compare_views.global_figures(cmp)
        compare_views.ranked_lists(cmp, tag)
        st.subheader("Neighbours of one item in both spaces")
        position = compare_views.focus_picker(cmp, tag)
        compare_views.neighbour_panel(cmp, position)
        compare_views.item_table(cmp)
