"""Real-browser tests of vector arithmetic drawn on the map.

1. On the Explore page, ``king - man + woman`` typed in the "Vector arithmetic" expander lists
   queen first and draws the result (a black diamond), its operands and two arrows
   (man → woman, king → result) on the map; on a PCA map the result is placed by the PCA
   transform, exactly, so the arrows form a parallelogram (equal vectors). A misspelt term then
   shows an error suggesting the right label and takes the drawing off the map.
2. The Arithmetic page's expression box sends its expression to the Explore map.

Each session opens with ``?reducer=pca`` (GloVe 10k default sample) so every map is instant.
Streamlit dataframes are canvas grids: the result line (``st.text``) and the captions are read
instead; the map (the live map component) is read from its ``data-*`` attributes: ``data-markers``,
``data-arrows`` and ``data-view`` in data coordinates, ``data-sets`` (highlighted rows per set).
"""

from __future__ import annotations

import json
import math
import time

import pytest
from e2e_helpers import (
    FIRST_MAP_TIMEOUT_S,
    MAP,
    MAP_TIMEOUT_S,
    alerts,
    checked_option,
    fail_on_exception,
    go_to,
    map_attr,
    wait_for,
    wait_for_plot,
    wait_idle,
)

pytestmark = pytest.mark.e2e

EXCEPTION = "[data-testid='stException']"
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


RESULT, OPERAND, OFFSET, TO_RESULT = "diamond", "circle", [123, 50, 148, 255], [17, 17, 17, 255]


def _overlays(page) -> dict:
    """What the map draws over its points: ``markers``, ``arrows`` (data coordinates), ``sets``
    (rows per highlighted set) and ``view`` (2D: the x and y ranges shown)."""
    if not page.locator(f"{MAP}[data-ready='1']").count():
        return {"markers": [], "arrows": [], "sets": {}, "view": None}
    return {k: json.loads(map_attr(page, f"data-{k}") or "null") for k in ("markers", "arrows", "sets", "view")}


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


def _wait_for_overlay(page, *, drawn: bool, timeout: float = MAP_TIMEOUT_S) -> dict:
    """Wait for a map (run over) with (``drawn``) or without an expression result on it."""
    deadline = time.monotonic() + timeout
    while True:
        if not _running(page):
            o = _overlays(page)
            if any(m["shape"] == RESULT for m in o["markers"]) == drawn and o["view"] is not None:
                page.wait_for_function("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
                return _overlays(page)
        fail_on_exception(page)
        if time.monotonic() > deadline:
            pytest.fail(f"no map with drawn={drawn} after {timeout} s; alerts: {alerts(page)!r}")
        page.wait_for_timeout(250)


def test_expression_draws_result_marker_and_arrows_on_the_map(page, app_url):
    first = _open_pca(page, app_url)
    whole = _overlays(page)["view"]
    assert not _overlays(page)["markers"]

    page.locator("[data-testid='stExpander']").filter(has_text="Vector arithmetic").locator("summary").click()
    wait_for(page, page.get_by_role("textbox", name="Expression"), "'Expression' text input", 30)
    _enter(page, "king - man + woman")
    _wait_result_line(page, "(king - man) + woman  →  queen")
    o = _wait_for_overlay(page, drawn=True)
    assert wait_for_plot(page)["revision"] == first["revision"]  # the same map data: only the view changed

    result = [m for m in o["markers"] if m["shape"] == RESULT]
    operands = [m for m in o["markers"] if m["shape"] == OPERAND]
    assert len(result) == 1 and result[0]["label"] == "(king - man) + woman", result
    assert sorted(m["label"] for m in operands) == ["+ king", "+ woman", "− man"], operands
    assert o["sets"].get("nearest to the result") == 5, o["sets"]
    labels = {lab["t"]: lab["kind"] for lab in json.loads(map_attr(page, "data-labels"))}
    # the nearest items are labelled where there is room (the operands are not among them)
    assert not {"king", "man", "woman"} & {t for t, k in labels.items() if k.startswith("set:")}

    arrows = o["arrows"]
    assert len(arrows) == 2, arrows
    assert sorted(map(tuple, (a["color"] for a in arrows))) == sorted([tuple(OFFSET), tuple(TO_RESULT)]), arrows
    offset = next(a for a in arrows if a["color"] == OFFSET)  # man -> woman
    to_result = next(a for a in arrows if a["color"] == TO_RESULT)  # king -> result
    # the black arrow ends at the diamond; the tails of both start at operands
    assert all(math.isclose(a, b, abs_tol=1e-4) for a, b in zip(to_result["to"], result[0]["at"]))
    for a in arrows:
        assert any(all(math.isclose(p, q, abs_tol=1e-4) for p, q in zip(a["from"], m["at"])) for m in operands), a
    # PCA is linear: T(king - man + woman) - T(king) == T(woman) - T(man): a parallelogram
    v1 = (offset["to"][0] - offset["from"][0], offset["to"][1] - offset["from"][1])
    v2 = (to_result["to"][0] - to_result["from"][0], to_result["to"][1] - to_result["from"][1])
    norm = math.hypot(*v1)
    assert norm > 0, v1
    assert math.hypot(v1[0] - v2[0], v1[1] - v2[1]) <= 1e-3 * norm, (v1, v2)

    # the camera fits the expression once: its points inside, narrower than the whole map
    (x0, x1), (y0, y1) = o["view"]["x"], o["view"]["y"]
    drawn = [m["at"] for m in operands + result]
    assert all(x0 <= p[0] <= x1 and y0 <= p[1] <= y1 for p in drawn), (o["view"], drawn)
    assert (x1 - x0) < (whole["x"][1] - whole["x"][0]), (o["view"], whole)

    cap = page.locator("[data-testid='stMain'] [data-testid='stCaptionContainer']").filter(
        has_text="Operands left out of the list"
    )
    wait_for(page, cap, "'Operands left out of the list' caption", 30)
    assert "PCA transform" in cap.first.inner_text(), cap.first.inner_text()
    _no_exception_box(page)

    # a misspelt term: an error naming it and suggesting the label; the drawing leaves the map
    _enter(page, "king - qeen")
    error = page.locator("[data-testid='stMain'] [data-testid='stAlertContentError']").filter(has_text="qeen")
    wait_for(page, error, "error naming 'qeen'", MAP_TIMEOUT_S)
    wait_idle(page)
    text = error.first.inner_text()
    assert "'qeen'" in text and "'queen'" in text, text
    assert "Traceback" not in text, text
    o = _wait_for_overlay(page, drawn=False)
    assert o["markers"] == [] and o["arrows"] == [] and "nearest to the result" not in o["sets"], o
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
    o = _wait_for_overlay(page, drawn=True)
    assert [m["label"] for m in o["markers"] if m["shape"] == RESULT] == ["(paris - france) + italy"]
    assert len([m for m in o["markers"] if m["shape"] == OPERAND]) == 3
    assert checked_option(page, "Reducer") == "PCA"  # the session's choice survived the page switch
    box = page.get_by_role("textbox", name="Expression")
    wait_for(page, box, "the Explore page's 'Expression' input (expander open)", 30)
    assert box.input_value() == "paris - france + italy"
    _wait_result_line(page, "(paris - france) + italy  →  rome")
    assert len(_overlays(page)["arrows"]) == 2
    _no_exception_box(page)
