"""Helpers that drive Embedding Lens in a Playwright page (sync API).

Kept out of ``conftest.py`` so test modules can import them by a name no other test folder
uses (``from e2e_helpers import ...``; pytest puts ``tests/e2e`` on ``sys.path``).

The map is the live map component (``[data-testid=lens-map]``, ``frontend/src/map.ts``): its
state is read from its ``data-*`` attributes (``data-n``, ``data-dims``, ``data-focus``,
``data-neighbors``, ``data-selection-count``, ``data-labels``, ``data-view``), never from
pixels. ``data-map`` is the content id of the map's data, so a changed id tells a new map from a
stale one; ``data-ready="1"`` once its data is drawn.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

#: A PCA map of <= 10k points, or an upload of a numeric file (parse + store).
MAP_TIMEOUT_S = 120
#: First map of a server: instant with a warm disk cache, up to ~150 s with a cold one.
FIRST_MAP_TIMEOUT_S = 400
#: Text uploads: torch + model load (~10 s) and embedding on 2 shared cores.
EMBED_TIMEOUT_S = 240

MAP = "[data-testid=lens-map]"

_PLOT_JS = """(m) => {
  if (m.dataset.ready !== '1') return null;
  const n = Number(m.dataset.n);
  return {
    n,
    dims: Number(m.dataset.dims),
    revision: String(m.dataset.map),
    text0: Array.from({length: Math.min(20, n)}, (_, i) => m.lensLabel(i)),
  };
}"""


def plot_info(page) -> dict[str, Any] | None:
    """The live map's point count ``n``, ``dims`` (2 or 3), ``revision`` (the content id of
    its data) and its first 20 labels ``text0``; None before a map's data is drawn. (The map
    lives in a shadow root: Playwright's locators reach it, ``document.querySelector`` does not.)"""
    found = page.locator(MAP)
    if not found.count():
        return None
    try:
        return found.first.evaluate(_PLOT_JS, timeout=5_000)
    except Exception:  # replaced by a rerun meanwhile
        return None


def plotted_points(page) -> int | None:
    """Points drawn by the map, or None without a map."""
    info = plot_info(page)
    return None if info is None else info["n"]


def map_attr(page, name: str) -> str | None:
    """A ``data-*`` attribute of the (first) live map, e.g. ``"data-focus"``."""
    return page.locator(MAP).first.get_attribute(name)


def row_of(page, label: str) -> int:
    """The map row whose label is ``label`` (first match); fails when none."""
    row = page.locator(MAP).first.evaluate(
        "(el, t) => { const n = Number(el.dataset.n); for (let i = 0; i < n; i++) if (el.lensLabel(i) === t) return i;"
        " return -1; }",
        label,
    )
    if row < 0:
        pytest.fail(f"no point labelled {label!r} on the map")
    return int(row)


def click_row(page, row: int) -> None:
    """Click the point of ``row``: move onto where the map draws it and, in case a nearer point
    covers it (3D), nudge until the page's own hover pick (``data-hover``) is that row."""
    x, y = page.locator(MAP).first.evaluate(f"el => el.lensProject({row})")
    for dx, dy in [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (2, 2), (-2, -2), (2, -2), (-2, 2)]:
        page.mouse.move(x + dx + 5, y + dy + 5)
        page.mouse.move(x + dx, y + dy)
        try:
            page.locator(f"{MAP}[data-hover='{row}']").wait_for(timeout=5000)
        except Exception:  # another point is on top here: try next to it
            continue
        page.mouse.click(x + dx, y + dy)
        return
    pytest.fail(f"row {row} could not be hovered at {x:.0f}, {y:.0f} (hovered: {map_attr(page, 'data-hover')})")


def lasso(page, *, fx: float = 0.45, fy: float = 0.5, fr: float = 0.22) -> None:
    """Draw an irregular lasso loop on the map (centre at fractions ``fx``, ``fy`` of the plot,
    radius ``fr`` of its height) with the toolbar's Lasso tool; back to Pan afterwards."""
    page.locator(f"{MAP} button[data-action=lasso]").first.click()
    box = page.locator(f"{MAP} .plot").first.bounding_box()
    cx, cy = box["x"] + box["width"] * fx, box["y"] + box["height"] * fy
    r = box["height"] * fr
    page.mouse.move(cx + r, cy)
    page.mouse.down()
    for i in range(1, 61):
        a = 2 * math.pi * i / 60
        page.mouse.move(cx + r * math.cos(a) * (1 + 0.3 * math.sin(3 * a)), cy + r * 0.7 * math.sin(a))
    page.mouse.up()
    page.locator(f"{MAP} button[data-action=pan]").first.click()


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
            console = getattr(page, "lens_console", [])[-8:]
            pytest.fail(
                f"no {what} after {timeout} s; alerts: {alerts(page)!r}; maps: {maps_state(page)!r}; console: {console!r}"
            )
        page.wait_for_timeout(200)


