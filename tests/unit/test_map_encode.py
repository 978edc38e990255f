"""The live map's data files: container round trips, normalisation, colours, labels, kNN, sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from viz_app.errors import DataFormatError, ParameterError
from viz_app.map.colors import MAX_CATEGORIES, OTHER_COLOR, PALETTE, VIRIDIS, clean_label, encode_colors, rgba
from viz_app.map.encode import encode_map, normalise, pack, unpack

RNG = np.random.default_rng(0)


def test_pack_round_trip_aligned_sections():
    secs = {
        "a": RNG.normal(size=(7, 3)).astype(np.float32),
        "b": np.arange(5, dtype=np.uint8),
        "c": np.arange(9, dtype=np.uint16),
        "d": np.arange(4, dtype=np.uint32),
    }
    blob = pack("test", secs, n=7, note="é")
    head, out = unpack(blob)
    assert head["kind"] == "test" and head["n"] == 7 and head["note"] == "é"
    for k, v in secs.items():
        assert out[k].dtype == v.dtype and np.array_equal(out[k], v)
        assert head["sections"][k]["offset"] % 8 == 0
    assert len(blob) % 8 == 0


def test_unpack_rejects_garbage():
    with pytest.raises(DataFormatError):
        unpack(b"PK\x03\x04rest")
    blob = pack("t", {"a": np.zeros(100, dtype=np.float32)})
    with pytest.raises(DataFormatError, match="truncated"):
        unpack(blob[:-40])


def test_pack_rejects_float64():
    with pytest.raises(ParameterError, match="float64"):
        pack("t", {"a": np.zeros(3)})


def test_normalise_keeps_aspect_and_inverts():
    p = np.array([[0, 0], [10, 2], [4, -2]], dtype=np.float32)
    norm, center, scale = normalise(p)
    assert np.abs(norm).max() == pytest.approx(1.0)
    assert center.tolist() == [5, 0] and scale == 5
    assert np.allclose(norm * scale + center, p, atol=1e-5)
    assert norm[:, 1].max() == pytest.approx(0.4)  # y spans 4 of x's 10: aspect kept
    assert normalise(np.ones((1, 3)))[2] == 1.0


@pytest.mark.parametrize("bad", [np.zeros((3,)), np.zeros((3, 4)), np.zeros((0, 2)), np.array([[0, 1], [np.nan, 1]])])
def test_normalise_rejects(bad):
    with pytest.raises(ParameterError):
        normalise(bad)


def test_categories_follow_the_plotly_policy():
    values = pd.Series(["b", "a", "b", "noise", "c", "b"])
    sections, header, legend = encode_colors(values, 6, title="kind")
    codes = sections["codes"]
    assert [legend["items"][i]["label"] for i in codes] == list(values)
    counts = {it["label"]: it["count"] for it in legend["items"]}
    assert counts == {"a": 1, "b": 3, "c": 1, "noise": 1}
    colours = {it["label"]: it["color"] for it in legend["items"]}
    assert colours["noise"] == rgba(OTHER_COLOR) and colours["b"] == rgba(PALETTE[0])  # most frequent first
    assert legend["title"] == "kind" and header["kind"] == "codes"


def test_many_categories_fold_into_other():
    values = pd.Series([f"c{i % 40}" for i in range(400)] + ["c0"] * 50)
    _, header, legend = encode_colors(values, len(values))
    assert len(legend["items"]) == MAX_CATEGORIES + 1
    assert legend["items"][-1]["label"] == "(other)" and legend["items"][-1]["count"] == 16 * 10
    assert header["palette"][-1] == rgba(OTHER_COLOR)


def test_numeric_labels_sort_numerically():
    _, _, legend = encode_colors(pd.Series(["10", "9", "1"]), 3)
    assert [it["label"] for it in legend["items"]] == ["1", "9", "10"]


def test_continuous_column_gets_a_colour_bar():
    v = np.linspace(-3, 7, 100)
    v[5] = np.nan
    sections, header, legend = encode_colors(pd.Series(v), 100, title="score")
    assert header == {"kind": "rgba"} and legend["kind"] == "colorbar"
    assert legend["min"] == -3 and legend["max"] == 7
    rgb = sections["rgba"]
    assert rgb[0, :3].tolist() == rgba("#440154")[:3] and rgb[-1, :3].tolist() == rgba("#fde725")[:3]
    assert rgb[5].tolist() == rgba(OTHER_COLOR)


def test_a_score_with_few_values_can_ask_for_a_colour_bar():
    # Jaccard@10 takes 11 values (s / (20 - s)): "auto" would make them 11 categories
    v = pd.Series([s / (20 - s) for s in range(11)] * 3 + [np.nan])
    assert encode_colors(v, len(v))[2]["kind"] == "categories"
    sections, header, legend = encode_colors(v, len(v), title="jaccard", scale="continuous", value_range=(0, 1))
    assert header == {"kind": "rgba"} and legend["kind"] == "colorbar" and (legend["min"], legend["max"]) == (0, 1)
    assert sections["rgba"][0, :3].tolist() == rgba(VIRIDIS[0])[:3]  # 0 -> the low end
    assert sections["rgba"][10, :3].tolist() == rgba(VIRIDIS[-1])[:3]  # 1 -> the high end
    assert sections["rgba"][-1].tolist() == rgba(OTHER_COLOR)  # unmatched: grey
    half = encode_colors(pd.Series([0.5, 0.5]), 2, scale="continuous", value_range=(0, 1))[0]["rgba"]
    assert half[0, :3].tolist() == rgba(VIRIDIS[4])[:3]  # the range is the given one, not the data's
    with pytest.raises(ParameterError, match="numeric"):
        encode_colors(pd.Series(["a", "b"]), 2, scale="continuous")
    with pytest.raises(ParameterError, match="scale"):
        encode_colors(v, len(v), scale="log")
    with pytest.raises(ParameterError, match="low < high"):
        encode_colors(v, len(v), scale="continuous", value_range=(1, 1))


def test_rgba_passthrough_and_errors():
    c = RNG.integers(0, 255, size=(4, 3), dtype=np.uint8)
    sections, _, legend = encode_colors(c, 4)
    assert sections["rgba"][:, :3].tolist() == c.tolist() and (sections["rgba"][:, 3] == 255).all()
    assert legend is None
    with pytest.raises(ParameterError, match="5 points"):
        encode_colors(pd.Series([1, 2]), 5)
    with pytest.raises(ParameterError):
        encode_colors(np.zeros((4, 3)), 4)  # float, not uint8
    with pytest.raises(ParameterError, match="colour"):
        rgba("red")


def test_clean_label_one_line_and_cut():
    assert clean_label("a\nb\tc\x00d") == "a b c d"
    assert clean_label("<b>x</b>") == "<b>x</b>"  # drawn as text, never parsed as HTML
    long = "é" * 100
    assert clean_label(long, 10) == "é" * 9 + "…" and len(clean_label(long, 10)) == 10


def test_encode_map_round_trip_and_sizes():
    n = 1000
    pos = RNG.normal(size=(n, 3)).astype(np.float32) * 40 + 7
    labels = [f"w{i}" for i in range(n)]
    labels[3] = "naïve café ☕ " + "x" * 200
    knn = np.stack([(np.arange(n) + j) % n for j in range(1, 11)], axis=1)
    m = encode_map(pos, labels=labels, color=pd.Series(np.arange(n) % 3), knn=knn, sizes=np.full(n, 1.5))
    head, s = unpack(m.blobs["points"])
    assert head["n"] == n and head["dims"] == 3 and s["positions"].dtype == np.float32
    assert np.allclose(s["positions"] * head["scale"] + np.array(head["center"]), pos, atol=1e-3)
    assert s["codes"].dtype == np.uint8 and (s["sizes"] == 48).all()
    _, lab = unpack(m.blobs["labels"])
    texts = [bytes(lab["text"][a:b]).decode() for a, b in zip(lab["offsets"][:-1], lab["offsets"][1:])]
    assert texts[0] == "w0" and texts[3].startswith("naïve café ☕ ") and len(texts[3]) == 80 and texts[3][-1] == "…"
    kh, k = unpack(m.blobs["knn"])
    assert kh["k"] == 10 and k["indices"].dtype == np.uint32 and np.array_equal(k["indices"], knn)
    # 12 B/point positions + 1 code + 1 size; labels ~3 B + 4 offset; kNN 4 B x k
    assert len(m.blobs["points"]) < n * 14 + 2000
    assert len(m.blobs["knn"]) < n * 40 + 200
    assert m.digests.keys() == m.blobs.keys() and len(m.key) == 64
    assert m.to_normalised(pos[0]) == pytest.approx(s["positions"][0].tolist(), abs=1e-5)


def test_encode_map_is_deterministic_and_content_keyed():
    pos = RNG.normal(size=(50, 2))
    a, b = encode_map(pos, labels=list("x" * 50)), encode_map(pos, labels=list("x" * 50))
    assert a.key == b.key and a.blobs["points"] == b.blobs["points"]
    assert encode_map(pos, labels=list("y" * 50)).key != a.key


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"knn": np.zeros((50, 51), int)}, "1 <= k <= 50"),
        ({"knn": np.full((50, 3), 50)}, "0..49"),
        ({"knn": np.zeros((49, 3), int)}, "shape"),
        ({"sizes": np.full(50, 9.0)}, "sizes"),
        ({"labels": ["a"] * 49}, "49 labels"),
    ],
)
def test_encode_map_rejects(kw, match):
    with pytest.raises(ParameterError, match=match):
        encode_map(RNG.normal(size=(50, 2)), **kw)


def test_knn_graph_only_up_to_200k(monkeypatch):
    import viz_app.map.encode as enc

    monkeypatch.setattr(enc, "MAX_KNN_POINTS", 40)
    with pytest.raises(ParameterError, match="the page asks the server"):
        enc.encode_map(RNG.normal(size=(50, 2)), knn=np.zeros((50, 3), int))
