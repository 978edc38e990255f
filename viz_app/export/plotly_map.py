"""The plotly scatter behind the report figure (:mod:`viz_app.export.figure`) and
``viz_app.scatter_map``: arrays and DataFrames in, ``plotly.graph_objects.Figure`` out.

The app's pages draw the live map (``viz_app.ui.map``, deck.gl); this builder remains for the
static report figure (PNG/SVG/PDF through kaleido) until that moves to datamapplot. 2-D maps use
WebGL (``Scattergl``), 3-D maps ``Scatter3d``; every point carries its row id in ``customdata``.
User text (labels, category names) is HTML-escaped and truncated before it reaches any plotly
text, hover or legend field, because plotly renders a subset of HTML in them.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import NDArray

from viz_app.errors import ParameterError
from viz_app.map.colors import MAX_CATEGORIES, MAX_LABEL_CHARS, NOISE, OTHER_COLOR, PALETTE

__all__ = ["MAX_CATEGORIES", "color_kind", "gl_text", "safe_text", "scatter_map"]

# one palette for every renderer: the live map's (viz_app.map.colors)
_PALETTE = PALETTE
_OTHER_COLOR = OTHER_COLOR


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
        traces.append(
            _trace(
                coords,
                np.ones(n, bool),
                customdata=ids_arr,
                text=text,
                hovertemplate=hover,
                marker={**marker, "color": _PALETTE[0]},
                name="points",
                showlegend=False,
            )
        )
    elif color_kind(color) == "continuous":
        vals = pd.to_numeric(color, errors="coerce").to_numpy(dtype=float)
        cname = safe_text([color_name or "value"])[0]
        hv = f"%{{text}}<br>{cname}: %{{marker.color:.4g}}<extra></extra>"
        traces.append(
            _trace(
                coords,
                np.ones(n, bool),
                customdata=ids_arr,
                text=text,
                hovertemplate=hv,
                showlegend=False,
                marker={
                    **marker,
                    "color": vals,
                    "colorscale": "Viridis",
                    "showscale": True,
                    "colorbar": {"title": {"text": cname}, "thickness": 14},
                },
                name=cname,
            )
        )
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
        traces.append(
            _trace(
                coords,
                mask,
                customdata=ids_arr[mask],
                text=text[mask],
                hovertemplate=hover,
                marker={**marker, "color": col},
                name=f"{name} ({counts[cat]:,})",
                legendgroup=name,
                legendrank=1000 + i,
            )
        )
    return traces


def _layout(fig: go.Figure, dims: int, title: str | None, legend_title: str | None, height: int, revision: str) -> None:
    axis = {"showticklabels": False, "title": None, "zeroline": False, "showgrid": True, "gridcolor": "#eeeeee"}
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 60 if title else 36, "b": 10},
        title={"text": safe_text([title], max_chars=200)[0]} if title else None,
        legend={
            "title": {"text": safe_text([legend_title], max_chars=40)[0]} if legend_title else None,
            "itemsizing": "constant",
            "bgcolor": "rgba(255,255,255,0.7)",
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": -0.01,
            "yanchor": "top",
        },
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
