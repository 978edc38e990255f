"""The map's file store (HMAC tokens, bounded bytes) and its HTTP routes, driven as an ASGI app."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json

import numpy as np
import pytest

from viz_app.map.blobs import BlobStore
from viz_app.map.encode import unpack


def test_tokens_are_hmacs_not_digests():
    data = b"x" * 100
    a, b = BlobStore(), BlobStore()
    ta, tb = a.put(data), b.put(data)
    assert len(ta) == 32 and int(ta, 16) >= 0
    assert ta != tb  # another process (secret) cannot derive the token ...
    assert hashlib.sha256(data).hexdigest()[:32] != ta  # ... nor can anyone from the content hash
    assert a.get(ta) == data and a.get(tb) is None and b.get(tb) == data
    assert BlobStore(secret=b"k").put(data) == BlobStore(secret=b"k").put(data)  # deterministic per secret


def test_store_is_bounded_lru():
    s = BlobStore(max_bytes=1000)
    t1, t2 = s.put(b"1" * 400), s.put(b"2" * 400)
    assert s.get(t1) is not None  # t1 used: t2 is now the least recently used
    t3 = s.put(b"3" * 400)
    assert s.get(t2) is None and s.get(t1) is not None and s.get(t3) is not None
    assert s.nbytes == 800 and len(s) == 2
    big = s.put(b"4" * 5000)  # larger than the budget: kept alone
    assert s.get(big) is not None and len(s) == 1


def test_objects_and_bytes_do_not_mix():
    s = BlobStore()
    tok = s.put_object("key", {"a": 1}, nbytes=10)
    assert s.get_object(tok) == {"a": 1} and s.get(tok) is None
    assert s.get_object(s.put(b"z")) is None


def _call(app, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    path, _, qs = path.partition("?")
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": qs.encode(),
        "root_path": "",
        "server": ("t", 80),
        "client": ("c", 1),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    out: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        out.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in out if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in out if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


@pytest.fixture(scope="module")
def app_and_map(digits_set):
    from starlette.applications import Starlette

    from viz_app.map.prepare import prepare_map
    from viz_app.ui.map.server import map_routes, serve_map

    es = digits_set.subset(np.arange(300))
    md = prepare_map(es, es.vectors[:, :2], k=5, image_shape=(8, 8))
    return Starlette(routes=map_routes()), md, serve_map(md)


def test_bundle_route_is_immutable_and_gzipped(app_and_map):
    from viz_app.ui.map.server import ASSETS, bundle_url

    app = app_and_map[0]
    status, headers, body = _call(app, bundle_url(), {"Accept-Encoding": "gzip, br"})
    assert status == 200 and headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["content-encoding"] == "gzip" and headers["content-type"].startswith("text/javascript")
    assert gzip.decompress(body) == (ASSETS / "lens-map.js").read_bytes()
    assert len(body) < 0.4 * len(gzip.decompress(body))
    assert _call(app, bundle_url().replace("/js/", "/js/0"))[0] == 404


def test_blob_routes(app_and_map):
    app, md, urls = app_and_map
    status, headers, body = _call(app, urls.points)
    assert status == 200 and body == md.encoded.blobs["points"]
    assert headers["cache-control"].endswith("immutable") and headers["content-encoding"] == "identity"
    assert unpack(_call(app, urls.knn)[2])[0]["k"] == 5
    prefix = urls.points.rsplit("/", 1)[0]
    assert _call(app, prefix + "/" + "0" * 32)[0] == 404  # unknown token
    assert _call(app, prefix + "/../../etc")[0] == 404  # malformed token


def test_row_routes(app_and_map):
    app, md, urls = app_and_map
    status, _, body = _call(app, urls.details + "/row/3")
    row = json.loads(body)
    assert status == 200 and row["label"] == md.details.es.labels[3] and row["image"]["w"] == 8
    status, _, body = _call(app, urls.details + "/knn/3?k=4")
    from viz_app.explore.neighbors import knn_indices

    assert json.loads(body)["rows"] == knn_indices(md.details.es, [3], k=4)[0].tolist()
    assert _call(app, urls.details + "/knn/3?k=99")[0] == 400
    assert _call(app, urls.details + "/row/300")[0] == 400
    assert _call(app, urls.details + "/row/x")[0] == 400
    assert _call(app, urls.details + "/other/3")[0] == 400
    assert _call(app, urls.details.rsplit("/", 1)[0] + "/" + "f" * 32 + "/row/1")[0] == 404
