"""Pure plotly figure builders: arrays and DataFrames in, ``plotly.graph_objects.Figure`` out.

"Prepare, then render" (as in datamapplot): nothing here knows about Streamlit. 2-D maps use
WebGL (``Scattergl``) so 100k points stay interactive; 3-D maps use ``Scatter3d``. Every point
carries its row id in ``customdata`` so selections map back to rows whatever the trace split.
User text (labels, category names) is HTML-escaped and truncated before it reaches any plotly
text, hover or legend field, because plotly renders a subset of HTML in them.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import NDArray

from viz_app.errors import ParameterError
from viz_app.labels import add_labels

__all__ = ["safe_text", "gl_text", "color_kind", "scatter_map", "overlay", "label_points", "extreme_rows",
           "expression_overlay", "MAX_CATEGORIES"]

MAX_CATEGORIES = 24
MAX_LABEL_CHARS = 80
_PALETTE = (
    "#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #bcbd22 #17becf #7f7f7f "
    "#393b79 #e7969c #637939 #d6616b #8ca252 #7b4173 #ce6dbd #3182bd #e6550d #31a354 "
    "#756bb1 #636363 #fd8d3c #74c476"
).split()
_OTHER_COLOR = "#c7c7c7"
NOISE = "noise"  # HDBSCAN's noise category is drawn grey, like "(other)"


def safe_text(values: Sequence[Any], *, max_chars: int = MAX_LABEL_CHARS) -> NDArray[np.object_]:
    """HTML-escape and truncate user strings for plotly text/hover/legend fields.

    Parameters
    ----------
    values : sequence of any, length n
        Converted with ``str``.
    max_chars : int, default=80
        Longer strings are cut and end with an ellipsis.

    Returns
    -------
    ndarray of shape (n,), dtype object (str)
        ``<``, ``>``, ``&`` and quotes escaped (``html.escape``); newlines become spaces.
    """
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        s = str(v).replace("\r", " ").replace("\n", " ")
        if len(s) > max_chars:
            s = s[: max_chars - 1] + "…"
        out[i] = html.escape(s, quote=True)
    return out


def gl_text(values: Sequence[Any], *, max_chars: int = MAX_LABEL_CHARS) -> NDArray[np.object_]:
    """Truncate user strings for the on-map text of WebGL traces (``Scattergl`` and
    ``Scatter3d`` ``text`` shown with ``mode="markers+text"``), which plotly draws as glyphs
    (gl3d: vectorize-text, which styles ``<b>``/``<i>``/``<sub>`` but parses no HTML and decodes no
    entities): escaping them would show ``&lt;`` literally. Hover text goes through :func:`safe_text`.

    Returns
    -------
    ndarray of shape (n,), dtype object (str)
        Newlines become spaces; longer strings are cut and end with an ellipsis.
    """
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        s = str(v).replace("\r", " ").replace("\n", " ")
        out[i] = s if len(s) <= max_chars else s[: max_chars - 1] + "…"
    return out


def color_kind(values: pd.Series) -> str:
    """``"continuous"`` for numeric columns with more than 24 distinct values, else ``"categorical"``."""
    if pd.api.types.is_bool_dtype(values) or isinstance(values.dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values) and values.nunique(dropna=True) > MAX_CATEGORIES:
        return "continuous"
    return "categorical"


def _trace(coords: NDArray[np.float32], mask: NDArray[np.bool_], **kw: Any) -> go.Scattergl | go.Scatter3d:
    c = coords[mask]
    if coords.shape[1] == 3:
        return go.Scatter3d(x=c[:, 0], y=c[:, 1], z=c[:, 2], mode="markers", **kw)
    return go.Scattergl(x=c[:, 0], y=c[:, 1], mode="markers", **kw)


def scatter_map(
    coords: NDArray[np.float32],
    *,
    ids: Sequence[str],
    labels: Sequence[str],
    color: pd.Series | None = None,
    color_name: str | None = None,
    point_size: float = 5.0,
    opacity: float = 0.8,
    title: str | None = None,
    height: int = 680,
    revision: str = "",
) -> go.Figure:
    """Scatter plot of a projection: one marker per item, hover shows its label.

    Parameters
    ----------
    coords : ndarray of shape (n_samples, 2 or 3), dtype float32
    ids : sequence of str, length n_samples
        Stored in ``customdata`` (selection events map back through it).
    labels : sequence of str, length n_samples
        Hover text; escaped with :func:`safe_text`.
    color : Series of length n_samples, optional
        Metadata column to colour by. Categorical (:func:`color_kind`): one trace per category
        with a legend, the 24 largest categories kept and the rest grey as "(other)".
        Continuous: one trace with a Viridis colour bar.
    color_name : str, optional
        Legend/colour-bar title (escaped).
    point_size : float, default=5
        Marker diameter in pixels, 1..30.
    opacity : float, default=0.8
        Marker opacity, 0.05..1.
    title : str, optional
        Figure title (escaped).
    revision : str
        plotly ``uirevision``: zoom and camera survive reruns while it is unchanged.

    Returns
    -------
    plotly.graph_objects.Figure

    Raises
    ------
    ParameterError
        Shapes disagree, or size/opacity out of range.
    """
    coords = np.asarray(coords, dtype=np.float32)
    n = coords.shape[0]
    if coords.ndim != 2 or coords.shape[1] not in (2, 3) or len(ids) != n or len(labels) != n:
        raise ParameterError(f"coords {coords.shape}, {len(ids)} ids, {len(labels)} labels do not match")
    if not (1 <= point_size <= 30 and 0.05 <= opacity <= 1):
        raise ParameterError(f"point_size must be in 1..30 and opacity in 0.05..1, got {point_size}, {opacity}")
    ids_arr = np.asarray(ids, dtype=object)
    text = safe_text(labels)
    marker = {"size": point_size if coords.shape[1] == 2 else max(1.0, point_size * 0.6), "opacity": opacity}
    hover = "%{text}<extra></extra>"
    traces: list[Any] = []
    if color is None:
        traces.append(_trace(coords, np.ones(n, bool), customdata=ids_arr, text=text, hovertemplate=hover,
                             marker={**marker, "color": _PALETTE[0]}, name="points", showlegend=False))
    elif color_kind(color) == "continuous":
        vals = pd.to_numeric(color, errors="coerce").to_numpy(dtype=float)
        cname = safe_text([color_name or "value"])[0]
        hv = f"%{{text}}<br>{cname}: %{{marker.color:.4g}}<extra></extra>"
        traces.append(_trace(coords, np.ones(n, bool), customdata=ids_arr, text=text, hovertemplate=hv, showlegend=False,
                             marker={**marker, "color": vals, "colorscale": "Viridis", "showscale": True,
                                     "colorbar": {"title": {"text": cname}, "thickness": 14}}, name=cname))
    else:
        traces += _category_traces(coords, ids_arr, text, color, marker, hover)
    fig = go.Figure(traces)
    _layout(fig, coords.shape[1], title, color_name if color is not None else None, height, revision)
    return fig


def _category_traces(coords, ids_arr, text, color, marker, hover) -> list[Any]:
    cats = color.astype("string").fillna("(missing)").to_numpy(dtype=object)
    order = pd.Series(cats).value_counts(sort=True)
    keep = list(order.index[:MAX_CATEGORIES])
    if len(order) > MAX_CATEGORIES:
        cats = np.where(pd.Series(cats).isin(keep), cats, "(other)")
    if isinstance(color.dtype, pd.CategoricalDtype):  # the column's own category order
        rank = {str(c): i for i, c in enumerate(color.cat.categories)}
        keep = sorted(keep, key=lambda c: rank.get(c, len(rank)))
    else:
        try:  # numeric-looking categories read best in numeric order (digits 0..9, years)
            keep = sorted(keep, key=float)
        except ValueError:
            pass
    names = keep + (["(other)"] if len(order) > MAX_CATEGORIES else [])
    counts = {c: int((cats == c).sum()) for c in names}
    traces = []
    # largest categories are drawn first (underneath), so small ones stay visible; the legend
    # keeps the category order through legendrank
    for cat in sorted(names, key=lambda c: -counts[c]):
        i = names.index(cat)
        mask = cats == cat
        col = _OTHER_COLOR if cat in ("(other)", NOISE) else _PALETTE[i % len(_PALETTE)]
        name = str(safe_text([cat], max_chars=40)[0])
        traces.append(_trace(coords, mask, customdata=ids_arr[mask], text=text[mask], hovertemplate=hover,
                             marker={**marker, "color": col}, name=f"{name} ({counts[cat]:,})", legendgroup=name,
                             legendrank=1000 + i))
    return traces


def _layout(fig: go.Figure, dims: int, title: str | None, legend_title: str | None, height: int, revision: str) -> None:
    axis = {"showticklabels": False, "title": None, "zeroline": False, "showgrid": True, "gridcolor": "#eeeeee"}
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 60 if title else 36, "b": 10},
        title={"text": safe_text([title], max_chars=200)[0]} if title else None,
        legend={"title": {"text": safe_text([legend_title], max_chars=40)[0]} if legend_title else None,
                "itemsizing": "constant", "bgcolor": "rgba(255,255,255,0.7)",
                "orientation": "h", "x": 0, "xanchor": "left", "y": -0.01, "yanchor": "top"},
        hoverlabel={"namelength": 0},
        uirevision=revision or "map",
        dragmode="pan" if dims == 2 else "orbit",
    )
    if dims == 2:
        fig.update_xaxes(**axis)
        fig.update_yaxes(**axis, scaleanchor="x", scaleratio=1)
    else:
        ax3 = {"showticklabels": False, "title": "", "showbackground": False, "gridcolor": "#e5e5e5"}
        fig.update_layout(scene={"xaxis": ax3, "yaxis": ax3, "zaxis": ax3, "aspectmode": "data"})


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
    laid out by :func:`viz_app.labels.add_labels` so none overlaps another (those in a dense
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
        kw = dict(customdata=ids_arr[order], text=plain[order], hovertext=text[order],
                  hovertemplate="%{hovertext}<extra>" + name + "</extra>",
                  marker=marker, name=name, mode=mode, textposition="top center", legendrank=3000 + len(fig.data),
                  textfont={"size": 12, "color": "#222"})
        c = coords[order]
        if three_d:
            fig.add_trace(go.Scatter3d(x=c[:, 0], y=c[:, 1], z=c[:, 2], **kw))
        else:
            fig.add_trace(go.Scattergl(x=c[:, 0], y=c[:, 1], **kw))

    add(matches, f"matches ({len(matches):,})",
        {"size": s + 6, "color": "rgba(0,0,0,0)", "line": {"width": 2, "color": "#111"}, "symbol": "circle-open" if three_d else "circle"})
    add(selected, f"selected ({len(selected):,})",
        {"size": s + 2, "color": "#1f77b4", "line": {"width": 1, "color": "#08306b"}})
    # 3-D: WebGL text at the points; 2-D: laid-out labels (no overlaps, leader lines in clusters)
    text_mode = "markers+text" if three_d else "markers"
    add(neighbors, f"neighbours ({len(neighbors)})",
        {"size": s + 5, "color": "#ffb000", "line": {"width": 1, "color": "#5c3d00"}}, mode=text_mode)
    if focus is not None:
        add([focus], "focus", {"size": s + 12, "color": "#d62728", "symbol": "star" if not three_d else "diamond",
                               "line": {"width": 1, "color": "#4a0000"}}, mode=text_mode)
    if not three_d:
        if focus is not None:
            add_labels(fig, coords[[focus]], text[[focus]], color="#8b0000", bold=[True])
        nb = np.asarray(list(neighbors), dtype=np.intp)
        add_labels(fig, coords[nb], text[nb])
    return fig


def label_points(fig: go.Figure, coords: NDArray[np.float32], labels: Sequence[str], rows: Sequence[int],
                 *, name: str = "labelled") -> go.Figure:
    """Add labels (and dark markers) for ``rows`` of a 2-D map (in place; returned), laid out
    without overlaps by :func:`viz_app.labels.add_labels` (escaped SVG annotations).

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
        fig.add_trace(go.Scattergl(x=c[:, 0], y=c[:, 1], mode="markers", text=gl_text(labels)[rows],
                                   hovertext=esc, marker={"size": 6, "color": "#222"},
                                   name=name, hovertemplate="%{hovertext}<extra></extra>"))
        add_labels(fig, c, esc, font_px=11)
    return fig


