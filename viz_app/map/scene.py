"""What the Explore and Arithmetic pages draw over their maps, as plain data ("prepare, then
render"): the vector-arithmetic result with its operand arrows, cluster labels, the ends of
semantic axes and their numbered scale (tick marks, values and titles along the map's bottom and
left edges, :mod:`viz_app.map.ticks`), turned into :mod:`viz_app.map.view` objects that the live
map draws (and lays out, with measured text, in the page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.explore.axes import AxesProjection
from viz_app.map.colors import clean_label
from viz_app.map.ticks import MAX_TICKS, MapAxes
from viz_app.map.view import Arrow, Highlight, Label, Marker

__all__ = ["COLORS", "cluster_labels", "expression_layers", "extreme_rows", "semantic_map_axes"]

#: Colours of the overlays (the live map's focus is red, its neighbours orange).
COLORS = {"offset": "#7b3294", "result": "#111111", "nearest": "#ffb000", "search": "#9467bd"}


def _signed(label: str, c: float) -> str:
    sign = "+" if c > 0 else "−"
    return f"{sign} {label}" if abs(c) == 1 else f"{sign}{abs(c):g} {label}"


def expression_layers(drawn: Any, nearest: Sequence[int] = ()) -> tuple[list[Arrow], list[Marker], list[Highlight]]:
    """An expression placed by :func:`viz_app.explore.place.expression_on_map`, as map overlays.

    The result is a black diamond labelled with the expression; each operand is a small purple
    circle labelled with its signed coefficient (``− man``, ``+0.5 woman``); arrows go b → c
    (purple) and a → result (black) for an analogy ``a - b + c``, or from every operand to the
    result otherwise; ``nearest`` (rows) are filled gold and labelled.

    Parameters
    ----------
    drawn : viz_app.explore.place.ExpressionOnMap
        ``result`` and operand positions in the map's coordinates (2 or 3 components).
    nearest : sequence of int
        Rows of the items nearest to the result, nearest first.

    Returns
    -------
    (arrows, markers, highlights)
    """
    arrows = [
        Arrow(np.asarray(a, float).tolist(), np.asarray(b, float).tolist(), color=COLORS[kind], width=2.5)
        for a, b, kind in drawn.arrows
    ]
    markers = [
        Marker(np.asarray(xy, float).tolist(), shape="circle", color=COLORS["offset"], size=5, label=_signed(lab, c),
               priority=750)
        for lab, c, xy in drawn.operands
    ]  # fmt: skip
    markers.append(
        Marker(np.asarray(drawn.result, float).tolist(), shape="diamond", color=COLORS["result"], size=10,
               label=clean_label(drawn.expr), priority=1000)
    )  # fmt: skip
    highlights = []
    if len(nearest):
        highlights.append(
            Highlight("nearest to the result", [int(r) for r in nearest], color=COLORS["nearest"], style="fill",
                      size=1.6, label=True, priority=760)
        )  # fmt: skip
    return arrows, markers, highlights


def cluster_labels(centres: pd.DataFrame, names: Mapping[int, str], *, max_chars: int = 40) -> list[Label]:
    """One label per cluster at its centre (:func:`viz_app.explore.clusters.centroids_2d`).

    Parameters
    ----------
    centres : DataFrame with ``cluster``, ``x``, ``y`` [, ``z``]
    names : mapping cluster id -> text (keywords); a missing id is labelled with its number.

    Returns
    -------
    list of Label
        ``style="cluster"`` (centred, larger), priority 550 (under the focus and its neighbours,
        over search matches' automatic labels).
    """
    axes = [c for c in ("x", "y", "z") if c in centres.columns]
    return [
        Label(clean_label(names.get(int(r["cluster"]), str(int(r["cluster"]))), max_chars),
              position=[float(r[a]) for a in axes], priority=550, style="cluster", color="#111111")
        for _, r in centres.iterrows()
    ]  # fmt: skip


def extreme_rows(coords: NDArray[np.floating], n: int = 6) -> NDArray[np.intp]:
    """Rows with the ``n`` lowest and highest values on each axis of ``coords`` (n_samples, d)."""
    c = np.asarray(coords)
    picks = [np.argsort(c[:, j], kind="stable")[:n] for j in range(c.shape[1])]
    picks += [np.argsort(-c[:, j], kind="stable")[:n] for j in range(c.shape[1])]
    return np.unique(np.concatenate(picks)).astype(np.intp)


def semantic_map_axes(ax: AxesProjection, *, max_ticks: int = MAX_TICKS) -> MapAxes:
    """The numbered axes of a semantic-axes map (:func:`viz_app.explore.axes.axis_projection`):
    the live map draws tick marks and values along its bottom and left edges, titled with each
    axis's direction and what the coordinate is, e.g. ``"man → woman (cosine)"`` or
    ``"poor → rich (scalar projection)"``; ticks by matplotlib's ``MaxNLocator``
    (:mod:`viz_app.map.ticks`). Reducer maps (PCA, t-SNE, UMAP) get none: their units mean nothing.

    Parameters
    ----------
    ax : AxesProjection
    max_ticks : int, default=11
        At most this many ticks per axis, 6..12 (fewer on a short axis: one per 60 px).

    Returns
    -------
    MapAxes
    """
    what = {"cosine": "cosine", "scalar": "scalar projection"}.get(ax.mode, ax.mode)
    return MapAxes(f"{ax.x_label} ({what})", f"{ax.y_label} ({what})", max_ticks=max_ticks)
