"""Real-browser tests of the Explore page on the live map (deck.gl, Chromium's software WebGL):
a click on ``king`` in 2D and 3D, a click that redraws only the overlay, a lasso in 2D and 3D,
a focus on the news sentences, PNG export.

The app is the real one (``streamlit run streamlit_app.py`` on a loopback port, ``conftest.py``),
opened with a URL query string (bundled sample, PCA) so no slow projection is timed. The map's
state is read from its ``data-*`` attributes (``frontend/src/map.ts``), the tables from their
accessible grid, never from pixels.
"""

from __future__ import annotations

import json
import struct
import time

import pytest
from e2e_helpers import (
    FOCUS_TEXT,
    MAP,
    MAP_TIMEOUT_S,
    click_row,
    lasso,
    map_attr,
    row_of,
    table_column,
    wait_for_plot,
    wait_idle,
)

pytestmark = pytest.mark.e2e


def _open(page, app_url: str, query: str) -> dict:
    page.goto(f"{app_url}/?{query}")
    return wait_for_plot(page, timeout=MAP_TIMEOUT_S * 3)


def _label(page, row: int) -> str:
    return page.locator(MAP).first.evaluate(f"el => el.lensLabel({row})")


def _wait_focus_text(page, want: str, timeout_s: float = 120) -> None:
    page.wait_for_function(f"(w) => ({FOCUS_TEXT})() === w", arg=f"Focus: {want}", timeout=timeout_s * 1000)
    wait_idle(page)


@pytest.mark.parametrize("dims", [2, 3])
def test_click_on_king_highlights_queen_and_prince_and_lists_them(page, app_url, dims):
    _open(page, app_url, f"sample=glove&reducer=pca&dims={dims}&focus=king")
    king = row_of(page, "king")
    page.locator(f"{MAP}[data-focus='{king}']").wait_for()  # the link's focus, set by the server
    page.locator(f"{MAP} button[data-action=zfocus]").click()  # fit king and its neighbours
    page.get_by_role("button", name="Clear focus").click()
    page.locator(f"{MAP}[data-focus='']").wait_for()
    wait_idle(page)
    view = map_attr(page, "data-view")
    click_row(page, king)
    page.locator(f"{MAP}[data-focus='{king}']").wait_for()
    highlighted = [_label(page, int(r)) for r in map_attr(page, "data-neighbors").split(",")]
    assert len(highlighted) == 10 and {"queen", "prince"} <= set(highlighted)
    _wait_focus_text(page, "king")
    listed: list[str] = []
    for _ in range(240):  # the grid renders its rows a moment after the focus text
        listed = table_column(page, "label")
        if listed:
            break
        page.wait_for_timeout(250)
    assert listed == highlighted  # the neighbour table lists the same, in order
    assert "focus=king" in page.url  # a shareable link
    drawn = {lab["t"]: lab["kind"] for lab in json.loads(map_attr(page, "data-labels"))}
    assert drawn.get("king") == "focus" and "neighbor" in drawn.values()
    assert map_attr(page, "data-view") == view  # a click never moves the camera


