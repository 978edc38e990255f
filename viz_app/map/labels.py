"""Label layout for a few labelled points on a 2-D map: no two labels overlap.

The neighbours of a point on a t-SNE/UMAP map often lie within a few pixels of each other, so
labels drawn at their points pile up into an unreadable blot. :func:`layout_labels` places up
to a few dozen labels greedily (in priority order: the focus first, then neighbours by rank),
the classic greedy point-feature label placement (Christensen, Marks & Shieber 1995, "An
empirical study of algorithms for point-feature label placement"): each label takes the first
of eight positions around its point that overlaps no label placed before it and no labelled
point; a label with no free position goes into a column beside the group, joined to its point
by a leader line, the layout used for callouts in cartography.

The work is done in screen pixels, estimated from the axis ranges and the plot's size in
pixels; the result is returned in data coordinates, so labels stay with their points when the
user zooms (they only spread further apart). :func:`add_labels` draws a layout on a plotly
figure as annotations (SVG text, HTML-escaped) and leader lines as layout shapes, so neither
adds points to the figure's traces.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray

__all__ = ["LABEL_NAME", "LabelLayout", "add_labels", "layout_labels", "text_box_px"]

#: ``name`` of the annotations :func:`add_labels` adds (a later call avoids them).
LABEL_NAME = "point label"

#: Offsets of a label's centre from its point, in units of (half label width + pad,
#: half label height + pad): above, below, right, left, then the four diagonals.
_CANDIDATES = ((0, -1), (0, 1), (1, 0), (-1, 0), (1, -1), (-1, -1), (1, 1), (-1, 1))
_POINT_PX = 7.0  # half-size of the square kept free around every labelled point (a ring is 13 px)


@dataclass(frozen=True)
class LabelLayout:
    """Where to draw each label.

    Attributes
    ----------
    xy : ndarray of shape (n_labels, 2), float64
        Label centres in data coordinates.
    leader : ndarray of shape (n_labels,), bool
        True where the label sits in a callout column and needs a line to its point.
    anchor : tuple of str, length n_labels
        ``"center"``, ``"left"`` or ``"right"``: the side of the label at ``xy``'s x (callout
        columns are aligned on their inner edge).
    edge : ndarray of shape (n_labels, 2), float64
        The point on the label's box where a leader line ends (data coordinates).
    """

    xy: NDArray[np.float64]
    leader: NDArray[np.bool_]
    anchor: tuple[str, ...]
    edge: NDArray[np.float64]


def text_box_px(text: str, font_px: float = 12.0) -> tuple[float, float]:
    """Estimated (width, height) in pixels of one line of ``text`` in a sans-serif font of
    ``font_px`` pixels (0.6 em per character on average, plus 6 px of padding)."""
    return 0.6 * font_px * max(len(text), 1) + 6.0, font_px + 5.0


def _overlaps(box: NDArray[np.float64], boxes: list[NDArray[np.float64]]) -> bool:
    return any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes)


def layout_labels(
    xy: NDArray[np.floating],
    texts: Sequence[str],
    *,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    plot_px: tuple[float, float] = (720.0, 600.0),
    font_px: float = 12.0,
    equal_scale: bool = True,
    obstacles_px: Sequence[tuple[float, float, float, float]] = (),
    avoid_xy: NDArray[np.floating] | None = None,
    centered: bool = False,
) -> LabelLayout:
    """Lay out one label per point so that no two labels overlap each other or a labelled point.

    Parameters
    ----------
    xy : ndarray of shape (n_labels, 2)
        The labelled points in data coordinates, in priority order (the first is placed first
        and gets the best position).
    texts : sequence of str, length n_labels
        The label texts as they will be shown (already truncated).
    x_range, y_range : (float, float)
        The axis ranges shown (data units).
    plot_px : (float, float), default=(720, 600)
        The plot area's width and height in pixels (an estimate is enough).
    font_px : float, default=12
    equal_scale : bool, default=True
        The axes share one scale (plotly ``scaleanchor``): pixels per data unit is the smaller
        of the two axes' ratios, as plotly widens the other axis' range to keep it.
    obstacles_px : sequence of (x0, y0, x1, y1)
        Boxes already taken, in pixels relative to the plot area's centre (y down).
    avoid_xy : ndarray of shape (n_avoid, 2), optional
        Other marked points (data coordinates) that no label may cover, e.g. the operands of an
        expression labelled by a later call.
    centered : bool, default=False
        The points are places, not marks (e.g. cluster centres): a label is centred on its
        point when that spot is free, and the points themselves are not kept free.

    Returns
    -------
    LabelLayout

    Raises
    ------
    ValueError
        ``xy`` is not (n_labels, 2), or ``texts`` has another length.
    """
    pts = np.asarray(xy, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"xy must have shape (n_labels, 2), got {pts.shape}")
    if len(texts) != len(pts):
        raise ValueError(f"{len(texts)} texts for {len(pts)} points")
    n = len(pts)
    xs = max(float(x_range[1] - x_range[0]), 1e-12)
    ys = max(float(y_range[1] - y_range[0]), 1e-12)
    sx, sy = plot_px[0] / xs, plot_px[1] / ys
    if equal_scale:
        sx = sy = min(sx, sy)
    cx, cy = (x_range[0] + x_range[1]) / 2, (y_range[0] + y_range[1]) / 2
    px = np.column_stack([(pts[:, 0] - cx) * sx, -(pts[:, 1] - cy) * sy])  # screen: y down

    taken: list[NDArray[np.float64]] = [np.asarray(b, dtype=np.float64) for b in obstacles_px]
    extra = np.asarray(avoid_xy, dtype=np.float64).reshape(-1, 2) if avoid_xy is not None else np.zeros((0, 2))
    marks = np.vstack(
        [px[:0] if centered else px, np.column_stack([(extra[:, 0] - cx) * sx, -(extra[:, 1] - cy) * sy])]
    )
    candidates = ((0, 0), *_CANDIDATES) if centered else _CANDIDATES
    taken += [np.array([x - _POINT_PX, y - _POINT_PX, x + _POINT_PX, y + _POINT_PX]) for x, y in marks]
    sizes = [text_box_px(t, font_px) for t in texts]
    centre = np.zeros((n, 2))
    leader = np.zeros(n, dtype=bool)
    anchor = ["center"] * n
    deferred: list[int] = []
    for i in range(n):
        w, h = sizes[i]
        own = np.array([px[i, 0] - _POINT_PX, px[i, 1] - _POINT_PX, px[i, 0] + _POINT_PX, px[i, 1] + _POINT_PX])
        others = [b for b in taken if not np.array_equal(b, own)]
        for dx, dy in candidates:
            c = px[i] + (dx * (w / 2 + _POINT_PX + 1), dy * (h / 2 + _POINT_PX + 1))
            box = np.array([c[0] - w / 2, c[1] - h / 2, c[0] + w / 2, c[1] + h / 2])
            if not _overlaps(box, others):
                centre[i], _ = c, taken.append(box)
                break
        else:
            deferred.append(i)

    if deferred:
        _callouts(px, sizes, deferred, taken, centre, leader, anchor)

    edge = centre.copy()
    for i in np.flatnonzero(leader):
        w = sizes[i][0]
        edge[i, 0] = centre[i, 0] + (-w / 2 if anchor[i] == "left" else w / 2)
    # back to data coordinates; a left/right anchored label is positioned by its inner edge
    out = centre.copy()
    out[leader, 0] = edge[leader, 0]
    to_data = np.column_stack([out[:, 0] / sx + cx, -out[:, 1] / sy + cy])
    edge_data = np.column_stack([edge[:, 0] / sx + cx, -edge[:, 1] / sy + cy])
    return LabelLayout(xy=to_data, leader=leader, anchor=tuple(anchor), edge=edge_data)


def _callouts(px, sizes, deferred, taken, centre, leader, anchor) -> None:
    """Stack the ``deferred`` labels in columns left and right of their points (in place)."""
    group = px[deferred]
    mid = float(np.median(group[:, 0]))
    right = [i for i in deferred if px[i, 0] >= mid]
    left = [i for i in deferred if px[i, 0] < mid]
    if not left and len(right) > 1:  # all on one x: split by rank, alternating sides
        left, right = right[1::2], right[0::2]
    for side, members in ((1, right), (-1, left)):
        if not members:
            continue
        members = sorted(members, key=lambda i: px[i, 1])
        h = max(sizes[i][1] for i in members) + 2
        ys = np.array([px[i, 1] for i in members])
        slots = float(ys.mean()) + (np.arange(len(members)) - (len(members) - 1) / 2) * h
        span = (slots[0] - h / 2, slots[-1] + h / 2)
        # column edge: beyond every point of the group and every box in the column's band
        if side > 0:
            x0 = max([group[:, 0].max(), *(b[2] for b in taken if b[1] < span[1] and b[3] > span[0])]) + 12
        else:
            x0 = min([group[:, 0].min(), *(b[0] for b in taken if b[1] < span[1] and b[3] > span[0])]) - 12
        for i, y in zip(members, slots):
            w = sizes[i][0]
            centre[i] = (x0 + side * w / 2, y)
            leader[i] = True
            anchor[i] = "left" if side > 0 else "right"
            taken.append(np.array([centre[i, 0] - w / 2, y - h / 2, centre[i, 0] + w / 2, y + h / 2]))


def _frame(fig: go.Figure) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    """The x and y ranges a 2-D figure shows (its set ranges, else its data's extent plus the
    padding plotly's autorange adds) and an estimate of its plot area in pixels."""
    rng = []
    for axis, key in ((fig.layout.xaxis, "x"), (fig.layout.yaxis, "y")):
        if axis.range is not None and axis.autorange is False:
            rng.append((float(axis.range[0]), float(axis.range[1])))
            continue
        # per-trace extremes (no copy of the map's points: this runs on every click)
        ext = [
            (np.nanmin(a), np.nanmax(a))
            for t in fig.data
            if getattr(t, key, None) is not None
            for a in [np.asarray(getattr(t, key), dtype=np.float64)]
            if a.size and np.isfinite(a).any()
        ]
        lo, hi = (float(min(e[0] for e in ext)), float(max(e[1] for e in ext))) if ext else (0.0, 1.0)
        pad = 0.05 * max(hi - lo, 1e-9)
        rng.append((lo - pad, hi + pad))
    m = fig.layout.margin
    height = float(fig.layout.height or 680) - float(m.t or 36) - float(m.b or 10) - 40  # horizontal legend
    return rng[0], rng[1], (720.0, max(height, 200.0))


def add_labels(
    fig: go.Figure,
    xy: NDArray[np.floating],
    texts: Sequence[str],
    *,
    color: str = "#222",
    bold: Sequence[bool] | None = None,
    font_px: float = 12.0,
    avoid_xy: NDArray[np.floating] | None = None,
    centered: bool = False,
) -> go.Figure:
    """Label points of a 2-D plotly map without overlaps (in place; returned).

    The labels are laid out by :func:`layout_labels` around the labels already on ``fig`` and
    drawn as annotations named :data:`LABEL_NAME` on a translucent white box; labels moved into a
    callout column get a thin leader line (a layout shape) to their point.

    Parameters
    ----------
    xy : ndarray of shape (n_labels, 2)
        Points in data coordinates, in priority order.
    texts : sequence of str
        Label texts, **already HTML-escaped** (plotly parses a subset of HTML in annotations:
        pass the output of :func:`viz_app.map.figures.safe_text`).
    bold : sequence of bool, optional
        Draw these labels in bold.
    avoid_xy : ndarray of shape (n_avoid, 2), optional
        Other marked points no label may cover (see :func:`layout_labels`).
    centered : bool, default=False
        Centre each label on its point where free (places such as cluster centres, not marks).
    """
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if not len(pts):
        return fig
    x_range, y_range, plot_px = _frame(fig)
    plain = [html.unescape(str(t)) for t in texts]  # the width of what is shown
    sx = plot_px[0] / max(x_range[1] - x_range[0], 1e-12)
    sy = plot_px[1] / max(y_range[1] - y_range[0], 1e-12)
    equal = fig.layout.yaxis.scaleanchor is not None  # plotly keeps one scale for both axes
    if equal:
        sx = sy = min(sx, sy)
    cx, cy = (x_range[0] + x_range[1]) / 2, (y_range[0] + y_range[1]) / 2
    taken = []
    for a in fig.layout.annotations:
        if a.name == LABEL_NAME:
            w, h = text_box_px(html.unescape(re.sub(r"</?b>", "", str(a.text))), font_px)
            x, y = (float(a.x) - cx) * sx, -(float(a.y) - cy) * sy
            x0 = x - w / 2 if a.xanchor in (None, "center") else (x if a.xanchor == "left" else x - w)
            taken.append((x0, y - h / 2, x0 + w, y + h / 2))
    lay = layout_labels(
        pts,
        plain,
        x_range=x_range,
        y_range=y_range,
        plot_px=plot_px,
        font_px=font_px,
        equal_scale=equal,
        obstacles_px=taken,
        avoid_xy=avoid_xy,
        centered=centered,
    )
    shapes, notes = [], []
    for i, text in enumerate(texts):
        if lay.leader[i]:
            shapes.append(
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "y",
                    "x0": float(pts[i, 0]),
                    "y0": float(pts[i, 1]),
                    "x1": float(lay.edge[i, 0]),
                    "y1": float(lay.edge[i, 1]),
                    "line": {"color": "#777", "width": 1},
                    "layer": "above",
                    "name": LABEL_NAME,
                }
            )
        shown = f"<b>{text}</b>" if bold is not None and bold[i] else str(text)
        notes.append(
            {
                "x": float(lay.xy[i, 0]),
                "y": float(lay.xy[i, 1]),
                "xref": "x",
                "yref": "y",
                "text": shown,
                "showarrow": False,
                "xanchor": lay.anchor[i],
                "yanchor": "middle",
                "name": LABEL_NAME,
                "font": {"size": font_px, "color": color},
                "bgcolor": "rgba(255,255,255,0.78)",
                "borderpad": 1,
            }
        )
    # one assignment each: plotly's add_annotation/add_shape copy the whole tuple per call
    fig.layout.annotations = (*fig.layout.annotations, *notes)
    if shapes:
        fig.layout.shapes = (*fig.layout.shapes, *shapes)
    return fig
