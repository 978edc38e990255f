"""Real-browser test of the semantic-axes map's numbered scale (Arithmetic page, GloVe 10k).

The live map draws tick marks, values and axis titles along its bottom and left edges and
writes what it drew to ``data-axis-ticks`` (per axis: ``values`` in data units, ``px`` where
each is drawn in the plot, ``step``, the data ``range`` they are for; ``strip``: the strips'
size). The test reads them, checks them against matplotlib's MaxNLocator (the rule the page
mirrors), zooms with the mouse wheel and checks the ticks follow, then reads a clicked word's
position off the ticks and compares it with its coordinate computed here with the core.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from e2e_helpers import FIRST_MAP_TIMEOUT_S, MAP, MAP_TIMEOUT_S, click_row, fail_on_exception, is_running, row_of

from viz_app.data.samples import glove
from viz_app.explore.axes import axis_projection
from viz_app.map.ticks import tick_values

pytestmark = pytest.mark.e2e


def _ticks(page) -> dict | None:
    raw = page.locator(MAP).first.get_attribute("data-axis-ticks")
    return json.loads(raw) if raw else None


def _wait_ticks(page, ok, what: str, timeout: float = MAP_TIMEOUT_S) -> dict:
    """Poll ``data-axis-ticks`` (redrawn in the frame after each camera change) until ``ok``
    holds for two reads in a row (the camera has settled)."""
    deadline, last = time.monotonic() + timeout, None
    while True:
        t = _ticks(page) if page.locator(f"{MAP}[data-ready='1']").count() and not is_running(page) else None
        if t is not None and ok(t) and t == last:
            return t
        last = t
        fail_on_exception(page)
        if time.monotonic() > deadline:
            pytest.fail(f"no axis ticks with {what} after {timeout} s; last: {t!r}")
        page.wait_for_timeout(250)


def _on_the_ticks(ticks: dict, px: float) -> float:
    """The data value the ticks give at ``px`` (linear through the first and last drawn tick)."""
    (v0, v1), (p0, p1) = (ticks["values"][0], ticks["values"][-1]), (ticks["px"][0], ticks["px"][-1])
    return v0 + (px - p0) * (v1 - v0) / (p1 - p0)


def test_axis_ticks_follow_zoom_and_read_a_word_s_value(page, app_url):
    page.goto(f"{app_url}/arithmetic?reducer=pca")
    start = _wait_ticks(page, lambda t: len(t["x"]["values"]) >= 3, "three x ticks", FIRST_MAP_TIMEOUT_S)
    for axis in ("x", "y"):  # the page's rule is matplotlib's MaxNLocator (viz_app.map.ticks)
        lo, hi = start[axis]["range"]
        n = start[axis]["max"]  # 1 + the axis length // 60 px, 6..11 (the default max_ticks)
        assert 6 <= n <= 11
        assert start[axis]["values"] == pytest.approx(tick_values(lo, hi, max_ticks=n), abs=1e-9), (axis, start[axis])
        assert 2 <= len(start[axis]["values"]) <= n
        assert min(np.diff(start[axis]["px"]) * (1 if axis == "x" else -1)) >= 50  # room for the values
    plot = page.locator(f"{MAP} .plot").first.bounding_box()

    # zoom in around "queen" with the mouse wheel: the ticks cover a narrower range, finer steps
    es = glove(10_000)
    ax = axis_projection(es, x=("man", "woman"), y=("poor", "rich"))
    queen = row_of(page, "queen")
    qx, qy = page.locator(MAP).first.evaluate(f"el => el.lensProject({queen})")
    page.mouse.move(qx, qy)
    for _ in range(6):
        page.mouse.wheel(0, -300)
    step0, span0 = start["x"]["step"], np.ptp(start["x"]["range"])
    zoomed = _wait_ticks(page, lambda t: t["x"]["step"] <= step0 / 4 and t["y"]["step"] <= start["y"]["step"] / 4,
                         "x and y steps at most a quarter of the first")  # fmt: skip
    assert np.ptp(zoomed["x"]["range"]) < span0 / 4, (start["x"], zoomed["x"])
    assert 2 <= len(zoomed["x"]["values"]) <= zoomed["x"]["max"] and zoomed["x"]["values"] != start["x"]["values"]
    want = tick_values(*zoomed["x"]["range"], max_ticks=zoomed["x"]["max"])
    assert zoomed["x"]["values"] == pytest.approx(want, abs=1e-9)

    # click queen; read its x and y off the drawn ticks: within a tenth of a step of the core's
    click_row(page, queen)
    page.locator(f"{MAP}[data-focus='{queen}']").wait_for()
    qx, qy = page.locator(MAP).first.evaluate(f"el => el.lensProject({queen})")
    read_x = _on_the_ticks(zoomed["x"], qx - plot["x"])
    read_y = _on_the_ticks(zoomed["y"], qy - plot["y"])
    want_x, want_y = float(ax.coords[queen, 0]), float(ax.coords[queen, 1])
    assert abs(read_x - want_x) < zoomed["x"]["step"] / 10, (read_x, want_x, zoomed["x"])
    assert abs(read_y - want_y) < zoomed["y"]["step"] / 10, (read_y, want_y, zoomed["y"])
    assert zoomed["x"]["range"][0] < want_x < zoomed["x"]["range"][1]

    # point labels keep out of the axes' strips
    left, bottom = zoomed["strip"]["left"], zoomed["strip"]["bottom"]
    labels = json.loads(page.locator(MAP).first.get_attribute("data-labels"))
    assert any(lab["t"] == "queen" and lab["kind"] == "focus" for lab in labels), labels
    for lab in labels:
        assert lab["x"] >= left - 0.5 and lab["y"] + lab["h"] <= plot["height"] - bottom + 0.5, (lab, zoomed["strip"])

    # Reset view: back to the first ticks
    page.locator(f"{MAP} button[data-action=reset]").first.click()
    back = _wait_ticks(page, lambda t: t["x"]["step"] == step0, "the first x step again")
    # (the same steps and spans: the plot may have changed width by a scrollbar meanwhile, and a
    # tick near an edge come or go with it)
    for axis in ("x", "y"):
        assert back[axis]["step"] == start[axis]["step"], (back[axis], start[axis])
        assert np.ptp(back[axis]["range"]) == pytest.approx(np.ptp(start[axis]["range"]), rel=0.05)
