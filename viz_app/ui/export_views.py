"""Export panel of the Explore page: report figure (PNG/SVG/PDF, datamapplot + matplotlib, no
browser), data (CSV, parquet, Embedding Projector folder as .zip) and the settings JSON that
re-creates the map. Images are rendered only when a download button is pressed (``data=``
callables)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from viz_app.data.model import EmbeddingSet
from viz_app.errors import VizAppError
from viz_app.export.figure import MAX_REGIONS, close_figure, figure_bytes, report_figure
from viz_app.export.interactive import MAX_HTML_POINTS, interactive_html
from viz_app.export.projector import export_projector, export_table
from viz_app.export.settings import settings_for, settings_json
from viz_app.map.prepare import MapData
from viz_app.reduce import Projection
from viz_app.ui import viewstate
from viz_app.ui.map.server import ASSETS, bundle_meta
from viz_app.ui.trust_views import finished_report

_MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf", "html": "text/html"}


def _slug(name: str) -> str:
    keep = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    return "-".join(filter(None, keep.split("-")))[:60] or "map"


def _table_bytes(es: EmbeddingSet, proj: Projection, fmt: str, clusters: Sequence[Any] | None) -> bytes:
    buf = io.BytesIO()
    export_table(es, proj, buf, fmt=fmt, clusters=clusters)
    return buf.getvalue()


def _projector_zip(es: EmbeddingSet, proj: Projection) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        export_projector(es, tmp, projection=proj)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(Path(tmp).iterdir()):
                zf.write(f, arcname=f.name)
        return buf.getvalue()


def view_settings(es: EmbeddingSet, proj: Projection, *, color_by: str | None, dataset_ref: dict) -> dict:
    """The settings record of the view on screen now (focus, camera, search, ... from the
    session; the map's trust figures when computed), as the export panel's files carry it."""
    report = finished_report(es, proj)
    return settings_for(
        es,
        proj,
        dataset_ref=dataset_ref,
        color_by=color_by,
        view=viewstate.current_view(es, proj.params),
        trust=report.summary() if report is not None else None,
    )


def export_panel(
    es: EmbeddingSet,
    proj: Projection,
    *,
    color_by: str | None,
    latest: dict,
    clusters: Sequence[Any] | None = None,
    color: pd.Series | None = None,
    md: MapData | None = None,
) -> None:
    """Download buttons for the current view; every file carries (or comes with) its settings.

    ``latest``: the live map's latest run (``focus`` id or None, ``view``
    :class:`MapView`, ``settings`` from :func:`view_settings`), updated by the map's own
    fragment after this panel was drawn (a click reruns only the map): the files are made from
    it when a button is pressed, so they follow the last click.
    ``color`` holds the colour values when ``color_by`` is not a metadata column (the
    clusters): the figure is coloured by them, not by a column lookup that would fail.
    ``md``: the live map's data, exported with ``latest["view"]`` as one self-contained
    interactive HTML page (:func:`viz_app.export.interactive.interactive_html`).
    The report figure draws its own regions when ``color_by`` is not a metadata column."""
    with st.expander("Export: report figure, interactive HTML, data, settings"):
        c1, c2, c3, c4 = st.columns([3, 1, 1, 1])
        title = c1.text_input("Title", value=es.name, key="export_title", max_chars=200)
        dpi = c2.selectbox("PNG dpi", [100, 150, 200, 300], index=1, key="export_dpi")
        size_in = float(c3.number_input("Size (inches)", 6, 20, 10, step=1, key="export_size"))
        zoom = c4.checkbox("Zoom to focus", value=False, key="export_zoom", help="Needs a focus (click a point).")
        report = finished_report(es, proj)  # the map's trust figures, when computed
        base = _slug(title or es.name)
        known = color_by if color_by in es.metadata.columns else None
        categorical = known if known and es.metadata[known].nunique() <= MAX_REGIONS else None
        categorical = None if categorical and es.metadata[categorical].dtype.kind == "f" else categorical

        def settings() -> dict:
            return latest.get("settings") or {}

        def render(fmt: str) -> Callable[[], bytes]:
            def make() -> bytes:
                focus = latest.get("focus")
                if fmt == "html" and md is not None and latest.get("view") is not None:
                    return interactive_html(
                        md.encoded,
                        latest["view"],
                        bundle_js=(ASSETS / bundle_meta()["file"]).read_text(encoding="utf-8"),
                        title=title or es.name,
                        caption=f"{es.name} · {es.n_samples:,} points · {proj.params.describe()} · "
                        + (f"{report.caption()} · " if report is not None else "")
                        + "click a point to see its nearest neighbours (original space, cosine)",
                    )
                try:
                    fig = report_figure(
                        es,
                        proj,
                        color_by=categorical,
                        focus=focus,
                        title=title,
                        zoom=zoom and focus is not None,
                        size_in=size_in,
                    )
                except VizAppError as exc:  # e.g. datamapplot missing: a one-line text file says why
                    return f"Could not draw the figure: {exc}\n".encode()
                try:
                    return figure_bytes(fig, fmt, dpi=dpi, settings=settings())
                finally:
                    close_figure(fig)

            return make

        st.caption(
            "Report figure (datamapplot): labelled regions ("
            + (f"by {color_by}" if categorical else "clusters of the map")
            + "), title and parameters; the focus ★ and its neighbours labelled. "
            + "HTML: the live map in one offline file (opens from disk; a click highlights neighbours)"
        )
        cols = st.columns(4)
        for col, fmt in zip(cols, ("png", "svg", "pdf", "html")):
            col.download_button(
                fmt.upper(),
                data=render(fmt),
                file_name=f"{base}.{fmt}",
                mime=_MIME[fmt],
                key=f"dl_{fmt}",
                disabled=fmt == "html" and (md is None or es.n_samples > MAX_HTML_POINTS),
                width="stretch",
                on_click="ignore",
            )
        st.caption("Data (coordinates, cluster, metadata; CSV formulas neutralised) and settings")
        cols = st.columns(4)
        cols[0].download_button(
            "CSV",
            data=lambda: _table_bytes(es, proj, "csv", clusters),
            file_name=f"{base}.csv",
            mime="text/csv",
            key="dl_csv",
            width="stretch",
            on_click="ignore",
        )
        cols[1].download_button(
            "Parquet",
            data=lambda: _table_bytes(es, proj, "parquet", clusters),
            file_name=f"{base}.parquet",
            mime="application/octet-stream",
            key="dl_parquet",
            width="stretch",
            on_click="ignore",
        )
        cols[2].download_button(
            "Projector (.zip)",
            data=lambda: _projector_zip(es, proj),
            file_name=f"{base}-projector.zip",
            mime="application/zip",
            key="dl_projector",
            width="stretch",
            on_click="ignore",
            help="tensors.tsv + metadata.tsv + projector_config.json for projector.tensorflow.org",
        )
        cols[3].download_button(
            "Settings JSON",
            data=lambda: settings_json(settings()),
            file_name=f"{base}.settings.json",
            mime="application/json",
            key="dl_settings",
            width="stretch",
            on_click="ignore",
            help="Load it on the Data page to re-create this map (same data, same coordinates).",
        )
