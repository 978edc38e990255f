"""Two browser contexts (two Streamlit sessions) on one server: equal vectors with different
labels never mix.

Session 1 uploads ``mine.csv``; session 2 uploads the same vectors as ``theirs.csv`` with other
labels and a ``secret_col``. Session 1's Data page (preview table and summary) and its Explore
page (colour options, caption) then still show only its own file; session 2 sees its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import _close, _open
from e2e_helpers import go_to, upload, wait_for_message, wait_idle
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

pytestmark = pytest.mark.e2e

N = 40


def _write(path: Path, labels: list[str], extra: dict[str, list[str]] | None = None) -> Path:
    v = np.random.default_rng(7).normal(size=(N, 8)).round(5)
    extra = extra or {}
    head = ["label", *extra, *(f"d{j}" for j in range(v.shape[1]))]
    rows = [",".join(head)] + [
        ",".join([lab, *(extra[c][i] for c in extra), *map(str, v[i])]) for i, lab in enumerate(labels)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def _load(pg, path: Path) -> None:
    go_to(pg, "Data")
    before = upload(pg, path)
    kind, text = wait_for_message(pg, path.name, previous=before)
    assert kind == "success", text
    wait_idle(pg, timeout=600)


def _main_text(pg) -> str:
    return pg.locator("[data-testid='stMain']").inner_text()


def _options(pg, where: str, label: str) -> list[str]:
    """The options of the select box ``label`` (opened, read, closed)."""
    box = pg.locator(f"[data-testid='{where}'] [data-testid='stSelectbox']").filter(has_text=label).first
    box.scroll_into_view_if_needed()
    opts = pg.locator("[role='option']")
    for attempt in range(4):  # a click that lands while the page re-renders opens nothing: retry
        box.click()
        try:
            opts.first.wait_for(timeout=10_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 3:
                raise
    out = opts.all_inner_texts()
    pg.keyboard.press("Escape")
    return out


def test_two_sessions_with_equal_vectors_never_mix(browser, app_url, tmp_path):
    mine = _write(tmp_path / "mine.csv", [f"mine{i}" for i in range(N)])
    theirs = _write(
        tmp_path / "theirs.csv", [f"theirs{i}" for i in range(N)], {"secret_col": [f"secret{i}" for i in range(N)]}
    )
    c1, p1, e1 = _open(browser, app_url)
    c2, p2, e2 = _open(browser, app_url)
    try:
        for pg in (p1, p2):  # PCA: instant maps (the sessions' reducer comes from the URL once)
            pg.goto(app_url + "/?reducer=pca")
            wait_idle(pg, timeout=600)
        _load(p1, mine)
        _load(p2, theirs)
        assert "theirs.csv" in _main_text(p2)
        assert "secret_col" in _options(p2, "stMain", "Label column")

        # session 1 reruns (page changes within the same session) after session 2's upload
        go_to(p1, "Explore")
        wait_idle(p1, timeout=600)
        text = _main_text(p1) + p1.locator("[data-testid='stSidebar']").inner_text()
        assert "mine.csv" in text and "theirs" not in text and "secret" not in text
        options = _options(p1, "stSidebar", "Colour by")
        assert "label" in options and not any("secret" in o for o in options)

        go_to(p1, "Data")
        wait_idle(p1, timeout=600)
        text = _main_text(p1)
        assert "mine.csv" in text and "theirs" not in text and "secret" not in text
        assert "secret_col" not in _options(p1, "stMain", "Label column")
    finally:
        _close(c1, p1, e1)
        _close(c2, p2, e2)