def test_a_click_redraws_only_the_overlay_not_the_points(page, app_url):
    """A click on Explore changes the focus, its neighbours and the focus inspector's "missing"
    and "false" neighbour sets: all drawn on the 2-D overlay, so no deck.gl layer changes and no
    WebGL frame is drawn (in the software renderer each such frame cost the page about 0.3 s,
    waiting for the GPU process, per click). Before, each click replaced the inspector's set
    layers: ``data-layer-updates`` grew by one."""
    _open(page, app_url, "sample=glove&reducer=pca&dims=2&focus=king")
    # the map's trust figures are computed in the background; when they are done the whole page
    # reruns once, and the map may be mounted anew then (its counters start again): wait for it
    page.get_by_text("Trustworthiness ").first.wait_for(timeout=MAP_TIMEOUT_S * 1000)
    wait_idle(page)
    king = row_of(page, "king")
    page.locator(f"{MAP}[data-focus='{king}']").wait_for()
    page.locator(f"{MAP} button[data-action=zfocus]").click()  # king's neighbours in reach of the mouse
    wait_idle(page)
    page.wait_for_function("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    before = (map_attr(page, "data-layer-updates"), map_attr(page, "data-frames"))
    queen = row_of(page, "queen")
    click_row(page, queen)
    page.locator(f"{MAP}[data-server-focus='{queen}']").wait_for(timeout=120_000)  # the server's view arrived
    wait_idle(page)
    page.wait_for_function("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    sets = json.loads(map_attr(page, "data-sets"))  # the inspector's sets are shown
    assert sets.get("missing neighbours", 0) + sets.get("false neighbours", 0) > 0, sets
    assert (map_attr(page, "data-layer-updates"), map_attr(page, "data-frames")) == before


@pytest.mark.parametrize("dims", [2, 3])
def test_lasso_fills_the_selection_table_with_the_maps_count(page, app_url, dims):
    _open(page, app_url, f"sample=glove&reducer=pca&dims={dims}")
    lasso(page)
    shown = 0
    deadline = time.monotonic() + 60
    while shown == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        shown = int(map_attr(page, "data-selection-count") or 0)
    assert 50 < shown < 10_000
    heading = page.get_by_text(f"Selection: {shown:,} points", exact=True)
    heading.wait_for(timeout=120_000)
    wait_idle(page)
    assert page.locator(f"{MAP} .count").inner_text() == f"{shown:,} selected"
    assert page.get_by_role("button", name="Download CSV").is_visible()
    assert page.get_by_role("button", name="Isolate (re-project these)").is_enabled()


def _overlapping(labels: list[dict]) -> list[tuple[str, str]]:
    return [
        (a["t"], b["t"])
        for i, a in enumerate(labels)
        for b in labels[i + 1 :]
        if a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    ]


def test_news_focus_keeps_the_axes_and_no_labels_overlap(page, app_url):
    info = _open(page, app_url, "sample=news-reviews&reducer=pca&dims=2")
    assert info["dims"] == 2
    view = json.loads(map_attr(page, "data-view"))
    row = 5
    click_row(page, row)
    page.locator(f"{MAP}[data-focus='{row}']").wait_for()
    page.wait_for_function(f"() => ({FOCUS_TEXT})() !== null", timeout=120_000)
    wait_idle(page)
    assert json.loads(map_attr(page, "data-view")) == view, "a focus changed the axis ranges"
    labels = json.loads(map_attr(page, "data-labels"))
    kinds = [lab["kind"] for lab in labels]
    assert "focus" in kinds and kinds.count("neighbor") >= 3, kinds
    assert _overlapping(labels) == []
    assert any(lab["t"].endswith("…") for lab in labels)  # long sentences shortened (full text on hover)
    page.mouse.move(700, 500)
    page.mouse.wheel(0, -400)  # zoom in: labels laid out again, still without overlaps
    deadline = time.monotonic() + 60
    while json.loads(map_attr(page, "data-view")) == view and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    page.wait_for_function("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert _overlapping(json.loads(map_attr(page, "data-labels"))) == []


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
    # the datamapplot figure: 10 x 10 in at the panel's default 150 dpi, cropped to its content
    # (labels may reach past the axes), so about 1,500 px a side; the dpi is recorded in pHYs
    assert 1000 <= width <= 2500 and 1000 <= height <= 2500, (width, height)
    at = data.index(b"pHYs")
    ppm_x, ppm_y, unit = struct.unpack(">IIB", data[at + 4 : at + 13])
    assert unit == 1 and round(ppm_x * 0.0254) == round(ppm_y * 0.0254) == 150
    assert dl.value.suggested_filename.endswith(".png")


def test_html_export_opened_from_file_highlights_neighbours_on_click(page, app_url, tmp_path):
    """The interactive HTML export is the live map's bundle with the map's files inlined: opened
    from file:// (no server, no network), a click on king highlights queen and prince."""
    _open(page, app_url, "sample=glove&reducer=pca&dims=2")
    page.get_by_text("Export: report figure").click()
    button = page.get_by_role("button", name="HTML", exact=True)
    button.wait_for(timeout=30_000)
    with page.expect_download(timeout=180_000) as dl:
        button.click()
    path = tmp_path / "map.html"
    dl.value.save_as(str(path))
    assert dl.value.suggested_filename.endswith(".html")
    print(f"interactive HTML: {path.stat().st_size:,} bytes")

    offline = page.context.new_page()
    requests: list[str] = []
    offline.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    offline.on("pageerror", lambda exc: errors.append(str(exc)))
    offline.goto(path.as_uri())
    offline.locator(f"{MAP}[data-ready='1']").wait_for(timeout=120_000)
    assert map_attr(offline, "data-n") == "10000"
    king = row_of(offline, "king")
    click_row(offline, king)
    offline.locator(f"{MAP}[data-focus='{king}']").wait_for(timeout=60_000)
    highlighted = {_label(offline, int(r)) for r in map_attr(offline, "data-neighbors").split(",")}
    assert len(highlighted) == 10 and {"queen", "prince"} <= highlighted
    assert {u.split(":", 1)[0] for u in requests} <= {"file", "data", "blob"}, requests  # nothing fetched
    assert not errors, errors
    offline.close()
