"""Exports for reports and for other tools: PNG/SVG/PDF and HTML figures here; tables (CSV,
parquet) and TensorFlow Embedding Projector folders in :mod:`viz_app.export.projector`.

- :func:`report_figure` restyles :func:`viz_app.export.plotly_map.scatter_map` for print: white
  background, 16 px text, a title, a caption with the dataset and projection parameters, text
  labels for chosen ids, and SVG ``go.Scatter`` traces instead of WebGL ones (kaleido rasterises
  WebGL into an ``<image>`` inside SVG/PDF; SVG traces stay vector graphics, one element per
  point).
- :func:`figure_bytes` / :func:`export_figure` render images with **kaleido** 1.x, which drives a
  headless Chromium through choreographer. One Chromium is started lazily and kept for the
  process (:mod:`viz_app.export.render`), so only the first image pays the browser start (~2.5 s on
  an idle machine, up to 7 s on a busy one).
  HTML is plotly's ``Figure.to_html`` with plotly.js inline (works offline).
- With ``settings=`` (:func:`viz_app.export.settings.settings_for`), every export writes the sidecar
  ``<path>.settings.json`` and embeds the settings where the format allows (PNG ``tEXt``, SVG
  ``<metadata>``, HTML ``<script type="application/json">``).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError
from viz_app.export import render
from viz_app.export.plotly_map import safe_text, scatter_map
from viz_app.export.projector import check_pair, export_projector, export_table, load_projector
from viz_app.export.render import CHROME_HELP, ImageRenderer, find_chrome, start_renderer, stop_renderer
from viz_app.export.settings import embed_in_html, embed_in_png, embed_in_svg, save_settings, sidecar_path
from viz_app.reduce import Projection

__all__ = [
    "CHROME_HELP",
    "FIGURE_FORMATS",
    "MAX_TEXT_LABELS",
    "ImageRenderer",
    "export_figure",
    "export_projector",
    "export_table",
    "figure_bytes",
    "find_chrome",
    "load_projector",
    "report_figure",
    "start_renderer",
    "stop_renderer",
]

FIGURE_FORMATS = ("png", "svg", "pdf", "html")
MAX_TEXT_LABELS = 60
_FONT = "Arial, Liberation Sans, Helvetica, sans-serif"


# --- report figure ----------------------------------------------------------------------------


def _color_values(es: EmbeddingSet, color_by: str | pd.Series | None) -> tuple[pd.Series | None, str | None]:
    if color_by is None:
        return None, None
    if isinstance(color_by, str):
        if color_by not in es.metadata.columns:
            cols = list(es.metadata.columns)
            raise ParameterError(f"color_by={color_by!r} is not a metadata column; columns: {cols}")
        return es.metadata[color_by].reset_index(drop=True), color_by
    values = pd.Series(np.asarray(color_by))
    if len(values) != es.n_samples:
        raise ParameterError(f"color_by has {len(values)} values for {es.n_samples} points")
    return values, str(getattr(color_by, "name", None) or "colour")


def _auto_point_size(n: int) -> float:
    return 7.0 if n <= 1_000 else 5.0 if n <= 5_000 else 4.0 if n <= 20_000 else 2.5 if n <= 100_000 else 1.5


def _as_svg_traces(fig: go.Figure) -> go.Figure:
    """Replace WebGL ``Scattergl`` traces by SVG ``Scatter`` traces (same properties).

    SVG text parses plotly's HTML subset (``<b>``, ``<a href>``), WebGL text does not: a WebGL
    trace's plain on-map ``text`` (``figures.gl_text``) is swapped for its escaped ``hovertext``.
    """
    data = []
    for t in fig.data:
        if t.type != "scattergl":
            data.append(t)
            continue
        d = {k: v for k, v in t.to_plotly_json().items() if k != "type"}
        if d.get("hovertext") is not None and "text" in (d.get("mode") or ""):
            d["text"] = d["hovertext"]
        data.append(go.Scatter(d))
    return go.Figure(data=data, layout=fig.layout)


def _callouts(pts: np.ndarray, span: np.ndarray, plot_px: tuple[float, float]) -> tuple[np.ndarray, list[str]]:
    """Label positions (data units) in two columns left/right of a tight group, stacked 24 px apart."""
    upp = float(max(span[0] / plot_px[0], span[1] / plot_px[1]))  # data units per pixel (equal aspect)
    right = pts[:, 0] >= np.median(pts[:, 0])
    if right.all():
        right = np.arange(len(pts)) % 2 == 0
    out = np.empty_like(pts)
    anchors = [""] * len(pts)
    for side in (True, False):
        idx = np.flatnonzero(right == side)
        if idx.size == 0:
            continue
        order = idx[np.argsort(-pts[idx, 1])]  # top to bottom
        ys = pts[order, 1].copy()
        for j in range(1, len(ys)):
            ys[j] = min(ys[j], ys[j - 1] - 24 * upp)
        out[order, 1] = ys + (pts[order, 1].mean() - ys.mean())
        out[order, 0] = pts[idx, 0].max() + 45 * upp if side else pts[idx, 0].min() - 45 * upp
        for r in order:
            anchors[r] = "left" if side else "right"
    return out, anchors


def _label_annotations(
    es: EmbeddingSet, coords: np.ndarray, ids: list[str], focus: str | None, plot_px: tuple[float, float]
) -> list[dict]:
    """One text label per id with a leader line; a tight 2-D group gets its labels in side columns."""
    rows = es.index_of(ids)
    pts = coords[rows, :2].astype(float)
    span = np.ptp(coords[:, :2], axis=0).astype(float) * 1.05 + 1e-12
    tight = coords.shape[1] == 2 and bool((np.ptp(pts, axis=0) <= 0.3 * span).all())
    place, anchors = _callouts(pts, span, plot_px) if tight else (None, None)
    out = []
    for i, (row, pid) in enumerate(zip(rows, ids)):
        text = str(safe_text([es.labels[row]], max_chars=40)[0])
        ann = {
            "text": f"<b>{text}</b>" if pid == focus else text,
            "showarrow": True,
            "arrowhead": 0,
            "arrowwidth": 1,
            "arrowcolor": "#666666",
            "font": {"size": 16 if pid == focus else 15},
            "x": float(coords[row, 0]),
            "y": float(coords[row, 1]),
            "bgcolor": "rgba(255,255,255,0.8)",
        }
        if coords.shape[1] == 3:
            ann.update(z=float(coords[row, 2]), ax=0, ay=-30)
        elif tight:
            ann.update(
                xref="x",
                yref="y",
                axref="x",
                ayref="y",
                ax=float(place[i, 0]),
                ay=float(place[i, 1]),
                xanchor=anchors[i],
            )
        else:
            ann.update(xref="x", yref="y", ax=0, ay=-26)
        out.append(ann)
    return out


def _highlight_trace(es: EmbeddingSet, coords: np.ndarray, ids: list[str], focus: str | None) -> Any:
    rows = es.index_of(ids)
    size = [15 if i == focus else 9 for i in ids]
    marker = {
        "size": size,
        "color": "rgba(0,0,0,0)",
        "line": {"color": "#111111", "width": 1.6},
        "symbol": ["star" if i == focus else "circle" for i in ids],
    }
    if coords.shape[1] == 3:  # Scatter3d has no star, and draws no outline on filled symbols
        marker.update(
            symbol=["diamond-open" if i == focus else "circle-open" for i in ids], line={"width": 2}, color="#111111"
        )
    common = {
        "mode": "markers",
        "marker": marker,
        "customdata": np.asarray(ids, dtype=object),
        "text": safe_text(es.labels[rows]),
        "hovertemplate": "%{text}<extra></extra>",
        "showlegend": False,
        "name": "labelled",
    }
    if coords.shape[1] == 3:
        return go.Scatter3d(x=coords[rows, 0], y=coords[rows, 1], z=coords[rows, 2], **common)
    return go.Scatter(x=coords[rows, 0], y=coords[rows, 1], **common)


def _caption_text(es: EmbeddingSet, projection: Projection, color_name: str | None) -> str:
    parts = [es.name, f"{es.n_samples:,} points", projection.params.describe()]
    if es.model_name:
        parts.append(f"model {es.model_name}")
    if color_name:
        parts.append(f"colour: {color_name}")
    return " · ".join(parts)


def report_figure(
    es: EmbeddingSet,
    projection: Projection,
    *,
    color_by: str | pd.Series | None = None,
    focus: str | None = None,
    labels_for: Collection[str] = (),
    title: str | None = None,
    caption: bool | str = True,
    width: int = 1200,
    height: int = 900,
    point_size: float | None = None,
    opacity: float = 0.75,
) -> go.Figure:
    """A print-ready map: :func:`~viz_app.export.plotly_map.scatter_map` restyled for reports.

    Parameters
    ----------
    es : EmbeddingSet
    projection : Projection
        ``coords`` of shape (n_samples, 2 or 3), float32, computed from ``es``.
    color_by : str or Series of length n_samples, optional
        Metadata column name (or values) to colour by; categorical columns get a legend,
        numeric ones with > 24 values a Viridis colour bar.
    focus : str, optional
        Id drawn with a star and a bold label.
    labels_for : collection of str
        Ids (e.g. the focus's neighbours) whose labels are drawn as text with a leader line; at
        most :data:`MAX_TEXT_LABELS`. ``focus`` is labelled too.
    title : str, optional
        Default: the dataset name; ``""`` for none. Escaped.
    caption : bool or str, default=True
        True: one line under the plot with dataset, number of points and the projection
        (:meth:`~viz_app.data.model.ProjectionParams.describe`); a str replaces it; False: none.
    width, height : int, default=1200, 900
        Layout size in CSS pixels, 200..4000 (images multiply it by ``scale``).
    point_size : float, optional
        Marker diameter in pixels, 1..30; default from n (7 px up to 1k points .. 1.5 px).
    opacity : float, default=0.75

    Returns
    -------
    plotly.graph_objects.Figure
        2-D maps use SVG ``go.Scatter`` traces (vector output, one ``path.point`` per point);
        3-D maps keep ``Scatter3d`` (rendered with WebGL, raster inside SVG/PDF). Every data
        point keeps its id in ``customdata``.

    Raises
    ------
    ParameterError
        ``projection`` not computed from ``es``; unknown ``color_by`` column; size out of range;
        more than :data:`MAX_TEXT_LABELS` labels.
    UnknownIdError
        ``focus`` or an id of ``labels_for`` is not in ``es``.
    """
    check_pair(es, projection)
    if not (200 <= width <= 4000 and 200 <= height <= 4000):
        raise ParameterError(f"width and height must be in 200..4000 px, got {width} x {height}")
    ids = list(dict.fromkeys(([focus] if focus is not None else []) + [str(i) for i in labels_for]))
    if len(ids) > MAX_TEXT_LABELS:
        raise ParameterError(f"at most {MAX_TEXT_LABELS} text labels, got {len(ids)}")
    color, cname = _color_values(es, color_by)
    coords = projection.coords
    size = _auto_point_size(es.n_samples) if point_size is None else point_size
    fig = scatter_map(
        coords, ids=es.ids, labels=es.labels, color=color, color_name=cname, point_size=size, opacity=opacity
    )
    if coords.shape[1] == 2:
        fig = _as_svg_traces(fig)
    if ids:
        fig.add_trace(_highlight_trace(es, coords, ids, focus))
    _report_layout(fig, title=es.name if title is None else title, width=width, height=height)
    legend_px = 0 if color is None else 110 if len(fig.data) == 1 + bool(ids) else 250
    plot_px = (width - 40 - legend_px, height - (56 if title or title is None else 20) - 40)
    anns = _label_annotations(es, coords, ids, focus, plot_px) if ids else []
    if coords.shape[1] == 3:
        fig.update_layout(scene={"annotations": anns})
    for ann in anns if coords.shape[1] == 2 else ():
        fig.add_annotation(**ann)
    text = _caption_text(es, projection, cname) if caption is True else (caption or "")
    if text:
        fig.add_annotation(
            text=str(safe_text([text], max_chars=300)[0]),
            xref="paper",
            yref="paper",
            x=0,
            y=0,
            yshift=-6,
            xanchor="left",
            yanchor="top",
            showarrow=False,
            font={"size": 14, "color": "#555555"},
        )
        fig.update_layout(margin={"b": 40})
    return fig


def _report_layout(fig: go.Figure, *, title: str, width: int, height: int) -> None:
    fig.update_layout(
        template="plotly_white",
        width=width,
        height=height,
        autosize=False,
        paper_bgcolor="white",
        plot_bgcolor="white",
        font={"family": _FONT, "size": 16, "color": "#222222"},
        title={"text": str(safe_text([title], max_chars=200)[0]), "x": 0.01, "xanchor": "left", "font": {"size": 22}}
        if title
        else None,
        margin={"l": 20, "r": 20, "t": 56 if title else 20, "b": 20},
        legend={
            "font": {"size": 16},
            "title": {"font": {"size": 16}},
            "itemsizing": "constant",
            "bgcolor": "rgba(255,255,255,0)",
            "borderwidth": 0,
            "tracegroupgap": 2,
            "orientation": "v",
            "x": 1.02,
            "xanchor": "left",
            "y": 1,
            "yanchor": "top",
        },
        uirevision=None,
        dragmode="zoom",
        hovermode="closest",
    )
    axis = {"showgrid": False, "zeroline": False, "showticklabels": False, "ticks": "", "title": None}
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    if fig.data and fig.data[0].type == "scatter3d":
        fig.update_layout(dragmode="orbit")


# --- figure export --------------------------------------------------------------------------


def _check_size(fmt: str, scale: float, width: int | None, height: int | None) -> None:
    if fmt not in FIGURE_FORMATS:
        raise ParameterError(f"unknown figure format {fmt!r}; use one of {FIGURE_FORMATS}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 1 <= scale <= 4:
        raise ParameterError(f"scale must be a number in 1..4, got {scale!r}")
    for what, v in (("width", width), ("height", height)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 100 <= v <= 8000):
            raise ParameterError(f"{what} must be an integer in 100..8000 px, got {v!r}")


def figure_bytes(
    fig: go.Figure,
    fmt: str,
    *,
    scale: float = 2,
    width: int | None = None,
    height: int | None = None,
    settings: Mapping[str, Any] | None = None,
) -> bytes:
    """Render a figure to PNG, SVG, PDF (kaleido + Chromium) or self-contained HTML (plotly).

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        Usually :func:`report_figure`. For SVG/PDF, WebGL ``Scattergl`` traces are drawn as SVG
        ``Scatter`` traces (same properties) so the points stay vector graphics.
    fmt : {"png", "svg", "pdf", "html"}
    scale : float, default=2
        1..4. PNG pixel size is ``(width * scale) x (height * scale)``; SVG/PDF are vector
        (their page size is ``width x height`` CSS px); HTML ignores it.
    width, height : int, optional
        Layout size in CSS px, 100..8000; default the figure's own (``layout.width``/``height``),
        else 1200 x 900.
    settings : mapping, optional
        Reproducibility settings (:func:`viz_app.export.settings.settings_for`) to embed: PNG ``tEXt``
        chunk, SVG ``<metadata>``, HTML ``<script type="application/json">``; not in PDF.

    Returns
    -------
    bytes
        The file content (HTML as UTF-8, with plotly.js inline: ~4.8 MB plus the data).

    Raises
    ------
    ParameterError
        Unknown ``fmt``; ``scale``, ``width`` or ``height`` out of range.
    MissingDependencyError
        PNG/SVG/PDF without Chrome/Chromium or kaleido (the message says what to install).
    """
    _check_size(fmt, scale, width, height)
    w = int(width or fig.layout.width or 1200)
    h = int(height or fig.layout.height or 900)
    if fmt == "html":
        page = fig.to_html(
            include_plotlyjs=True,
            full_html=True,
            default_width=f"{w}px",
            default_height=f"{h}px",
            config={"displaylogo": False, "responsive": False},
        )
        page = page.replace("<head>", "<head><title>Embedding Lens map</title>", 1)
        return (embed_in_html(page, settings) if settings else page).encode("utf-8")
    vector = fmt in ("svg", "pdf")  # WebGL traces would end up as a bitmap inside the file
    spec = (_as_svg_traces(fig) if vector else fig).to_dict()
    data = render.RENDERER.render(spec, fmt=fmt, width=w, height=h, scale=1 if vector else scale)
    if settings and fmt == "png":
        data = embed_in_png(data, settings)
    elif settings and fmt == "svg":
        data = embed_in_svg(data, settings)
    return data


def export_figure(
    fig: go.Figure,
    path: str | os.PathLike[str],
    *,
    scale: float = 2,
    width: int | None = None,
    height: int | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Path:
    """Write a figure to ``path``; the format comes from the suffix (.png, .svg, .pdf, .html).

    See :func:`figure_bytes` for the parameters. The image is rendered before the file is
    opened, so a failed render leaves no partial file. With ``settings``,
    ``<path>.settings.json`` is written next to it as well.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ParameterError
        Unknown suffix, or a size out of range.
    MissingDependencyError
        PNG/SVG/PDF without Chrome/Chromium.
    """
    out = Path(path)
    fmt = out.suffix.lower().lstrip(".")
    fmt = "html" if fmt == "htm" else fmt
    if fmt not in FIGURE_FORMATS:
        raise ParameterError(f"cannot tell the format from {out.name!r}; use a suffix among .png .svg .pdf .html")
    data = figure_bytes(fig, fmt, scale=scale, width=width, height=height, settings=settings)
    out.write_bytes(data)
    if settings:
        save_settings(settings, sidecar_path(out))
    return out