def extreme_rows(coords: NDArray[np.float32], n: int = 6) -> NDArray[np.intp]:
    """Rows with the ``n`` lowest and highest values on each axis of ``coords`` (n_samples, 2)."""
    c = np.asarray(coords)
    picks = [np.argsort(c[:, j], kind="stable")[:n] for j in range(c.shape[1])]
    picks += [np.argsort(-c[:, j], kind="stable")[:n] for j in range(c.shape[1])]
    return np.unique(np.concatenate(picks)).astype(np.intp)


def expression_overlay(fig: go.Figure, drawn: Any, *, point_size: float = 5.0,
                       nearest: tuple[NDArray[np.float32], Sequence[str], Sequence[str]] | None = None,
                       zoom: bool = True) -> go.Figure:
    """Draw an expression placed by :func:`viz_app.place.expression_on_map` (in place; returned).

    The other points are dimmed. The result is a black diamond labelled with the expression;
    each operand is ringed in purple and labelled with its signed coefficient; arrows go
    b → c (purple) and a → result (black) for an analogy ``a - b + c``, or from every operand to
    the result otherwise (2-D: plotly annotations; 3-D: line segments). ``nearest`` adds the
    items nearest to the result (gold, labelled). ``zoom`` (2-D) fits the axes to the operands,
    the result and the nearest item, with a margin. When the placement is approximate, a note
    in the map's corner says so. On 2-D maps the labels are laid out without overlaps by
    :func:`viz_app.labels.add_labels` (SVG annotations, escaped with :func:`safe_text`); on 3-D
    maps they are WebGL text at the points (plain, truncated: :func:`gl_text`). Hover text is
    always escaped.

    Parameters
    ----------
    drawn : viz_app.place.ExpressionOnMap
    nearest : (coords (k, n_components) float32, ids, labels), optional
    """
    res = np.asarray(drawn.result, dtype=np.float32)[None, :]
    three_d = res.shape[1] == 3
    s = point_size if not three_d else max(1.0, point_size * 0.6)
    for t in fig.data:
        t.marker.opacity = min(0.25, t.marker.opacity if t.marker.opacity is not None else 1.0)
    colors = {"offset": "#7b3294", "result": "#111111"}
    raw = [f"{'+' if c > 0 else '−'}{abs(c):g} {lab}" if abs(c) != 1 else f"{'+' if c > 0 else '−'} {lab}"
           for lab, c, _ in drawn.operands]
    op = np.array([xy for _, _, xy in drawn.operands], dtype=np.float32).reshape(-1, res.shape[1])
    Trace = go.Scatter3d if three_d else go.Scattergl

    def add(c, texts, name, extra, marker, ids=None, where="top center"):
        kw = {"x": c[:, 0], "y": c[:, 1], "mode": "markers+text" if three_d else "markers", "name": name,
              "legendrank": 5000, "text": gl_text(texts), "hovertext": safe_text(texts),
              "hovertemplate": "%{hovertext}<extra>" + extra + "</extra>", "marker": marker,
              "textposition": where, "textfont": {"size": 12, "color": "#222"}}
        if ids is not None:
            kw["customdata"] = np.asarray(ids, dtype=object)
        if three_d:
            kw["z"] = c[:, 2]
        fig.add_trace(Trace(**kw))

    near = np.asarray(nearest[0], np.float32) if nearest is not None and len(nearest[0]) else None
    if near is not None:
        add(near, list(nearest[2]), "nearest to the result", "nearest",
            {"size": s + 4, "color": "#ffb000", "line": {"width": 1, "color": "#5c3d00"}}, ids=list(nearest[1]))
    if three_d:
        for a, b, kind in drawn.arrows:
            seg = np.array([a, b], dtype=np.float32)
            fig.add_trace(go.Scatter3d(x=seg[:, 0], y=seg[:, 1], z=seg[:, 2], mode="lines", hoverinfo="skip",
                                       line={"color": colors[kind], "width": 5}, showlegend=False, name=kind))
    else:
        for a, b, kind in drawn.arrows:
            fig.add_annotation(x=float(b[0]), y=float(b[1]), ax=float(a[0]), ay=float(a[1]), xref="x", yref="y",
                               axref="x", ayref="y", showarrow=True, arrowhead=2, arrowsize=1.2, arrowwidth=2,
                               arrowcolor=colors[kind], standoff=8, startstandoff=6, text="")
    ring = ({"size": s + 6, "color": "#7b3294", "symbol": "circle-open"} if three_d else  # gl3d: colour draws the ring
            {"size": s + 8, "color": "rgba(0,0,0,0)", "symbol": "circle", "line": {"width": 2, "color": "#7b3294"}})
    add(op, raw, "operands", "operand", ring)
    add(res, [drawn.expr], "expression result", "result",
        {"size": s + 12, "color": "#111", "symbol": "diamond", "line": {"width": 1.5, "color": "#fff"}},
        where="bottom center")
    if zoom and not three_d:
        # operands, result and the best match: farther matches may lie off screen (they are listed)
        pts = np.vstack([op, res] + ([near[:1]] if near is not None else []))
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = np.maximum((hi - lo) * 0.25, 1e-3 + 0.02 * np.abs(hi))
        fig.update_xaxes(range=[float(lo[0] - pad[0]), float(hi[0] + pad[0])], autorange=False)
        fig.update_yaxes(range=[float(lo[1] - pad[1]), float(hi[1] + pad[1])], autorange=False)
    if not three_d:  # after the zoom: the layout is done at the scale shown
        add_labels(fig, res, safe_text([drawn.expr]), color="#111", bold=[True])
        add_labels(fig, op, safe_text(raw), color="#7b3294")
        if near is not None:
            add_labels(fig, near, safe_text(list(nearest[2])), color="#5c3d00")
    if drawn.approximate:
        fig.add_annotation(text=f"Result placement is approximate: {safe_text([drawn.method], max_chars=120)[0]}",
                           xref="paper", yref="paper", x=0.0, y=1.0, xanchor="left", yanchor="bottom",
                           showarrow=False, font={"size": 12, "color": "#8a4b00"}, bgcolor="rgba(255,243,224,0.9)")
    return fig
