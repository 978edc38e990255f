"""Helpers that drive Embedding Lens in a Playwright page (sync API).

Kept out of ``conftest.py`` so test modules can import them by a name no other test folder
uses (``from e2e_helpers import ...``; pytest puts ``tests/e2e`` on ``sys.path``).

The map is the page's ``.js-plotly-plot`` div; its point count is the sum of ``x.length`` over
``gd._fullData`` (colouring by a category splits points across traces). Each figure carries a
``uirevision`` made of the dataset's fingerprint and the projection parameters, so a changed
revision tells a redrawn map from a stale one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

#: A PCA map of <= 10k points, or an upload of a numeric file (parse + store).
MAP_TIMEOUT_S = 120
#: First map of a server: instant with a warm disk cache, up to ~150 s with a cold one.
FIRST_MAP_TIMEOUT_S = 400
#: Text uploads: torch + model load (~10 s) and embedding on 2 shared cores.
EMBED_TIMEOUT_S = 240

_PLOT_JS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  if (!gd || !gd._fullLayout || !gd._fullData || !gd._fullData.length) return null;
  const ids = new Set();
  for (const t of gd._fullData) for (const c of (t.customdata || [])) ids.add(String(c));
  return {
    n: gd._fullData.reduce((s, t) => s + (t.x ? t.x.length : 0), 0),
    types: gd._fullData.map(t => t.type),
    n_ids: ids.size,
    revision: String(gd._fullLayout.uirevision),
    text0: gd._fullData[0].text ? Array.from(gd._fullData[0].text).slice(0, 20).map(String) : [],
  };
}"""


def plot_info(page) -> dict[str, Any] | None:
    """The map's point count ``n``, trace ``types``, distinct ``customdata`` ids ``n_ids``,
    ``revision`` (plotly uirevision) and the first trace's first 20 hover texts ``text0``;
    None without a map."""
    return page.evaluate(_PLOT_JS)


def plotted_points(page) -> int | None:
    """Sum of ``x.length`` over the map's traces (``gd._fullData``), or None without a map."""
    info = plot_info(page)
    return None if info is None else info["n"]


def fail_on_exception(page) -> None:
    """Fail at once if the app shows a Python exception (an uncaught error in a page script)."""
    boxes = page.locator("[data-testid='stException']")
    if boxes.count():
        pytest.fail(f"the app showed an exception: {boxes.all_inner_texts()!r} (see the server log)")


def wait_for(page, locator, what: str, timeout: float) -> None:
    """Wait for ``locator`` to be visible, failing early if the app shows an exception."""
    deadline = time.monotonic() + timeout
    while not (locator.count() and locator.first.is_visible()):
        fail_on_exception(page)
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout} s; alerts: {alerts(page)!r}")
        page.wait_for_timeout(200)


def script_state(page) -> str | None:
    """Streamlit's script run state, from the ``data-test-script-state`` attribute of the app
    root: ``"initial"``, ``"running"``, ``"rerunRequested"``, ``"notRunning"``, ..."""
    return page.locator("[data-testid='stApp']").get_attribute("data-test-script-state")


def is_running(page) -> bool:
    """True while a script run is under way or requested (or the app has not run yet)."""
    return script_state(page) != "notRunning"


def wait_idle(page, timeout: float = MAP_TIMEOUT_S) -> None:
    """Wait until the current script run is over."""
    deadline = time.monotonic() + timeout
    page.wait_for_timeout(150)  # let a click reach the server first
    while is_running(page):
        fail_on_exception(page)
        if time.monotonic() > deadline:
            pytest.fail(f"the app is still running after {timeout} s")
        page.wait_for_timeout(200)


