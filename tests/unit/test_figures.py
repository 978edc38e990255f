from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from viz_app import ParameterError
from viz_app.export.plotly_map import MAX_CATEGORIES, color_kind, safe_text, scatter_map

XSS = "<img src=x onerror=alert(1)>"


def _coords(n, d=2):
    return np.random.default_rng(0).normal(size=(n, d)).astype(np.float32)


def test_categorical_colour_splits_traces_but_keeps_every_id():
    n = 300
    ids = [f"id{i}" for i in range(n)]
    cat = pd.Series(np.array(["a", "b", "c"])[np.arange(n) % 3])
    fig = scatter_map(_coords(n), ids=ids, labels=ids, color=cat, color_name="kind")
    assert [t.type for t in fig.data] == ["scattergl"] * 3
    assert sorted(i for t in fig.data for i in t.customdata) == sorted(ids)
    assert {t.name for t in fig.data} == {"a (100)", "b (100)", "c (100)"}
    for t in fig.data:  # ids and coordinates stay aligned within each trace
        rows = [int(i[2:]) for i in t.customdata]
        np.testing.assert_allclose(t.x, _coords(n)[rows, 0])


def test_continuous_colour_has_one_trace_and_a_colour_bar():
    fig = scatter_map(
        _coords(100),
        ids=list(map(str, range(100))),
        labels=list("x" * 100),
        color=pd.Series(np.linspace(0, 1, 100)),
        color_name="score",
    )
    assert len(fig.data) == 1 and fig.data[0].marker.showscale
    assert fig.data[0].marker.colorbar.title.text == "score"


def test_many_categories_are_capped_with_an_other_group():
    n = 1000
    cat = pd.Series([f"c{i % 40}" for i in range(n)])
    fig = scatter_map(_coords(n), ids=list(map(str, range(n))), labels=["l"] * n, color=cat)
    legend = sorted(fig.data, key=lambda t: t.legendrank)
    assert len(fig.data) == MAX_CATEGORIES + 1 and legend[-1].name.startswith("(other)")
    assert sum(len(t.x) for t in fig.data) == n


def test_3d_uses_scatter3d():
    fig = scatter_map(_coords(50, 3), ids=list(map(str, range(50))), labels=["l"] * 50)
    assert fig.data[0].type == "scatter3d" and len(fig.data[0].z) == 50


def test_user_text_is_escaped_everywhere():
    labels = [XSS, "fine"]
    fig = scatter_map(_coords(2), ids=["0", "1"], labels=labels, color=pd.Series([XSS, "b"]), color_name=XSS, title=XSS)
    js = fig.to_json()
    assert "<img" not in js and "&lt;img src=x onerror=alert(1)&gt;" in js


def test_safe_text_truncates_and_flattens():
    out = safe_text(["a\nb", "x" * 100])
    assert out[0] == "a b" and len(out[1]) == 80 and out[1].endswith("…")


def test_colour_kind():
    assert color_kind(pd.Series(range(100))) == "continuous"
    assert color_kind(pd.Series([1, 2, 3] * 10)) == "categorical"
    assert color_kind(pd.Series(["a", "b"])) == "categorical"


def test_bad_shapes_and_ranges():
    with pytest.raises(ParameterError):
        scatter_map(_coords(3), ids=["0", "1"], labels=["a", "b", "c"])
    with pytest.raises(ParameterError):
        scatter_map(_coords(3), ids=["0", "1", "2"], labels=["a", "b", "c"], opacity=0)


def test_legend_follows_categorical_order_then_numeric_order():
    n = 60
    cat = pd.Series(pd.Categorical(["low"] * 40 + ["high"] * 20, categories=["high", "low"], ordered=True))
    fig = scatter_map(_coords(n), ids=list(map(str, range(n))), labels=["l"] * n, color=cat)
    legend = sorted(fig.data, key=lambda t: t.legendrank)
    assert [t.name for t in legend] == ["high (20)", "low (40)"]
    assert [t.name for t in fig.data] == ["low (40)", "high (20)"]  # small ones drawn on top
    digits = pd.Series([str(d) for d in [10, 2, 2, 1, 1, 1]])
    fig = scatter_map(_coords(6), ids=list(map(str, range(6))), labels=["l"] * 6, color=digits)
    assert [t.name.split()[0] for t in sorted(fig.data, key=lambda t: t.legendrank)] == ["1", "2", "10"]


def test_extreme_rows():
    from viz_app.map.scene import extreme_rows

    c = np.array([[0, 0], [5, 1], [-5, 2], [1, 9], [2, -9]], dtype=np.float32)
    assert extreme_rows(c, 1).tolist() == [1, 2, 3, 4]
