"""Compact row sets and the per-rerun view JSON: round trips, sizes, validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from viz_app.errors import ParameterError
from viz_app.map.blobs import BlobStore
from viz_app.map.encode import encode_map, unpack
from viz_app.map.rowsets import as_rows, decode_rows, encode_rows
from viz_app.map.view import Arrow, Highlight, Label, MapUrls, MapView, Marker, view_payload

RNG = np.random.default_rng(1)


@pytest.mark.parametrize("n, count", [(10, 0), (10, 3), (1000, 5), (1000, 900), (100_000, 100_000), (100_000, 7)])
def test_rows_round_trip(n, count):
    rows = np.sort(RNG.choice(n, size=count, replace=False))
    spec = encode_rows(rows, n)
    assert spec["n"] == count
    assert decode_rows(spec, n).tolist() == rows.tolist()


def test_smallest_form_is_chosen():
    assert "packed" in encode_rows([1, 2, 3], 10_000)
    assert "bits" in encode_rows(np.arange(5000), 10_000)
    # a 100k selection of a 100k map: a 12.5 kB bitset, under 20 kB of base64
    spec = encode_rows(np.arange(100_000), 100_000, inline_max_bytes=20_000)
    assert "bits" in spec and len(json.dumps(spec)) < 17_000


def test_large_sets_go_by_url_and_come_back():
    store = BlobStore()
    rows = RNG.choice(1_000_000, size=100_000, replace=False)
    spec = encode_rows(rows, 1_000_000, put=lambda b: "/x/" + store.put(b))
    assert set(spec) == {"n", "url"} and len(json.dumps(spec)) < 100
    back = decode_rows(spec, 1_000_000, get=lambda url: store.get(url.rsplit("/", 1)[1]))
    assert back.tolist() == sorted(rows.tolist())
    assert unpack(store.get(spec["url"].rsplit("/", 1)[1]))[0]["kind"] == "rows"


def test_as_rows_accepts_masks_and_dedups():
    assert as_rows(np.array([True, False, True]), 3).tolist() == [0, 2]
    assert as_rows([3, 1, 3], 5).tolist() == [1, 3]


@pytest.mark.parametrize(
    "rows, match",
    [([5], "row 5 is outside 0..4"), ([-1], "outside"), ([0.5], "integers"), (np.array([True, False]), "mask")],
)
def test_as_rows_rejects(rows, match):
    with pytest.raises(ParameterError, match=match):
        as_rows(rows, 5, what="highlight 'x'")


@pytest.mark.parametrize("spec", [{"n": 1}, {"n": 1, "packed": "!!"}, {"n": 1, "packed": "AAAAAP8AAAA="}])
def test_decode_rejects_malformed(spec):
    with pytest.raises(ParameterError):
        decode_rows(spec, 3)


@pytest.fixture(scope="module")
def small_map():
    pos = RNG.normal(size=(2000, 2)) * 10
    return pos, encode_map(pos, labels=[str(i) for i in range(2000)], knn=np.tile(np.arange(1, 21), (2000, 1)))


URLS = MapUrls(points="/p", labels="/l", knn="/k", details="/d")


def test_view_payload_is_small_and_normalised(small_map):
    pos, m = small_map
    view = MapView(
        focus=7,
        k=10,
        highlights=[Highlight("search", [1, 2, 3], label=True)],
        arrows=[Arrow(pos[1], pos[2], label="- man")],
        markers=[Marker(pos[3] + 1, label="result")],
        labels=[Label("cluster 1", position=pos[4], style="cluster"), Label(row=9)],
    )
    payload = view_payload(view, m, URLS, height=600)
    raw = json.dumps(payload)
    assert len(raw) < 2500
    assert payload["focus"] == 7 and payload["k"] == 10 and payload["map"]["n"] == 2000
    assert payload["arrows"][0]["from"] == pytest.approx(m.to_normalised(pos[1]))
    assert max(abs(x) for x in payload["markers"][0]["at"]) < 1.2
    assert payload["sets"][0]["rows"] == {"n": 3, "packed": "AQAAAAIAAAADAAAA"}
    assert payload["labels"][1] == {"priority": 500.0, "style": "point", "color": None, "row": 9}
    assert payload["zoom"] is None and payload["selection"] is None


def test_view_payload_same_view_same_json(small_map):
    _, m = small_map
    v = MapView(focus=3, highlights=[Highlight("a", np.arange(100))])
    assert json.dumps(view_payload(v, m, URLS, height=500)) == json.dumps(view_payload(v, m, URLS, height=500))


def test_view_payload_with_big_selection_stays_under_20kb(small_map):
    pos = RNG.normal(size=(1_000_000, 2)).astype(np.float32)
    m = encode_map(pos)
    store = BlobStore()
    v = MapView(focus=5, selection=np.arange(0, 1_000_000, 3), highlights=[Highlight("search", np.arange(50_000))])
    payload = view_payload(v, m, URLS, height=600, put=lambda b: "/b/" + store.put(b))
    assert len(json.dumps(payload)) < 2_000
    assert payload["selection"]["n"] == 333_334 and "url" in payload["selection"]


@pytest.mark.parametrize(
    "view, match",
    [
        (MapView(focus=2000), "focus row 2000"),
        (MapView(k=51), "k=51"),
        (MapView(point_size=0), "point_size"),
        (MapView(highlights=[Highlight("a", [1]), Highlight("a", [2])]), "unique"),
        (MapView(highlights=[Highlight("a", [1], style="glow")]), "style"),
        (MapView(highlights=[Highlight("a", [2000])]), "highlight 'a': row 2000"),
        (MapView(arrows=[Arrow((0, 0, 0), (1, 1, 1))]), "2-D map"),
        (MapView(zoom_to="everything"), "zoom_to"),
        (MapView(labels=[Label("x")]), "row or a position"),
        (MapView(markers=[Marker((0, 0), color="blue")]), "colour"),
        (MapView(markers=[Marker((0, 0), shape="heart")]), "shape"),
    ],
)
def test_view_payload_rejects(small_map, view, match):
    with pytest.raises(ParameterError, match=match):
        view_payload(view, small_map[1], URLS, height=600)


def test_zoom_request_carries_its_sequence(small_map):
    p = view_payload(MapView(zoom_to=[1, 5], zoom_seq=3), small_map[1], URLS, height=600)
    assert p["zoom"] == {"to": {"n": 2, "packed": "AQAAAAUAAAA="}, "seq": 3}
    assert view_payload(MapView(zoom_to="focus"), small_map[1], URLS, height=600)["zoom"]["to"] == "focus"
