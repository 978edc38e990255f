"""Real-browser tests of vector arithmetic drawn on the map.

1. On the Explore page, ``king - man + woman`` typed in the "Vector arithmetic" expander lists
   queen first and draws the result (a black diamond), its operands and two arrows
   (man → woman, king → result) on the map; on a PCA map the result is placed by the PCA
   transform, exactly, so the arrows form a parallelogram (equal vectors). A misspelt term then
   shows an error suggesting the right label and takes the drawing off the map.
2. The Arithmetic page's expression box sends its expression to the Explore map.

Each session opens with ``?reducer=pca`` (GloVe 10k default sample) so every map is instant.
Streamlit dataframes are canvas grids: the result line (``st.text``) and the captions are read
instead; the map is read from plotly's ``_fullData`` and ``layout.annotations``.
"""

from __future__ import annotations

import math
import time

import pytest
from e2e_helpers import (
    FIRST_MAP_TIMEOUT_S,
    MAP_TIMEOUT_S,
    alerts,
    checked_option,
    fail_on_exception,
    go_to,
    wait_for,
    wait_for_plot,
    wait_idle,
)

pytestmark = pytest.mark.e2e

EXCEPTION = "[data-testid='stException']"
#: Every trace of the map: name, ids (customdata), coordinates.
TRACES = """() => { const gd = document.querySelector('.js-plotly-plot');
  if (!gd || !gd._fullData) return [];
  return gd._fullData.map(t => ({name: String(t.name), ids: Array.from(t.customdata || []).map(String),
    x: Array.from(t.x || []).map(Number), y: Array.from(t.y || []).map(Number)})); }"""
#: The map's annotations (as given in the figure) and its axes' ranges.
LAYOUT = """() => { const gd = document.querySelector('.js-plotly-plot');
  const ann = (gd.layout.annotations || []).map(a => ({showarrow: a.showarrow === true, text: String(a.text ?? ''),
    x: a.x, y: a.y, ax: a.ax, ay: a.ay, axref: a.axref, ayref: a.ayref, arrowcolor: a.arrowcolor ?? null}));
  return {annotations: ann, xrange: gd._fullLayout.xaxis.range.map(Number),
          yrange: gd._fullLayout.yaxis.range.map(Number)}; }"""
#: The text of the first ``st.text`` element containing the arrow "→".
RESULT_LINE = """() => { const e = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stText"]')]
  .find(e => e.innerText.includes('→')); return e ? e.innerText.trim() : null; }"""


def _open_pca(page, app_url: str) -> dict:
    page.goto(f"{app_url}/?reducer=pca")
    info = wait_for_plot(page, timeout=FIRST_MAP_TIMEOUT_S)
    assert checked_option(page, "Reducer") == "PCA"
    return info


def _no_exception_box(page) -> None:
    boxes = page.locator(EXCEPTION)
    assert boxes.count() == 0, f"the app showed an exception: {boxes.all_inner_texts()!r}"


def _traces(page) -> dict[str, dict]:
    return {t["name"]: t for t in page.evaluate(TRACES)}


def _enter(page, expr: str) -> None:
    box = page.get_by_role("textbox", name="Expression")
    box.fill(expr)
    box.press("Enter")


def _wait_result_line(page, want: str, timeout: float = MAP_TIMEOUT_S) -> str:
    """Wait for the ``st.text`` line ``want`` (e.g. ``(king - man) + woman  →  queen``)."""
    deadline = time.monotonic() + timeout
    while True:
        line = page.evaluate(RESULT_LINE)
        if line == want and not _running(page):
            return line
        fail_on_exception(page)
        if time.monotonic() > deadline:
            pytest.fail(f"no result line {want!r} after {timeout} s; last seen {line!r}; alerts: {alerts(page)!r}")
        page.wait_for_timeout(200)


def _running(page) -> bool:
    return page.locator("[data-testid='stApp']").get_attribute("data-test-script-state") != "notRunning"


def _wait_for_traces(page, present: set[str], absent: set[str] = frozenset(), timeout: float = MAP_TIMEOUT_S) -> dict:
    """Wait for a map (run over) whose traces include ``present`` and exclude ``absent``."""
    deadline = time.monotonic() + timeout
    while True:
        if not _running(page):
            names = set(_traces(page))
            if present <= names and not (absent & names):
                wait_for_plot(page)
                return _traces(page)
        fail_on_exception(page)
        if time.monotonic() > deadline:
            pytest.fail(
                f"no map with traces {present} and without {absent} after {timeout} s; "
                f"traces: {sorted(_traces(page))}; alerts: {alerts(page)!r}"
            )
        page.wait_for_timeout(250)


