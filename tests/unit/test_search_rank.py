"""Search matches ranked for a person (viz_app.explore.search.rank_matches) on the GloVe sample."""

from __future__ import annotations

import numpy as np

from viz_app.explore.search import rank_matches, search


def test_exact_then_prefix_then_the_rest(glove_10k):
    rows = search(glove_10k, "king")
    labels = glove_10k.labels
    in_row_order = [labels[r] for r in rows]
    assert in_row_order.index("making") < in_row_order.index("king")  # why ranking is needed
    ranked = [labels[r] for r in rank_matches(glove_10k, rows, "king")]
    assert ranked[0] == "king" and sorted(ranked) == sorted(in_row_order)
    prefix = [w for w in ranked if w.startswith("king") and w != "king"]
    assert ranked[1 : 1 + len(prefix)] == prefix  # kingdom, kings, ... in frequency order
    assert ranked.index("making") > len(prefix)
    assert rank_matches(glove_10k, rows, "KING")[0] == rows[in_row_order.index("king")]  # case-insensitive
    assert rank_matches(glove_10k, np.empty(0, dtype=np.intp), "king").size == 0