_STATE_JS = """(m) => {
  const msg = m.querySelector('.message');
  const d = {...m.dataset};
  delete d.build;
  return {...d, message: msg && msg.style.display !== 'none' ? msg.textContent : '',
          height: Math.round(m.getBoundingClientRect().height)};
}"""


def maps_state(page) -> list[dict[str, Any]]:
    """Every live map's ``data-*`` state, its shown message (e.g. a load error) and height: what
    a failed wait reports, so a failure in CI tells its cause."""
    out = []
    for i in range(page.locator(MAP).count()):
        try:
            out.append(page.locator(MAP).nth(i).evaluate(_STATE_JS, timeout=5_000))
        except Exception as exc:  # replaced by a rerun meanwhile
            out.append({"error": str(exc)[:200]})
    return out


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
    dims: int | None = None,
    changed_from: str | None = None,
) -> dict[str, Any]:
    """Wait for a drawn map, optionally with exactly ``n_points`` points, ``dims`` dimensions
    and a data id other than ``changed_from``; return :func:`plot_info`.

    Fails with the last map seen and the page's alerts (errors shown by the app).
    """
    deadline = time.monotonic() + timeout
    while True:
        info = plot_info(page)
        if (
            info is not None
            and (n_points is None or info["n"] == n_points)
            and (dims is None or info["dims"] == dims)
            and (changed_from is None or info["revision"] != changed_from)
            and not is_running(page)
        ):
            return info
        fail_on_exception(page)
        if time.monotonic() > deadline:
            shown = {k: v for k, v in (info or {}).items() if k != "text0"}
            pytest.fail(
                f"no map with n_points={n_points}, dims={dims}, revision != {changed_from} "
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
    """Follow the sidebar navigation link ``title`` ("Explore" or "Data").

    Clicks the link again if the page has not changed after 30 s (90 s in all): at high load, a
    navigation clicked while a heavy run (a 3-D map) was still ending was seen to be lost ("no
    page 'Data' after 30 s"). It does not wait for the app to be idle first: a page with a
    polling fragment (the trust metrics' progress) may never be idle for long."""
    link = page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).first
    heading = page.locator("[data-testid='stMain'] h1").filter(has_text=title)
    for _attempt in range(3):
        link.click()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (heading.count() and heading.first.is_visible()):
            fail_on_exception(page)
            page.wait_for_timeout(200)
        if heading.count() and heading.first.is_visible():
            break
    wait_for(page, heading, f"page {title!r}", 1)
    # the path only: a query string (a sample link's, or the view's) may still be on the URL
    page.wait_for_url(lambda url: urlsplit(url).path.rstrip("/").endswith("/data") == (title == "Data"), timeout=30_000)


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


#: The neighbour panel's "Focus: <label>" text, or null.
FOCUS_TEXT = """() => { const e = [...document.querySelectorAll('[data-testid="stText"]')]
  .find(e => e.innerText.trim().startsWith('Focus: ')); return e ? e.innerText.trim() : null; }"""


def table_column(page, column: str, *, index: int = 0) -> list[str]:
    """Texts of ``column`` in the ``index``-th ``st.dataframe`` of the main area, top to bottom,
    read from the grid's accessible table (the rows it renders: those in view)."""
    grid = page.locator("[data-testid='stMain'] [data-testid='stDataFrame']").nth(index)
    return grid.evaluate(
        """(e, name) => { const t = e.querySelector('table[role=grid]'); if (!t) return [];
        const heads = [...t.querySelectorAll('th')].map(h => h.textContent.trim());
        const j = heads.indexOf(name); if (j < 0) return [];
        return [...t.querySelectorAll('tbody tr')].map(r => r.querySelectorAll('td')[j]?.textContent ?? ''); }""",
        column,
    )
