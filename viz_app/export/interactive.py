"""The interactive HTML export: the live map's own bundle and the map's files in one page.

:func:`interactive_html` writes a self-contained, offline HTML file: the same JavaScript bundle
the app uses (deck.gl, ``frontend/``) inlined as a module, the map's binary files (positions,
colours, labels, the kNN graph cut to the view's ``k``) inlined as base64, and the view (focus,
highlights, arrows, labels) as JSON. It opens from ``file://`` with no server and no network:
clicks highlight a point's neighbours from the shipped graph, the toolbar zooms, selects and
resets as in the app. The page's text is escaped (``html.escape``); the data sits in a
``<script type="application/json">`` block with every ``</`` escaped, so no label can close it.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re

import numpy as np

from viz_app.errors import ParameterError
from viz_app.map.encode import EncodedMap, pack, unpack
from viz_app.map.view import MapUrls, MapView, view_payload

__all__ = ["MAX_HTML_POINTS", "interactive_html"]

#: Largest map exported as an interactive page (the page holds every file in memory twice).
MAX_HTML_POINTS = 200_000

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Embedding Lens">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.2rem 2rem; color: #262730; }}
h1 {{ font-size: 1.4rem; margin: 0 0 .3rem; }}
p.caption {{ color: #555; font-size: .9rem; margin: 0 0 .8rem; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="caption">{caption}</p>
<div id="lens-map-root"></div>
<script type="application/json" id="lens-data">{data}</script>
<script type="module">{bundle}</script>
<script type="module">
const d = JSON.parse(document.getElementById("lens-data").textContent);
globalThis.LensMapStandalone(document.getElementById("lens-map-root"), d.view, d.files);
</script>
</body>
</html>
"""


def _script_safe(text: str) -> str:
    """Text that cannot end the ``<script>`` element it is put in (``</`` and ``<!--`` escaped)."""
    return re.sub(r"<(/|!--)", lambda m: "<\\" + m.group(1), text)


def _trim_knn(m: EncodedMap, k: int) -> EncodedMap:
    if "knn" not in m.blobs or m.knn_k <= k:
        return m
    _, sections = unpack(m.blobs["knn"])
    g = np.ascontiguousarray(np.asarray(sections["indices"]).reshape(m.n, -1)[:, :k], dtype=np.uint32)
    blobs = {**m.blobs, "knn": pack("knn", {"indices": g}, n=m.n, k=k)}
    return dataclasses.replace(m, blobs=blobs, knn_k=k)


def interactive_html(
    m: EncodedMap, view: MapView, *, bundle_js: str, title: str, caption: str = "", height: int = 700
) -> bytes:
    """One self-contained HTML page drawing map ``m`` with ``view`` (see the module docstring).

    Parameters
    ----------
    m : EncodedMap
        The map's files (``viz_app.map.prepare.MapData.encoded``).
    view : MapView
        What is drawn over the points; ``view.k`` neighbours are shipped per point (at most the
        map's own graph: none for maps without one, e.g. above 200,000 points).
    bundle_js : str
        The live map's bundle (``viz_app/ui/map/assets/lens-map.js``).
    title, caption : str
        Plain text shown above the map (escaped).
    height : int, default=700
        Map height, CSS pixels.

    Returns
    -------
    bytes
        UTF-8 HTML. About 0.67 MB of script plus 4/3 of the map's files (10k points, k=10:
        ~1.5 MB).

    Raises
    ------
    ParameterError
        More than :data:`MAX_HTML_POINTS` points, or a view that does not fit the map.
    """
    if m.n > MAX_HTML_POINTS:
        raise ParameterError(f"the interactive HTML export holds up to {MAX_HTML_POINTS:,} points, not {m.n:,}")
    m = _trim_knn(m, max(1, int(view.k)))
    urls = MapUrls(
        points="inline:points",
        labels="inline:labels" if "labels" in m.blobs else None,
        knn="inline:knn" if "knn" in m.blobs else None,
        details=None,
    )
    payload = view_payload(dataclasses.replace(view, zoom_to=None), m, urls, height=height)
    files = {f"inline:{name}": base64.b64encode(blob).decode("ascii") for name, blob in m.blobs.items()}
    data = _script_safe(json.dumps({"view": payload, "files": files}, separators=(",", ":")))
    page = _PAGE.format(
        title=html.escape(title), caption=html.escape(caption), data=data, bundle=_script_safe(bundle_js)
    )
    return page.encode("utf-8")
