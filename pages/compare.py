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
        params = compare_views.map_settings(a, b)
        lv = compare_views.linked_view(cmp, tag, params) if params is not None else None
        compare_views.linked_section(cmp, lv, tag)
        compare_views.item_table(cmp)
