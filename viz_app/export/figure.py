"""Report figures in the style of **datamapplot** (Leland McInnes): a static matplotlib map with
labelled regions, the focus and its neighbours marked and labelled, a title and a subtitle.
PNG (at a chosen DPI), SVG and PDF, with no browser involved.

- :func:`map_figure` builds the figure (pure: nothing is written). Regions are the clusters of a
  map file, or a categorical metadata column (``color_by``), else KMeans clusters computed on the
  fly (12, seeded, in the original space, :func:`viz_app.explore.clusters.cluster`), each named
  by :func:`viz_app.explore.clusters.cluster_table`. Region labels and the focus group's labels
  are placed together by datamapplot's ``render_plot`` around the map, with leader lines that it
  un-crosses; the focus is a black star, its ``n_neighbors`` nearest neighbours (original space)
  black-ringed dots. ``zoom=True`` frames the focus group (the points in that window only).
- :func:`save_figure` / :func:`figure_bytes` write PNG/SVG/PDF with matplotlib; the settings record
  is embedded where the format allows (PNG ``tEXt``, SVG ``<metadata>``, PDF ``Keywords``) and
  written beside the file (``<path>.settings.json``).

Fonts are DejaVu Sans (shipped with matplotlib); datamapplot is told to use system fonts only, so
it never asks Google Fonts for one (nothing is fetched at run time).
"""

from __future__ import annotations

import io
import os
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.errors import MissingDependencyError, ParameterError, UnknownIdError
from viz_app.explore.clusters import cluster, cluster_table
from viz_app.explore.neighbors import knn_indices
from viz_app.export.mapfile import MapResult
from viz_app.export.settings import embed_in_png, embed_in_svg, save_settings, settings_json, sidecar_path
from viz_app.reduce.project import Projection

__all__ = [
    "FIGURE_FORMATS",
    "MAX_REGIONS",
    "close_figure",
    "export_figure",
    "figure_bytes",
    "map_figure",
    "report_figure",
]

FIGURE_FORMATS = ("png", "svg", "pdf")
FONT = "DejaVu Sans"
NOISE = "Unlabelled"
MAX_REGIONS = 40
_WRAP = 18


