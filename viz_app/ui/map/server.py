"""HTTP routes of the live map: its JavaScript bundle, its data files and per-row answers.

Served by Starlette routes added to Streamlit's own server (``st.App(..., routes=map_routes())``
in ``streamlit_app.py``; ``streamlit run streamlit_app.py`` detects the ``App`` and serves it):

- ``GET {base}/_lens/map/js/{build}/lens-map.js``: the bundle (gzip-compressed once, in memory),
  ``Cache-Control: public, max-age=31536000, immutable``: a browser downloads it once;
- ``GET {base}/_lens/map/blob/{token}``: a map file (points, labels, kNN graph, a large row set),
  immutable: its token is derived from its content;
- ``GET {base}/_lens/map/rows/{token}/row/{i}``: tooltip details of row ``i`` (full label, the
  chosen metadata columns, a thumbnail for image data);
- ``GET {base}/_lens/map/rows/{token}/knn/{i}?k=``: the neighbours of row ``i``, for maps above
  the shipped-graph size (200k points); computed in a worker thread.

Why a route and not Streamlit's static serving: static files must sit in a ``static/`` folder
next to the main script (not writable in an installed package, never evicted, on disk for
everyone), need ``server.enableStaticServing`` and are sent without immutable caching; the
``/media`` endpoint lives only for one session's script run. A route serves from the bounded
in-memory :class:`~viz_app.map.blobs.BlobStore` with the cache headers we choose. Routes run
outside Streamlit sessions, so the tokens are HMACs under a per-process secret: a page knows the
URLs of its own maps only. Map files are sent uncompressed (``Content-Encoding: identity``):
float32 positions barely compress, and Starlette would gzip megabytes on the event loop per
request.
"""

from __future__ import annotations

import gzip
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from viz_app.map.blobs import BlobStore
from viz_app.map.prepare import MapData
from viz_app.map.view import MapUrls

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["ASSETS", "STORE", "bundle_meta", "bundle_url", "map_routes", "put_file", "serve_map", "url_prefix"]

ASSETS = Path(__file__).resolve().parent / "assets"
#: The process's store of map files (bounded, least recently used evicted first).
STORE = BlobStore()
IMMUTABLE = "public, max-age=31536000, immutable"
_TOKEN = re.compile(r"[0-9a-f]{32}")


@lru_cache(maxsize=1)
def bundle_meta() -> dict:
    """``assets/lens-map.json``: the bundle's file name, its SHA-256 and its sources' SHA-256."""
    return json.loads((ASSETS / "lens-map.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _bundle_gz() -> bytes:
    return gzip.compress((ASSETS / bundle_meta()["file"]).read_bytes(), compresslevel=9, mtime=0)


def url_prefix() -> str:
    """``/<server.baseUrlPath>/_lens/map`` (no trailing slash)."""
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/_lens/map" if base else "/_lens/map"


def bundle_url() -> str:
    """Path of the current bundle; it changes whenever the bundle does."""
    return f"{url_prefix()}/js/{bundle_meta()['bundle_sha256'][:16]}/lens-map.js"


def serve_map(data: MapData) -> MapUrls:
    """Put ``data``'s files and row answers in :data:`STORE` (no copy; a no-op when present);
    return their URLs."""
    p, enc = url_prefix(), data.encoded
    tokens = {name: STORE.put(blob, digest=enc.digests[name]) for name, blob in enc.blobs.items()}
    rows = STORE.put_object(data.key, data.details, nbytes=data.details.nbytes)
    return MapUrls(
        points=f"{p}/blob/{tokens['points']}",
        labels=f"{p}/blob/{tokens['labels']}" if "labels" in tokens else None,
        knn=f"{p}/blob/{tokens['knn']}" if "knn" in tokens else None,
        details=f"{p}/rows/{rows}",
    )


def put_file(blob: bytes) -> str:
    """Store one more file (e.g. a large row set); return its URL."""
    return f"{url_prefix()}/blob/{STORE.put(blob)}"


async def _bundle(request: Request) -> Response:
    from starlette.responses import PlainTextResponse, Response

    if request.path_params["build"] != bundle_meta()["bundle_sha256"][:16]:
        return PlainTextResponse("unknown bundle", status_code=404)
    gz = "gzip" in request.headers.get("accept-encoding", "")
    body = _bundle_gz() if gz else (ASSETS / bundle_meta()["file"]).read_bytes()
    headers = {"Cache-Control": IMMUTABLE, "Content-Encoding": "gzip" if gz else "identity", "Vary": "Accept-Encoding"}
    return Response(body, media_type="text/javascript", headers=headers)


async def _blob(request: Request) -> Response:
    from starlette.responses import PlainTextResponse, Response

    token = request.path_params["token"]
    blob = STORE.get(token) if _TOKEN.fullmatch(token) else None
    if blob is None:
        return PlainTextResponse("not found", status_code=404)
    headers = {"Cache-Control": IMMUTABLE, "Content-Encoding": "identity"}
    return Response(blob, media_type="application/octet-stream", headers=headers)


async def _rows(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse, PlainTextResponse

    token, what = request.path_params["token"], request.path_params["what"]
    details = STORE.get_object(token) if _TOKEN.fullmatch(token) else None
    try:
        row = int(request.path_params["row"])
        k = int(request.query_params.get("k", "10"))
    except ValueError:
        return PlainTextResponse("bad row or k", status_code=400)
    if details is None:
        return PlainTextResponse("not found", status_code=404)
    if not (0 <= row < details.n) or not (1 <= k <= 50) or what not in ("row", "knn"):
        return PlainTextResponse("bad row, k or request", status_code=400)
    if what == "row":
        body = details.row(row)
    else:
        body = {"rows": await run_in_threadpool(details.neighbors, row, k)}
    return JSONResponse(body, headers={"Cache-Control": "private, max-age=3600"})


def map_routes() -> list:
    """The Starlette routes of the live map, for ``st.App(..., routes=map_routes())``.

    Returns
    -------
    list of starlette.routing.Route
        Under :func:`url_prefix` (``server.baseUrlPath`` is read now: call this after Streamlit
        loaded its config, as ``streamlit run`` does before importing the app module).
    """
    from starlette.routing import Route

    p = url_prefix()
    return [
        Route(p + "/js/{build}/lens-map.js", _bundle, methods=["GET"]),
        Route(p + "/blob/{token}", _blob, methods=["GET"]),
        Route(p + "/rows/{token}/{what}/{row}", _rows, methods=["GET"]),
    ]
