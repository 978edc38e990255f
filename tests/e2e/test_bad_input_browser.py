"""Real-browser tests of hostile input: a run of bad uploads, and labels that hold HTML.

1. Three malformed files of different kinds in a row (binary junk named ``.csv``, a CSV with
   a short row, a pickled object ``.npy``): each gives one error naming the file and the
   problem, never an exception box, and the session keeps its previous dataset; a good file
   afterwards loads and is mapped.
2. Labels ``<img src=x onerror=alert(1)>`` and ``<b>bold</b>``: no script runs, no element is
   created from them, and the hover label, the focus line and the search match list show them
   literally (the live map draws labels on a canvas and fills its tooltip with ``textContent``).

Each session opens with ``?reducer=pca`` so every map is instant.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from e2e_helpers import (
    FIRST_MAP_TIMEOUT_S,
    FOCUS_TEXT,
    MAP,
    caption,
    checked_option,
    click_row,
    go_to,
    map_attr,
    upload,
    wait_for,
    wait_for_message,
    wait_for_plot,
    wait_idle,
)

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DATA = REPO / "sample_data"
BAD = REPO / "tests" / "data" / "bad"

#: (bad file, words its error message must contain), one of each kind: binary, CSV, pickle
BAD_UPLOADS = [
    ("binary_junk.csv", ["NUL byte", "unsupported format"]),
    ("too_few_fields.csv", ["row 3", "too few fields"]),
    ("object_dtype.npy", ["pickled", "refused for safety"]),
]

IMG = "<img src=x onerror=alert(1)>"
BOLD = "<b>bold</b>"
N_HTML_ROWS = 30
IMG_ROW, BOLD_ROW = 4, 11

EXCEPTION = "[data-testid='stException']"


def _open_pca(page, app_url: str) -> None:
    """A new session on the Explore page with PCA chosen by the URL (the default sample's map)."""
    page.goto(f"{app_url}/?reducer=pca")
    wait_for_plot(page, timeout=FIRST_MAP_TIMEOUT_S)
    assert checked_option(page, "Reducer") == "PCA"


def _current_dataset(page) -> str:
    """The Data page's "Current dataset: ..." line, once the script run is over."""
    wait_idle(page)
    markdown = page.locator("[data-testid='stMain'] [data-testid='stMarkdownContainer']")
    line = markdown.filter(has_text="Current dataset:")
    wait_for(page, line, "'Current dataset:' line", 30)
    return line.first.inner_text().strip()


def _no_exception_box(page) -> None:
    boxes = page.locator(EXCEPTION)
    assert boxes.count() == 0, f"the app showed an exception: {boxes.all_inner_texts()!r}"


def _load(page, path: Path) -> str:
    """Upload ``path`` on the Data page; assert it loaded; return the success message."""
    previous = upload(page, path)
    kind, text = wait_for_message(page, path.name, previous=previous)
    assert kind == "success", text
    return text


def test_three_bad_uploads_then_a_good_one(page, app_url):
    _open_pca(page, app_url)
    go_to(page, "Data")
    first = SAMPLE_DATA / "digits.npy"
    n_first = np.load(first, allow_pickle=False).shape[0]
    assert f"Loaded {first.name}: {n_first:,} points × 64 dims" in _load(page, first)
    before = _current_dataset(page)
    assert before.startswith(f"Current dataset: {first.name} · {n_first:,} points"), before

    for name, words in BAD_UPLOADS:
        previous = upload(page, BAD / name)
        kind, text = wait_for_message(page, name, previous=previous)
        assert kind == "error", text
        assert text.startswith(f"Could not load this file. {name}: "), text
        for word in words:
            assert word in text, f"{word!r} not in {text!r}"
        assert "Traceback" not in text, text
        wait_idle(page)
        _no_exception_box(page)
        # one message: the error replaced the previous result, nothing else is shown
        errors = page.locator("[data-testid='stMain'] [data-testid='stAlertContentError']").all_inner_texts()
        assert errors == [text], errors
        assert _current_dataset(page) == before, f"after {name}"

    good = SAMPLE_DATA / "words.csv"
    n_good = len(pd.read_csv(good))
    assert n_good == 1000
    assert f"Loaded {good.name}: {n_good:,} points × 50 dims" in _load(page, good)
    assert _current_dataset(page).startswith(f"Current dataset: {good.name} · {n_good:,} points")
    _no_exception_box(page)

    go_to(page, "Explore")
    info = wait_for_plot(page, n_good)
    assert info["n"] == n_good and info["text0"][:3] == pd.read_csv(good)["label"].astype(str).head(3).tolist()
    assert checked_option(page, "Reducer") == "PCA"
    text = caption(page)
    assert good.name in text and f"{n_good:,} points" in text and "PCA 2D" in text, text
    assert first.name not in text, text
    _no_exception_box(page)


def _html_csv(path: Path) -> None:
    rng = np.random.default_rng(0)
    labels = [f"w{i}" for i in range(N_HTML_ROWS)]
    labels[IMG_ROW], labels[BOLD_ROW] = IMG, BOLD
    vectors = rng.normal(size=(N_HTML_ROWS, 4)).round(4)
    df = pd.DataFrame({"label": labels, **{f"d{j}": vectors[:, j] for j in range(4)}})
    df.to_csv(path, index=False)
    assert pd.read_csv(path)["label"].tolist() == labels  # the file holds the labels verbatim


def _injected(page) -> dict:
    """Elements the labels would create if some part of the page rendered them as HTML."""
    return {
        "img[src=x]": page.locator('img[src="x"]').count(),
        "<b>bold": page.locator("b").filter(has_text="bold").count(),
    }


def _hover(page, row: int) -> str | None:
    """Move the mouse onto the map's point ``row``; return the tooltip's label text."""
    x, y = page.locator(MAP).evaluate(f"el => el.lensProject({row})")
    for dx in (0, 1, -1, 2):
        page.mouse.move(x + dx + 8, y + 8)
        page.mouse.move(x + dx, y)
        try:
            page.locator(f"{MAP}[data-hover='{row}']").wait_for(timeout=5_000)
        except Exception:
            continue
        tip = page.locator(f"{MAP} .tooltip .lab")
        tip.wait_for()
        return tip.inner_text()
    return None


def test_html_label_is_shown_literally(page, app_url, tmp_path):
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    path = tmp_path / "html_labels.csv"
    _html_csv(path)

    _open_pca(page, app_url)
    go_to(page, "Data")
    assert f"Loaded {path.name}: {N_HTML_ROWS} points × 4 dims" in _load(page, path)
    go_to(page, "Explore")
    info = wait_for_plot(page, N_HTML_ROWS)
    assert path.name in caption(page) and "PCA 2D" in caption(page)

    # (a) nothing was executed or created from the labels
    page.wait_for_timeout(500)
    assert dialogs == []
    assert _injected(page) == {"img[src=x]": 0, "<b>bold": 0}

    # (b) the map holds the labels as plain text, and its tooltip (textContent) shows them literally
    labels = [page.locator(MAP).evaluate(f"el => el.lensLabel({r})") for r in range(N_HTML_ROWS)]
    assert labels[IMG_ROW] == IMG and labels[BOLD_ROW] == BOLD
    assert info["text0"][IMG_ROW] == IMG  # rows in file order
    assert _hover(page, IMG_ROW) == IMG
    assert _hover(page, BOLD_ROW) == BOLD
    assert page.locator(f"{MAP} .tooltip b").count() == 0
    assert dialogs == []
    assert _injected(page) == {"img[src=x]": 0, "<b>bold": 0}

    # (c) clicking the <img> point: the focus line (DOM text) shows the label literally
    page.mouse.move(10, 10)
    click_row(page, IMG_ROW)
    page.locator(f"{MAP}[data-focus='{IMG_ROW}']").wait_for()
    page.wait_for_function(f"(w) => ({FOCUS_TEXT})() === w", arg=f"Focus: {IMG}", timeout=60_000)
    wait_idle(page)
    assert page.get_by_text(f"Focus: {IMG}", exact=True).is_visible()
    # its on-map label is drawn on the overlay canvas: the literal text, no element made from it
    on_map = {lab["t"]: lab["kind"] for lab in json.loads(map_attr(page, "data-labels"))}
    assert on_map.get(IMG) == "focus", on_map
    assert _injected(page) == {"img[src=x]": 0, "<b>bold": 0}
    assert "focus=" not in page.url  # uploads are not mirrored into the URL

    # search "bold" and pick the match: the option and the new focus line are literal text
    box = page.locator("[data-testid='stMain'] [data-testid='stTextInput']").filter(has_text="Search labels")
    box.locator("input").fill("bold")
    box.locator("input").press("Enter")
    matches = page.locator("[data-testid='stMain'] [data-testid='stCaptionContainer']").filter(
        has_text="1 match highlighted on the map"
    )
    wait_for(page, matches, "'1 match highlighted' caption", 60)
    wait_idle(page)
    picker = page.locator("[data-testid='stMain'] [data-testid='stSelectbox']").filter(has_text="Focus a match")
    picker.locator("button[aria-label='Open']").click()  # a react-aria combo box in Streamlit 1.67
    option = page.locator("[role='option']").filter(has_text="bold")
    wait_for(page, option, "the match in the 'Focus a match' list", 30)
    assert option.first.inner_text().strip() == BOLD
    option.first.click()
    page.wait_for_function(f"(want) => ({FOCUS_TEXT})() === want", arg=f"Focus: {BOLD}", timeout=60_000)
    wait_idle(page)
    assert page.evaluate(FOCUS_TEXT) == f"Focus: {BOLD}"
    page.locator(f"{MAP}[data-focus='{BOLD_ROW}']").wait_for()  # the map follows the picked match

    page.wait_for_timeout(500)
    assert dialogs == []
    assert _injected(page) == {"img[src=x]": 0, "<b>bold": 0}
    _no_exception_box(page)


MARKDOWN_CELL = "**[click](https://evil.example/)**"


def test_markdown_in_a_bad_file_is_shown_literally(page, app_url, tmp_path):
    """A cell holding Markdown, quoted in the error message, is shown as typed: no link, no bold."""
    path = tmp_path / "markdown_cell.csv"
    path.write_text(f"label,x,y\nking,0.5,0.7\nqueen,0.4,{MARKDOWN_CELL}\nman,-0.2,0.1\n", encoding="utf-8")

    _open_pca(page, app_url)
    go_to(page, "Data")
    before = _current_dataset(page)
    previous = upload(page, path)
    kind, text = wait_for_message(page, path.name, previous=previous)
    assert kind == "error", text
    assert text.startswith(f"Could not load this file. {path.name}: "), text
    assert "row 3" in text and "'y'" in text and "not a finite number" in text, text
    # asterisks and brackets kept: the Markdown was not rendered; the app puts an invisible WORD
    # JOINER (U+2060) before "://" so the URL is not auto-linked
    assert "https\u2060://" in text, text
    assert MARKDOWN_CELL in text.replace("\u2060", ""), text
    wait_idle(page)
    assert page.locator('a[href*="evil.example"]').count() == 0
    main = page.locator("[data-testid='stMain']")
    assert main.locator("strong, b").filter(has_text="click").count() == 0
    assert _current_dataset(page) == before  # the refused file did not replace the dataset
    _no_exception_box(page)
