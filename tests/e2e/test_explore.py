"""Real-browser tests of exploring: click a point (2-D and 3-D), box selection, PNG export.

The session is opened with a URL query string (bundled sample, PCA) so no slow projection is
timed. Assertions read the map's traces: the overlay traces "focus", "neighbours (k)" and
"selected (n)" carry the row ids in ``customdata``.
"""

from __future__ import annotations

import struct
import time

import pytest
from e2e_helpers import FOCUS_TEXT, MAP_TIMEOUT_S, POS_2D, wait_for_plot, wait_idle

pytestmark = pytest.mark.e2e

TRACES = """() => { const gd = document.querySelector('.js-plotly-plot');
  return gd._fullData.map(t => ({name: t.name, type: t.type, ids: Array.from(t.customdata || []).map(String)})); }"""


def _open(page, app_url: str, query: str) -> dict:
    page.goto(f"{app_url}/?{query}")
    return wait_for_plot(page, timeout=MAP_TIMEOUT_S * 3)


def _overlay(page, prefix: str) -> dict | None:
    return next((t for t in page.evaluate(TRACES) if str(t["name"]).startswith(prefix)), None)


def _wait_focus(page, timeout_s: float = 60) -> str:
    page.wait_for_function(f"() => ({FOCUS_TEXT})() !== null", timeout=timeout_s * 1000)
    wait_idle(page)
    wait_for_plot(page)
    return page.evaluate(FOCUS_TEXT)


def test_clicking_a_point_in_2d_lists_and_highlights_its_neighbours(page, app_url):
    _open(page, app_url, "sample=glove&reducer=pca&dims=2")
    xy = page.evaluate(POS_2D, "king")
    assert xy is not None
    page.mouse.move(xy[0] - 6, xy[1] - 6)
    page.wait_for_timeout(300)
    page.mouse.move(xy[0], xy[1])
    page.wait_for_timeout(400)
    page.mouse.click(xy[0], xy[1])
    focus = _wait_focus(page)
    focus_id = focus.removeprefix("Focus: ")
    trace = _overlay(page, "focus")
    assert trace is not None and trace["ids"] == [focus_id]
    nbrs = _overlay(page, "neighbours")
    assert nbrs is not None and len(nbrs["ids"]) == 10 and focus_id not in nbrs["ids"]
    if focus_id == "king":  # the point under the cursor is usually king itself
        assert "queen" in nbrs["ids"] and "prince" in nbrs["ids"]
    # the URL now carries the focus, for a shareable link
    assert f"focus={focus_id}" in page.url


def _hover_point_3d(page) -> tuple[float, float, str]:
    page.evaluate("""() => { const g = document.querySelector('.js-plotly-plot'); window.__hov = null;
      g.on('plotly_hover', e => { window.__hov = String(e.points[0].customdata); });
      g.on('plotly_unhover', () => { window.__hov = null; }); }""")
    box = page.locator(".js-plotly-plot").first.bounding_box()
    for fy in [i / 40 for i in range(12, 28)]:
        for fx in [i / 40 for i in range(12, 30)]:
            x, y = box["x"] + box["width"] * fx, box["y"] + box["height"] * fy
            page.mouse.move(x, y, steps=2)
            page.wait_for_timeout(120)
            hovered = page.evaluate("() => window.__hov")
            if hovered:
                return x, y, hovered
    pytest.fail("no point found under the mouse in the 3-D map")


def test_clicking_a_point_in_3d_lists_and_highlights_its_neighbours(page, app_url):
    info = _open(page, app_url, "sample=digits&reducer=pca&dims=3")
    assert set(info["types"]) == {"scatter3d"}
    x, y, _ = _hover_point_3d(page)
    for _ in range(4):  # software WebGL: make sure the point is hovered when pressing
        page.mouse.move(x + 1, y + 1)
        page.wait_for_timeout(300)
        page.mouse.move(x, y)
        page.wait_for_timeout(600)
        page.mouse.down()
        page.wait_for_timeout(150)
        page.mouse.up()
        try:
            page.wait_for_function(f"() => ({FOCUS_TEXT})() !== null", timeout=15_000)
            break
        except Exception:
            continue
    focus_id = _wait_focus(page).removeprefix("Focus: ")
    focus = _overlay(page, "focus")
    nbrs = _overlay(page, "neighbours")
    assert focus is not None and focus["type"] == "scatter3d"
    assert nbrs is not None and len(nbrs["ids"]) == 10 and nbrs["type"] == "scatter3d"
    # digits: the nearest neighbours of a digit are (nearly all) the same digit
    labels = page.evaluate(
        """(ids) => { const gd = document.querySelector('.js-plotly-plot'); const out = {};
      for (const t of gd._fullData) { if (!String(t.name).match(/^\\d \\(/)) continue;
        Array.from(t.customdata).forEach(id => { out[String(id)] = String(t.name)[0]; }); }
      return ids.map(i => out[i]); }""",
        [focus_id] + nbrs["ids"],
    )
    assert sum(lab == labels[0] for lab in labels[1:]) >= 8, labels


def test_box_selection_fills_the_selection_table(page, app_url):
    _open(page, app_url, "sample=digits&reducer=pca&dims=2")
    page.locator(".modebar-btn[data-title='Box Select']").first.click()
    box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.35
    x1, y1 = box["x"] + box["width"] * 0.65, box["y"] + box["height"] * 0.65
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
    page.mouse.move(x1, y1, steps=5)
    page.mouse.up()
    heading = page.get_by_text("Selection:", exact=False).first
    heading.wait_for(timeout=60_000)
    wait_idle(page)
    n = int(heading.inner_text().split(":")[1].split()[0].replace(",", ""))
    assert n > 10
    wait_for_plot(page)
    sel = _overlay(page, "selected")
    assert sel is not None and len(sel["ids"]) == n
    assert page.get_by_role("button", name="Download CSV").is_visible()


def test_png_download_is_a_valid_png(page, app_url):
    _open(page, app_url, "sample=digits&reducer=pca&dims=2")
    page.get_by_text("Export: report figure").click()
    button = page.get_by_role("button", name="PNG", exact=True)
    button.wait_for(timeout=30_000)
    t0 = time.monotonic()
    with page.expect_download(timeout=180_000) as dl:
        button.click()
    data = open(dl.value.path(), "rb").read()
    print(f"PNG export + download: {time.monotonic() - t0:.1f} s, {len(data):,} bytes")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (2400, 1800)  # 1200 x 900 at the default scale 2
    assert dl.value.suggested_filename.endswith(".png")