def test_expression_draws_result_marker_and_arrows_on_the_map(page, app_url):
    first = _open_pca(page, app_url)
    assert "expression result" not in _traces(page)

    page.locator("[data-testid='stExpander']").filter(has_text="Vector arithmetic").locator("summary").click()
    wait_for(page, page.get_by_role("textbox", name="Expression"), "'Expression' text input", 30)
    _enter(page, "king - man + woman")
    _wait_result_line(page, "(king - man) + woman  →  queen")
    traces = _wait_for_traces(page, {"operands", "expression result", "nearest to the result"})
    info = wait_for_plot(page, changed_from=first["revision"])
    assert info["n"] > first["n"]  # the overlay traces add points; the dataset is unchanged

    result = traces["expression result"]
    operands = traces["operands"]
    assert len(result["x"]) == 1 and len(result["y"]) == 1, result
    assert len(operands["x"]) == 3, operands
    nearest = traces["nearest to the result"]
    assert "queen" in nearest["ids"], nearest["ids"]
    assert not {"king", "man", "woman"} & set(nearest["ids"]), nearest["ids"]  # operands left out

    layout = page.evaluate(LAYOUT)
    arrows = [a for a in layout["annotations"] if a["showarrow"]]
    assert len(arrows) == 2, layout["annotations"]
    assert sorted(a["arrowcolor"] for a in arrows) == ["#111111", "#7b3294"], arrows
    assert all(a["axref"] == "x" and a["ayref"] == "y" for a in arrows), arrows  # tails in data coordinates
    by_color = {a["arrowcolor"]: a for a in arrows}
    offset, to_result = by_color["#7b3294"], by_color["#111111"]  # man → woman, king → result
    # the black arrow ends at the diamond; the tails of both start at operands
    assert math.isclose(to_result["x"], result["x"][0], rel_tol=1e-6, abs_tol=1e-6), (to_result, result)
    assert math.isclose(to_result["y"], result["y"][0], rel_tol=1e-6, abs_tol=1e-6), (to_result, result)
    op_points = list(zip(operands["x"], operands["y"]))
    for a in arrows:
        assert any(
            math.isclose(a["ax"], ox, abs_tol=1e-6) and math.isclose(a["ay"], oy, abs_tol=1e-6) for ox, oy in op_points
        ), (a, op_points)
    # PCA is linear: T(king - man + woman) - T(king) == T(woman) - T(man): a parallelogram
    v1 = (offset["x"] - offset["ax"], offset["y"] - offset["ay"])
    v2 = (to_result["x"] - to_result["ax"], to_result["y"] - to_result["ay"])
    norm = math.hypot(*v1)
    assert norm > 0, v1
    assert math.hypot(v1[0] - v2[0], v1[1] - v2[1]) <= 1e-3 * norm, (v1, v2)

    # the axes zoom to the expression: its points inside, narrower than the whole map
    all_x = [x for t in traces.values() for x in t["x"]]
    drawn = op_points + [(result["x"][0], result["y"][0])]
    (x0, x1), (y0, y1) = layout["xrange"], layout["yrange"]
    assert all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in drawn), (layout["xrange"], layout["yrange"], drawn)
    assert (x1 - x0) < (max(all_x) - min(all_x)), (layout["xrange"], min(all_x), max(all_x))

    cap = page.locator("[data-testid='stMain'] [data-testid='stCaptionContainer']").filter(
        has_text="Operands left out of the list"
    )
    wait_for(page, cap, "'Operands left out of the list' caption", 30)
    assert "PCA transform" in cap.first.inner_text(), cap.first.inner_text()
    assert not any("approximate" in a["text"].lower() for a in layout["annotations"]), layout["annotations"]
    _no_exception_box(page)

    # a misspelt term: an error naming it and suggesting the label; the drawing leaves the map
    drawn_revision = wait_for_plot(page)["revision"]
    _enter(page, "king - qeen")
    error = page.locator("[data-testid='stMain'] [data-testid='stAlertContentError']").filter(has_text="qeen")
    wait_for(page, error, "error naming 'qeen'", MAP_TIMEOUT_S)
    wait_idle(page)
    text = error.first.inner_text()
    assert "'qeen'" in text and "'queen'" in text, text
    assert "Traceback" not in text, text
    wait_for_plot(page, changed_from=drawn_revision)
    traces = _wait_for_traces(page, set(), absent={"expression result", "operands"})
    assert "expression result" not in traces and "operands" not in traces, sorted(traces)
    assert not [a for a in page.evaluate(LAYOUT)["annotations"] if a["showarrow"]]
    assert page.evaluate(RESULT_LINE) is None  # the queen line is gone with the result
    _no_exception_box(page)


def test_arithmetic_page_sends_the_expression_to_the_map(page, app_url):
    _open_pca(page, app_url)
    go_to(page, "Arithmetic")
    assert page.url.rstrip("/").endswith("/arithmetic"), page.url
    wait_for(page, page.get_by_role("textbox", name="Expression"), "'Expression' text input", 30)
    _enter(page, "paris - france + italy")
    _wait_result_line(page, "(paris - france) + italy  →  rome")
    _no_exception_box(page)

    button = page.get_by_role("button", name="Show on the Explore map")
    wait_for(page, button, "'Show on the Explore map' button", 30)
    button.click()
    wait_for(page, page.locator("[data-testid='stMain'] h1").filter(has_text="Explore"), "page 'Explore'", 60)
    page.wait_for_url(lambda url: not url.rstrip("/").endswith("/arithmetic"), timeout=60_000)
    traces = _wait_for_traces(page, {"expression result", "operands"})
    assert len(traces["expression result"]["x"]) == 1
    assert len(traces["operands"]["x"]) == 3
    assert checked_option(page, "Reducer") == "PCA"  # the session's choice survived the page switch
    box = page.get_by_role("textbox", name="Expression")
    wait_for(page, box, "the Explore page's 'Expression' input (expander open)", 30)
    assert box.input_value() == "paris - france + italy"
    _wait_result_line(page, "(paris - france) + italy  →  rome")
    arrows = [a for a in page.evaluate(LAYOUT)["annotations"] if a["showarrow"]]
    assert len(arrows) == 2, arrows
    _no_exception_box(page)
