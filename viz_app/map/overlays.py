"""Marks drawn on top of a map made by :func:`viz_app.map.figures.scatter_map`: the focus and its
neighbours, search matches and selections, labelled points, and a vector-arithmetic expression
placed on the map. Pure plotly, no Streamlit; every function edits the figure in place and
returns it. On 2-D maps labels are laid out without overlaps by :mod:`viz_app.map.labels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray

from viz_app.map.figures import gl_text, safe_text
from viz_app.map.labels import add_labels

__all__ = ["expression_overlay", "extreme_rows", "label_points", "overlay"]


def overlay(
    fig: go.Figure,
    coords: NDArray[np.float32],
    *,
    ids: Sequence[str],
    labels: Sequence[str],
    focus: int | None = None,
    neighbors: Sequence[int] = (),
    matches: Sequence[int] = (),
    selected: Sequence[int] = (),
    point_size: float = 5.0,
) -> go.Figure:
    """Highlight rows on a map made by :func:`scatter_map` (in place; also returned).

    When anything is highlighted the base traces are dimmed. Added traces, drawn on top, carry
    their ids in ``customdata`` too, so clicking a highlighted point selects it:
    search matches (open black rings), selected rows (dark outline), the focus's neighbours
    (gold, labelled) and the focus (red star, labelled in bold). On 2-D maps the labels are
    laid out by :func:`viz_app.map.labels.add_labels` so none overlaps another (those in a dense
    group go into a column beside it with leader lines); on 3-D maps they are WebGL text.

    Parameters
    ----------
    coords : ndarray of shape (n_samples, 2 or 3), dtype float32
    focus : int, optional
        Row index of the focus item.
    neighbors, matches, selected : sequence of int
        Row indices (the neighbours in rank order).
    """
    coords = np.asarray(coords, dtype=np.float32)
    ids_arr = np.asarray(ids, dtype=object)
    if focus is None and not len(neighbors) and not len(matches) and not len(selected):
        return fig
    for t in fig.data:  # dim the map's own traces, not the marks of an expression drawn before
        if (t.legendrank or 1000) < 3000:
            t.marker.opacity = 0.25
    text = safe_text(labels)
    plain = gl_text(labels)
    three_d = coords.shape[1] == 3
    s = point_size if not three_d else max(1.0, point_size * 0.6)

    def add(rows, name, marker, mode="markers"):
        rows = np.asarray(list(rows), dtype=np.intp)
        if rows.size == 0:
            return
        mask = np.zeros(len(coords), bool)
        mask[rows] = True
        order = rows  # keep the given order (neighbour rank) for text placement
        kw = dict(
            customdata=ids_arr[order],
            text=plain[order],
            hovertext=text[order],
            hovertemplate="%{hovertext}<extra>" + name + "</extra>",
            marker=marker,
            name=name,
            mode=mode,
            textposition="top center",
            legendrank=3000 + len(fig.data),
            textfont={"size": 12, "color": "#222"},
        )
        c = coords[order]
        if three_d:
            fig.add_trace(go.Scatter3d(x=c[:, 0], y=c[:, 1], z=c[:, 2], **kw))
        else:
            fig.add_trace(go.Scattergl(x=c[:, 0], y=c[:, 1], **kw))

    add(
        matches,
        f"matches ({len(matches):,})",
        {
            "size": s + 6,
            "color": "rgba(0,0,0,0)",
            "line": {"width": 2, "color": "#111"},
            "symbol": "circle-open" if three_d else "circle",
        },
    )
    add(
        selected,
        f"selected ({len(selected):,})",
        {"size": s + 2, "color": "#1f77b4", "line": {"width": 1, "color": "#08306b"}},
    )
    # 3-D: WebGL text at the points; 2-D: laid-out labels (no overlaps, leader lines in clusters)
    text_mode = "markers+text" if three_d else "markers"
    add(
        neighbors,
        f"neighbours ({len(neighbors)})",
        {"size": s + 5, "color": "#ffb000", "line": {"width": 1, "color": "#5c3d00"}},
        mode=text_mode,
    )
    if focus is not None:
        add(
            [focus],
            "focus",
            {
                "size": s + 12,
                "color": "#d62728",
                "symbol": "star" if not three_d else "diamond",
                "line": {"width": 1, "color": "#4a0000"},
            },
            mode=text_mode,
        )
    if not three_d:
        nb = np.asarray(list(neighbors), dtype=np.intp)
        marks = coords[np.concatenate([nb, [focus] if focus is not None else []]).astype(np.intp)]
        if focus is not None:
            add_labels(fig, coords[[focus]], text[[focus]], color="#8b0000", bold=[True], avoid_xy=marks)
        add_labels(fig, coords[nb], text[nb], avoid_xy=marks)
    return fig


def label_points(
    fig: go.Figure, coords: NDArray[np.float32], labels: Sequence[str], rows: Sequence[int], *, name: str = "labelled"
) -> go.Figure:
    """Add labels (and dark markers) for ``rows`` of a 2-D map (in place; returned), laid out
    without overlaps by :func:`viz_app.map.labels.add_labels` (escaped SVG annotations).

    Parameters
    ----------
    coords : ndarray of shape (n_samples, 2), dtype float32
    labels : sequence of str, length n_samples
    rows : sequence of int
        Row indices to label.
    """
    rows = np.asarray(list(rows), dtype=np.intp)
    if rows.size:
        c = np.asarray(coords, dtype=np.float32)[rows]
        esc = safe_text(labels)[rows]
        fig.add_trace(
            go.Scattergl(
                x=c[:, 0],
                y=c[:, 1],
                mode="markers",
                text=gl_text(labels)[rows],
                hovertext=esc,
                marker={"size": 6, "color": "#222"},
                name=name,
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
        add_labels(fig, c, esc, font_px=11)
    return fig


def extreme_rows(coords: NDArray[np.float32], n: int = 6) -> NDArray[np.intp]:
    """Rows with the ``n`` lowest and highest values on each axis of ``coords`` (n_samples, 2)."""
    c = np.asarray(coords)
    picks = [np.argsort(c[:, j], kind="stable")[:n] for j in range(c.shape[1])]
    picks += [np.argsort(-c[:, j], kind="stable")[:n] for j in range(c.shape[1])]
    return np.unique(np.concatenate(picks)).astype(np.intp)


def expression_overlay(
    fig: go.Figure,
    drawn: Any,
    *,
    point_size: float = 5.0,
    nearest: tuple[NDArray[np.float32], Sequence[str], Sequence[str]] | None = None,
    zoom: bool = True,
) -> go.Figure:
    """Draw an expression placed by :func:`viz_app.explore.place.expression_on_map` (in place; returned).

    The other points are dimmed. The result is a black diamond labelled with the expression;
    each operand is ringed in purple and labelled with its signed coefficient; arrows go
    b → c (purple) and a → result (black) for an analogy ``a - b + c``, or from every operand to
    the result otherwise (2-D: plotly annotations; 3-D: line segments). ``nearest`` adds the
    items nearest to the result (gold, labelled). ``zoom`` (2-D) fits the axes to the operands,
    the result and the nearest item, with a margin. When the placement is approximate, a note
    in the map's corner says so. On 2-D maps the labels are laid out without overlaps by
    :func:`viz_app.map.labels.add_labels` (SVG annotations, escaped with :func:`safe_text`); on 3-D
    maps they are WebGL text at the points (plain, truncated: :func:`gl_text`). Hover text is
    always escaped.

    Parameters
    ----------
    drawn : viz_app.explore.place.ExpressionOnMap
    nearest : (coords (k, n_components) float32, ids, labels), optional
    """
    res = np.asarray(drawn.result, dtype=np.float32)[None, :]
    three_d = res.shape[1] == 3
    s = point_size if not three_d else max(1.0, point_size * 0.6)
    for t in fig.data:
        t.marker.opacity = min(0.25, t.marker.opacity if t.marker.opacity is not None else 1.0)
    colors = {"offset": "#7b3294", "result": "#111111"}
    raw = [
        f"{'+' if c > 0 else '−'}{abs(c):g} {lab}" if abs(c) != 1 else f"{'+' if c > 0 else '−'} {lab}"
        for lab, c, _ in drawn.operands
    ]
    op = np.array([xy for _, _, xy in drawn.operands], dtype=np.float32).reshape(-1, res.shape[1])
    Trace = go.Scatter3d if three_d else go.Scattergl

    def add(c, texts, name, extra, marker, ids=None, where="top center"):
        kw = {
            "x": c[:, 0],
            "y": c[:, 1],
            "mode": "markers+text" if three_d else "markers",
            "name": name,
            "legendrank": 5000,
            "text": gl_text(texts),
            "hovertext": safe_text(texts),
            "hovertemplate": "%{hovertext}<extra>" + extra + "</extra>",
            "marker": marker,
            "textposition": where,
            "textfont": {"size": 12, "color": "#222"},
        }
        if ids is not None:
            kw["customdata"] = np.asarray(ids, dtype=object)
        if three_d:
            kw["z"] = c[:, 2]
        fig.add_trace(Trace(**kw))

    near = np.asarray(nearest[0], np.float32) if nearest is not None and len(nearest[0]) else None
    if near is not None:
        add(
            near,
            list(nearest[2]),
            "nearest to the result",
            "nearest",
            {"size": s + 4, "color": "#ffb000", "line": {"width": 1, "color": "#5c3d00"}},
            ids=list(nearest[1]),
        )
    if three_d:
        for a, b, kind in drawn.arrows:
            seg = np.array([a, b], dtype=np.float32)
            fig.add_trace(
                go.Scatter3d(
                    x=seg[:, 0],
                    y=seg[:, 1],
                    z=seg[:, 2],
                    mode="lines",
                    hoverinfo="skip",
                    line={"color": colors[kind], "width": 5},
                    showlegend=False,
                    name=kind,
                )
            )
    else:
        for a, b, kind in drawn.arrows:
            fig.add_annotation(
                x=float(b[0]),
                y=float(b[1]),
                ax=float(a[0]),
                ay=float(a[1]),
                xref="x",
                yref="y",
                axref="x",
                ayref="y",
                showarrow=True,
                arrowhead=2,
                arrowsize=1.2,
                arrowwidth=2,
                arrowcolor=colors[kind],
                standoff=8,
                startstandoff=6,
                text="",
            )
    ring = (
        {"size": s + 6, "color": "#7b3294", "symbol": "circle-open"}
        if three_d
        # gl3d: colour draws the ring
        else {"size": s + 8, "color": "rgba(0,0,0,0)", "symbol": "circle", "line": {"width": 2, "color": "#7b3294"}}
    )
    add(op, raw, "operands", "operand", ring)
    add(
        res,
        [drawn.expr],
        "expression result",
        "result",
        {"size": s + 12, "color": "#111", "symbol": "diamond", "line": {"width": 1.5, "color": "#fff"}},
        where="bottom center",
    )
    if zoom and not three_d:
        # operands, result and the best match: farther matches may lie off screen (they are listed)
        pts = np.vstack([op, res] + ([near[:1]] if near is not None else []))
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = np.maximum((hi - lo) * 0.25, 1e-3 + 0.02 * np.abs(hi))
        fig.update_xaxes(range=[float(lo[0] - pad[0]), float(hi[0] + pad[0])], autorange=False)
        fig.update_yaxes(range=[float(lo[1] - pad[1]), float(hi[1] + pad[1])], autorange=False)
    if not three_d:  # after the zoom: the layout is done at the scale shown; no label covers a mark
        marks = np.vstack([res, op] + ([near] if near is not None else []))
        add_labels(fig, res, safe_text([drawn.expr]), color="#111", bold=[True], avoid_xy=marks)
        add_labels(fig, op, safe_text(raw), color="#7b3294", avoid_xy=marks)
        if near is not None:
            add_labels(fig, near, safe_text(list(nearest[2])), color="#5c3d00", avoid_xy=marks)
    if drawn.approximate:
        fig.add_annotation(
            text=f"Result placement is approximate: {safe_text([drawn.method], max_chars=120)[0]}",
            xref="paper",
            yref="paper",
            x=0.0,
            y=1.0,
            xanchor="left",
            yanchor="bottom",
            showarrow=False,
            font={"size": 12, "color": "#8a4b00"},
            bgcolor="rgba(255,243,224,0.9)",
        )
    return fig