def _datamapplot() -> Any:
    """datamapplot's ``render_plot`` and palette helpers (imported on first use: its import
    compiles datashader's numba kernels, ~8 s of CPU)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        import matplotlib

        matplotlib.use("Agg")
        from datamapplot import palette_handling
        from datamapplot.plot_rendering import render_plot
    except ImportError as exc:
        raise MissingDependencyError(
            f"report figures need datamapplot ({exc.name} is missing): pip install --no-deps -r requirements-nodeps.txt"
        ) from None
    return render_plot, palette_handling


def _regions(m: MapResult, color_by: str | None, n_clusters: int) -> tuple[NDArray[np.object_], str]:
    """A region name per row and what the regions are (for the subtitle)."""
    es = m.es
    if color_by is not None:
        if color_by not in es.metadata.columns:
            raise ParameterError(
                f"color_by={color_by!r} is not a metadata column; columns: {list(es.metadata.columns)}"
            )
        values = es.metadata[color_by]
        if pd.api.types.is_float_dtype(values) or values.nunique(dropna=True) > MAX_REGIONS:
            raise ParameterError(
                f"color_by={color_by!r} has {values.nunique()} distinct values; report figures colour by a "
                f"category of at most {MAX_REGIONS} values"
            )
        names = values.astype(str).where(values.notna(), NOISE).to_numpy(dtype=object)
        return names, f"coloured by {color_by}"
    if m.clusters is not None:
        return m.cluster_names.astype(object), "regions: clusters of the map file"  # type: ignore[union-attr]
    c = cluster(
        es, method="kmeans", k=min(n_clusters, es.n_samples), space="projection", coords=m.projection.coords[:, :2]
    )
    table = cluster_table(es, c)
    names_by = {int(r.cluster): str(r.label) for r in table.itertuples()}
    return np.array([names_by[int(i)] for i in c.labels_], dtype=object), f"regions: {c.k} KMeans clusters of the map"


def plain(text: object, limit: int = 60) -> str:
    """User text as matplotlib shows it literally: ``$`` escaped (matplotlib would parse
    ``$...$`` as mathtext, and fail on an unbalanced one), one line, at most ``limit`` characters."""
    t = " ".join(str(text).split())
    t = t if len(t) <= limit else t[: limit - 1] + "…"
    return t.replace("$", r"\$")


def _normalised(coords: NDArray[np.float32]) -> NDArray[np.float64]:
    """The first two axes, centred and scaled to a span of 20 (datamapplot's glow and label
    radius are in data units, tuned for UMAP-sized maps; a PCA map can span 0.5 or 500)."""
    xy = np.asarray(coords[:, :2], dtype=np.float64)
    xy = xy - xy.mean(axis=0)
    span = float(np.ptp(xy, axis=0).max())
    return xy * (20.0 / span) if span > 0 else xy


def _row(es: EmbeddingSet, focus: str) -> int:
    hits = np.flatnonzero(es.labels == focus)
    if len(hits) == 0:
        hits = np.flatnonzero(es.ids == focus)
    if len(hits) == 0:
        raise UnknownIdError(f"focus {focus!r} is neither a label nor an id of {es.name}")
    return int(hits[0])


def _neighbours(m: MapResult, row: int, k: int) -> NDArray[np.intp]:
    if m.knn is not None and m.knn.shape[1] >= k:
        return m.knn[row, :k].astype(np.intp)
    return knn_indices(m.es, [row], k=k)[0]


def _as_result(source: MapResult | tuple[EmbeddingSet, Projection]) -> MapResult:
    if isinstance(source, MapResult):
        return source
    es, proj = source
    return MapResult(es, proj)


def map_figure(
    source: MapResult | tuple[EmbeddingSet, Projection],
    *,
    focus: str | None = None,
    n_neighbors: int = 10,
    color_by: str | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    zoom: bool = False,
    n_clusters: int = 12,
    size_in: float = 10.0,
) -> Any:
    """A report figure of a 2-D map (datamapplot's ``render_plot``, matplotlib).

    Parameters
    ----------
    source : MapResult, or (EmbeddingSet, Projection)
        A map file's content (:func:`viz_app.export.mapfile.load_map`) or a set and its
        projection (3-D maps are drawn from their first two axes).
    focus : str, optional
        Label (first match) or id of the item to mark with its ``n_neighbors`` nearest neighbours
        (original space: the map file's kNN graph, else :func:`viz_app.explore.neighbors.knn_indices`).
    n_neighbors : int, default=10
        1..30.
    color_by : str, optional
        A categorical metadata column (at most :data:`MAX_REGIONS` values); default: the map
        file's clusters, else KMeans clusters.
    title, subtitle : str, optional
        Default: the set's name; the number of points, the projection and what the colours are.
    zoom : bool, default=False
        Frame the focus and its neighbours (needs ``focus``).
    n_clusters : int, default=12
        KMeans clusters when there is neither ``color_by`` nor stored clusters.
    size_in : float, default=10.0
        Width and height of the figure, inches (4..30).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ParameterError
        Bad ``color_by``/``n_neighbors``/``size_in``, ``zoom`` without ``focus``.
    UnknownIdError
        ``focus`` is not in the set.
    MissingDependencyError
        datamapplot is not installed.
    """
    m = _as_result(source)
    es, proj = m.es, m.projection
    if not 1 <= n_neighbors <= 30:
        raise ParameterError(f"n_neighbors must be in 1..30, got {n_neighbors}")
    if not 4 <= size_in <= 30:
        raise ParameterError(f"size_in must be in 4..30 inches, got {size_in}")
    if zoom and focus is None:
        raise ParameterError("zoom needs a focus")
    render_plot, palettes = _datamapplot()
    xy = _normalised(proj.coords)
    names, what = _regions(m, color_by, n_clusters)
    row = _row(es, focus) if focus is not None else None
    nbrs = _neighbours(m, row, n_neighbors) if row is not None else np.empty(0, np.intp)
    keep = np.arange(es.n_samples)
    if zoom and row is not None:
        group = xy[np.r_[row, nbrs]]
        lo, hi = group.min(axis=0), group.max(axis=0)
        pad = np.maximum((hi - lo) * 0.6, 0.05 * (xy.max(axis=0) - xy.min(axis=0)))
        keep = np.flatnonzero(((xy >= lo - pad) & (xy <= hi + pad)).all(axis=1))
    regions = [r for r in pd.unique(names) if r != NOISE]
    centres = np.array([xy[names == r].mean(axis=0) for r in regions]).reshape(-1, 2)
    palette = palettes.palette_from_datamap(xy, centres) if len(regions) else []
    colour_of = dict(zip(regions, palette))
    colours = [colour_of.get(n, "#bbbbbb") for n in names[keep]]
    inside = [i for i, r in enumerate(regions) if not zoom]
    label_text = [textwrap.fill(plain(regions[i]), _WRAP, break_long_words=False) for i in inside]
    label_xy = [centres[i] for i in inside]
    sizes = [float((names == regions[i]).sum()) for i in inside]
    text_colours = list(palettes.deep_palette([colour_of[regions[i]] for i in inside])) if inside else []
    highlight: list[str] = []
    if row is not None:
        biggest = max(sizes, default=100)
        for j, r in enumerate(np.r_[row, nbrs]):
            label_text.append(plain(es.labels[r], 40))
            label_xy.append(xy[r])
            sizes.append(biggest * (1.5 if j == 0 else 0.6))
            text_colours.append("#000000")
        highlight = [plain(es.labels[row], 40)]
    n = len(keep)
    point_size = float(np.clip(128 * 4 ** (-np.log10(max(n, 10))), 0.05, 64) * size_in / 2) * 4
    fig, ax = render_plot(
        xy[keep],
        colours,
        label_text,
        np.asarray(label_xy, dtype=np.float64).reshape(-1, 2),
        np.asarray(sizes, dtype=np.float64),
        title=plain(title or es.name, 120),
        sub_title=plain(subtitle, 300) if subtitle else _subtitle(es, proj, what, focus, n_neighbors, zoom),
        title_keywords={"fontsize": 20, "fontweight": "bold"},
        sub_title_keywords={"fontsize": 11, "fontweight": "normal", "color": "#555555", "linespacing": 1.4},
        point_size=point_size,
        alpha=float(np.clip(0.6 if n < 2000 else 0.35, 0.05, 1)),
        label_text_colors=text_colours,
        highlight_labels=highlight,
        highlight_label_keywords={"fontweight": "bold", "fontsize": 13},
        label_font_size=11,
        font_family=FONT,
        use_system_fonts=True,
        add_glow=not zoom,
        figsize=(size_in, size_in),
        dpi=100,
        noise_color="#bbbbbb",
        verbose=False,
    )
    ax.set_frame_on(False)
    if row is not None:
        ax.scatter(*xy[nbrs].T, s=60, facecolors="none", edgecolors="#000000", linewidths=1.4, zorder=5)
        ax.scatter(*xy[row], s=260, marker="*", c="#000000", edgecolors="#ffffff", linewidths=1.0, zorder=6)
    return fig


def _subtitle(es: EmbeddingSet, proj: Projection, what: str, focus: str | None, k: int, zoom: bool) -> str:
    lines = [f"{es.n_samples:,} points × {es.n_features} dims · {proj.params.describe()}", what]
    if focus is not None:
        lines[1] += f" · ★ {plain(focus, 40)} and its {k} nearest neighbours (original space)" + (
            ", zoomed" if zoom else ""
        )
    return "\n".join(textwrap.shorten(t, 110, placeholder="…") for t in lines)


def report_figure(
    es: EmbeddingSet,
    projection: Projection,
    *,
    color_by: str | None = None,
    focus: str | None = None,
    title: str | None = None,
    **options: Any,
) -> Any:
    """:func:`map_figure` of ``(es, projection)``: the app's export panel and the Python API."""
    return map_figure((es, projection), color_by=color_by, focus=focus, title=title, **options)


def figure_bytes(fig: Any, fmt: str, *, dpi: int = 150, settings: Mapping[str, Any] | None = None) -> bytes:
    """The figure as PNG (``dpi`` 50..600), SVG or PDF bytes, with ``settings`` embedded.

    Raises
    ------
    ParameterError
        Unknown format or ``dpi`` out of range.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS:
        raise ParameterError(f"unknown figure format {fmt!r}; allowed: {', '.join(FIGURE_FORMATS)}")
    if not 50 <= dpi <= 600:
        raise ParameterError(f"dpi must be in 50..600, got {dpi}")
    buf = io.BytesIO()
    meta: dict[str, Any] = {"png": {"Software": "Embedding Lens"}, "svg": {}, "pdf": {"Creator": "Embedding Lens"}}[fmt]
    if fmt == "pdf" and settings is not None:
        meta["Keywords"] = settings_json(settings)
    import matplotlib

    # SVG: labels stay <text> elements (searchable, editable); PDF: embedded TrueType fonts
    with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta, facecolor="white", bbox_inches="tight", pad_inches=0.3)
    data = buf.getvalue()
    if settings is not None and fmt == "png":
        data = embed_in_png(data, settings)
    elif settings is not None and fmt == "svg":
        data = embed_in_svg(data, settings)
    return data


def export_figure(
    fig: Any, path: str | os.PathLike[str], *, dpi: int = 150, settings: Mapping[str, Any] | None = None
) -> Path:
    """Write the figure to ``path`` (format from its extension: .png, .svg, .pdf); with
    ``settings``, also ``<path>.settings.json``. Returns the path."""
    path = Path(path)
    path.write_bytes(figure_bytes(fig, path.suffix, dpi=dpi, settings=settings))
    if settings is not None:
        save_settings(settings, sidecar_path(path))
    return path


def close_figure(fig: Any) -> None:
    """Release a figure (pyplot keeps every figure it made until closed)."""
    import matplotlib.pyplot as plt

    plt.close(fig)
