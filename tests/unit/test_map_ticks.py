"""Numbered axes of semantic-axes maps (viz_app.map.ticks): nice tick values from matplotlib's
MaxNLocator, and the data -> normalised map in the view payload checked against the encoder's
own positions on real GloVe data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from viz_app.errors import ParameterError
from viz_app.explore.axes import axis_projection
from viz_app.map.encode import encode_map, unpack
from viz_app.map.scene import semantic_map_axes
from viz_app.map.ticks import MapAxes, tick_values
from viz_app.map.view import MapUrls, MapView, view_payload

URLS = MapUrls(points="/p", labels="/l")


@pytest.mark.parametrize(
    ("lo", "hi", "max_ticks", "want"),
    [
        (0, 1, 7, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (-1, 1, 7, [-1.0, -0.5, 0.0, 0.5, 1.0]),
        (-0.558, 0.453, 7, [-0.4, -0.2, 0.0, 0.2, 0.4]),  # GloVe man -> woman, cosine
        (0.1234, 0.1301, 7, [0.124, 0.126, 0.128, 0.13]),
        (-2.3, 17.9, 7, [0.0, 5.0, 10.0, 15.0]),
        (1000, 1003, 7, [1000.0, 1000.5, 1001.0, 1001.5, 1002.0, 1002.5, 1003.0]),
        (0, 1, 6, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0, 1, 12, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]),
        (-0.0021, 0.0817, 6, [0.0, 0.02, 0.04, 0.06, 0.08]),
    ],
)
def test_tick_values_for_known_ranges(lo, hi, max_ticks, want):
    assert tick_values(lo, hi, max_ticks=max_ticks) == want


def test_ticks_follow_the_documented_rule_on_random_ranges():
    """At most max_ticks multiples of the smallest 1/2/5 x 10^k step >= range / (max_ticks - 1):
    the rule the page mirrors (frontend/src/axes.ts)."""
    rng = np.random.default_rng(0)
    for _ in range(3000):
        lo = float(rng.normal(scale=10 ** rng.uniform(-3, 3)))
        hi = lo + float(10 ** rng.uniform(-4, 3))
        n = int(rng.integers(6, 13))
        t = tick_values(lo, hi, max_ticks=n)
        assert 2 <= len(t) <= n, (lo, hi, n, t)
        assert all(lo - 1e-9 * (hi - lo) <= v <= hi + 1e-9 * (hi - lo) for v in t), (lo, hi, t)
        step = t[1] - t[0]
        assert np.allclose(np.diff(t), step, rtol=1e-6)
        mant = step / 10 ** math.floor(math.log10(step) + 1e-9)
        assert min(abs(mant - m) for m in (1, 2, 5, 10)) < 1e-6, (step, mant)
        raw = (hi - lo) / (n - 1)
        smaller = {1: 0.5, 2: 1, 5: 2, 10: 5}[min((1, 2, 5, 10), key=lambda m: abs(m - mant))]
        assert step >= raw * (1 - 1e-9) and smaller * step / mant < raw * (1 + 1e-9), (lo, hi, n, step)


@pytest.mark.parametrize(
    ("lo", "hi", "kw"),
    [(1, 1, {}), (1, 0, {}), (float("nan"), 1, {}), (0, float("inf"), {}), (0, 1, {"max_ticks": 5}),
     (0, 1, {"max_ticks": 13}), (0, 1, {"max_ticks": 4.0})],
)  # fmt: skip
def test_tick_values_rejects(lo, hi, kw):
    with pytest.raises(ParameterError):
        tick_values(lo, hi, **kw)


@pytest.mark.parametrize("mode", ["cosine", "scalar"])
def test_axes_payload_maps_data_onto_the_encoded_positions(glove_10k, mode):
    ax = axis_projection(glove_10k, x=("man", "woman"), y=("poor", "rich"), mode=mode)
    m = encode_map(ax.coords, labels=glove_10k.labels)
    payload = view_payload(MapView(axes=semantic_map_axes(ax)), m, URLS, height=520)
    axes = payload["axes"]
    assert len(json.dumps(axes)) < 600  # small JSON per rerun
    assert (axes["max_ticks"], axes["tick_px"]) == (11, 60)
    what = "cosine" if mode == "cosine" else "scalar projection"
    assert (axes["x"]["title"], axes["y"]["title"]) == (f"man → woman ({what})", f"poor → rich ({what})")
    norm = unpack(m.blobs["points"])[1]["positions"].astype(np.float64)
    for j, name in enumerate("xy"):
        a = axes[name]
        data = ax.coords[:, j].astype(np.float64)
        # value = normalised * scale + offset, and back, to float32 rounding of the positions
        assert np.abs(norm[:, j] * a["scale"] + a["offset"] - data).max() <= 1e-6 * a["scale"]
        assert np.abs((data - a["offset"]) / a["scale"] - norm[:, j]).max() <= 1e-6
        # the core's ticks: the data range's, by MaxNLocator
        assert a["ticks"] == tick_values(float(data.min()), float(data.max()))
        assert len(a["ticks"]) >= 4
    # a known word sits between the ticks around its value, in normalised units too
    queen = list(glove_10k.labels).index("queen")
    x, xn = float(ax.coords[queen, 0]), float(norm[queen, 0])
    t = axes["x"]["ticks"]
    left = max(v for v in t if v <= x)
    right = min(v for v in t if v > x)
    to_norm = lambda v: (v - axes["x"]["offset"]) / axes["x"]["scale"]  # noqa: E731
    assert to_norm(left) <= xn < to_norm(right)
    assert x > 0  # queen leans to the woman end


def test_maps_without_meaningful_axes_have_none_and_3d_is_refused(glove_10k):
    rng = np.random.default_rng(0)
    m2 = encode_map(rng.normal(size=(50, 2)))
    assert view_payload(MapView(), m2, URLS, height=400)["axes"] is None  # PCA/UMAP/t-SNE maps: no scale
    m3 = encode_map(rng.normal(size=(50, 3)))
    with pytest.raises(ParameterError, match="2-D maps only"):
        view_payload(MapView(axes=MapAxes("a", "b")), m3, URLS, height=400)
    with pytest.raises(ParameterError, match="max_ticks"):
        view_payload(MapView(axes=MapAxes("a", "b", max_ticks=20)), m2, URLS, height=400)
    with pytest.raises(ParameterError, match="tick_px"):
        view_payload(MapView(axes=MapAxes("a", "b", tick_px=10)), m2, URLS, height=400)


def test_axis_titles_are_plain_one_line_text():
    m = encode_map(np.random.default_rng(1).normal(size=(20, 2)))
    title = "<img src=x onerror=alert(1)>\n" + "w" * 200
    axes = view_payload(MapView(axes=MapAxes(title, "y")), m, URLS, height=400)["axes"]
    assert axes["x"]["title"].startswith("<img src=x onerror=alert(1)> ")  # text, drawn as text
    assert len(axes["x"]["title"]) == 80 and axes["x"]["title"].endswith("…")


def test_interactive_html_carries_the_axes(glove_10k):
    from viz_app.export.interactive import interactive_html

    es = glove_10k.subset(np.arange(2000))
    ax = axis_projection(es)
    m = encode_map(ax.coords, labels=es.labels)
    page = interactive_html(m, MapView(axes=semantic_map_axes(ax)), bundle_js="", title="axes").decode()
    data = json.loads(page.split('<script type="application/json" id="lens-data">')[1].split("</script>")[0])
    assert data["view"]["axes"]["x"]["title"] == "man → woman (cosine)"
    assert data["view"]["axes"]["y"]["ticks"] == tick_values(float(ax.coords[:, 1].min()), float(ax.coords[:, 1].max()))