def wait_for_plot(
    page,
    n_points: int | None = None,
    *,
    timeout: float = MAP_TIMEOUT_S,
    trace_type: str | None = None,
    changed_from: str | None = None,
) -> dict[str, Any]:
    """Wait for a rendered map, optionally with exactly ``n_points`` points, only traces of
    ``trace_type`` and a plotly revision other than ``changed_from``; return :func:`plot_info`.

    Fails with the last map seen and the page's alerts (errors shown by the app).
    """
    deadline = time.monotonic() + timeout
    while True:
        info = plot_info(page)
        if (
            info is not None
            and (n_points is None or info["n"] == n_points)
            and (trace_type is None or set(info["types"]) == {trace_type})
            and (changed_from is None or info["revision"] != changed_from)
            and not is_running(page)
        ):
            return info
        fail_on_exception(page)
        if time.monotonic() > deadline:
            shown = {k: v for k, v in (info or {}).items() if k != "text0"}
            pytest.fail(
                f"no map with n_points={n_points}, trace_type={trace_type}, revision != {changed_from} "
                f"after {timeout} s; last map seen: {shown or None}; alerts: {alerts(page)!r}"
            )
        page.wait_for_timeout(250)


def alerts(page) -> list[str]:
    """Texts of the st.error/st.warning/st.success boxes in the main area."""
    return page.locator("[data-testid='stMain'] [data-testid='stAlertContainer']").all_inner_texts()


def caption(page) -> str:
    """The Explore page's description line (dataset, n points, reducer) above the map."""
    return "\n".join(page.locator("[data-testid='stMain'] [data-testid='stMarkdownContainer'] p").all_inner_texts())


def _sidebar_radio(page, group: str, option: str, timeout: float) -> dict[str, Any] | None:
    """Click ``option`` in the sidebar radio ``group``; if a map was shown, wait for its redraw."""
    radio = page.locator("[data-testid='stSidebar'] [data-testid='stRadio']").filter(has_text=group)
    label = radio.locator("label").filter(has_text=option).first
    wait_for(page, label, f"option {option!r} of the sidebar radio {group!r}", timeout)
    before = plot_info(page)
    label.click()
    wait_for(page, radio.locator("label:has(input:checked)").filter(has_text=option), f"{option!r} checked", 10)
    # The choice is stored in the session when the rerun gets past the sidebar; leaving the page
    # earlier loses it. The caption, drawn after the sidebar, names the reducer and dimensions.
    deadline = time.monotonic() + timeout
    while is_running(page) or option not in caption(page):
        fail_on_exception(page)
        if time.monotonic() > deadline:
            pytest.fail(
                f"the caption does not mention {option!r} after {timeout} s: {caption(page)!r}; "
                f"alerts: {alerts(page)!r}"
            )
        page.wait_for_timeout(200)
    if before is None:
        return plot_info(page)
    return wait_for_plot(page, timeout=timeout, changed_from=before["revision"])


def choose_reducer(page, name: str, *, timeout: float = MAP_TIMEOUT_S) -> dict[str, Any] | None:
    """Click ``name`` ("UMAP", "t-SNE", "PCA") in the sidebar's Reducer radio; if a map was
    shown, wait for the new one, else only for the end of the run. Returns :func:`plot_info`.

    The choice is kept in the session, so a test can switch to PCA as soon as the sidebar
    shows, without waiting for the first (UMAP) map."""
    return _sidebar_radio(page, "Reducer", name, timeout)


def choose_dims(page, dims: str, *, timeout: float = MAP_TIMEOUT_S) -> dict[str, Any] | None:
    """Click ``dims`` ("2D" or "3D") in the sidebar's Dimensions radio (see :func:`choose_reducer`)."""
    return _sidebar_radio(page, "Dimensions", dims, timeout)


def checked_option(page, group: str) -> str:
    """Label of the checked option of the sidebar radio ``group``."""
    radio = page.locator("[data-testid='stSidebar'] [data-testid='stRadio']").filter(has_text=group)
    return radio.locator("label:has(input:checked)").inner_text().strip()


def go_to(page, title: str) -> None:
    """Follow the sidebar navigation link ``title`` ("Explore" or "Data")."""
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).first.click()
    wait_for(page, page.locator("[data-testid='stMain'] h1").filter(has_text=title), f"page {title!r}", 30)
    page.wait_for_url(lambda url: url.rstrip("/").endswith("/data") == (title == "Data"), timeout=30_000)


def upload(page, path: str | Path, metadata: str | Path | None = None) -> str:
    """Give ``path`` to the Data page's "Upload embeddings" file input and, before it,
    ``metadata`` to the optional Embedding Projector metadata input (found by their labels).

    Returns the text of the result message shown before (to pass to :func:`wait_for_message`:
    the old message stays on screen while the new file is parsed or embedded)."""
    wait_idle(page)  # a finished upload reruns the page with new, empty inputs; let it end
    before = _message_texts(page)
    uploaders = page.locator("[data-testid='stMain'] [data-testid='stFileUploader']")
    main = uploaders.filter(has_text="Upload embeddings")
    wait_for(page, main, "'Upload embeddings' file input", 30)
    if metadata is not None:
        meta = uploaders.filter(has_text="metadata")
        meta.locator("input[type=file]").set_input_files(str(metadata))
        # the server has the metadata file once a script run says so (a finished upload in the
        # browser alone is not enough: the main file could still be parsed without it)
        ready = page.locator("[data-testid='stMain'] [data-testid='stCaptionContainer']").filter(
            has_text=f"Metadata ready: {Path(metadata).name}"
        )
        wait_for(page, ready, f"'Metadata ready: {Path(metadata).name}' caption", 60)
        wait_idle(page)
    main.locator("input[type=file]").set_input_files(str(path))
    return before[0] if before else ""


_MESSAGE = (
    "[data-testid='stMain'] [data-testid='stAlertContentSuccess'], "
    "[data-testid='stMain'] [data-testid='stAlertContentError']"
)


def _message_texts(page) -> list[str]:
    return page.locator(_MESSAGE).all_inner_texts()


def wait_for_message(page, file_name: str, *, previous: str = "", timeout: float = MAP_TIMEOUT_S) -> tuple[str, str]:
    """Wait for the Data page's result message about ``file_name``, other than ``previous``
    (what :func:`upload` returned); return ``("success" | "error", text)``."""
    box = page.locator(_MESSAGE).filter(has_text=file_name)
    deadline = time.monotonic() + timeout
    while True:
        for i in range(box.count()):
            try:
                text = box.nth(i).inner_text(timeout=1_000)
                kind = box.nth(i).get_attribute("data-testid", timeout=1_000)
            except Exception:  # replaced by a rerun meanwhile
                continue
            if text != previous:
                return ("error" if kind == "stAlertContentError" else "success"), text
        fail_on_exception(page)
        if time.monotonic() > deadline:
            pytest.fail(f"no new message naming {file_name} after {timeout} s; alerts: {alerts(page)!r}")
        page.wait_for_timeout(200)


#: Page position (x, y) of the point with id ``id`` on a 2-D map (plotly's own axis conversions).
POS_2D = """(id) => { const gd = document.querySelector('.js-plotly-plot'); const fl = gd._fullLayout;
  const r = gd.getBoundingClientRect();
  for (const t of gd._fullData) { const i = Array.from(t.customdata || []).map(String).indexOf(id);
    if (i >= 0) return [r.left + fl._size.l + fl.xaxis.l2p(fl.xaxis.d2l(t.x[i])),
                        r.top + fl._size.t + fl.yaxis.l2p(fl.yaxis.d2l(t.y[i]))]; }
  return null; }"""
#: The neighbour panel's "Focus: <label>" text, or null.
FOCUS_TEXT = """() => { const e = [...document.querySelectorAll('[data-testid="stText"]')]
  .find(e => e.innerText.trim().startsWith('Focus: ')); return e ? e.innerText.trim() : null; }"""
