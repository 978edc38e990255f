"""Compare page in a real browser: the current set against an uploaded file, and a row click
that focuses an item (AppTest can do neither an upload nor a dataframe row click)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_helpers import FIRST_MAP_TIMEOUT_S, MAP_TIMEOUT_S, fail_on_exception, wait_for, wait_idle

ROOT = Path(__file__).resolve().parents[2]


def _metric(page, label: str) -> str:
    labels = [t.strip() for t in page.locator("[data-testid='stMetricLabel']").all_inner_texts()]
    values = [t.strip() for t in page.locator("[data-testid='stMetricValue']").all_inner_texts()]
    return dict(zip(labels, values))[label]


def _chosen(page, label: str) -> str:
    """The option shown in the select box ``label`` (its combobox input's value)."""
    return page.get_by_role("combobox", name=label).input_value()


def test_current_set_against_an_uploaded_file_and_a_row_click(page):
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Compare").first.click()
    wait_for(page, page.locator("[data-testid='stMain'] h1").filter(has_text="Compare"), "Compare page", 60)
    wait_idle(page, FIRST_MAP_TIMEOUT_S)  # the bundled pair's two maps (UMAP: minutes with a cold cache)
    page.locator("[data-testid='stRadio'] label").filter(has_text="The current dataset and another set").click()
    wait_idle(page, FIRST_MAP_TIMEOUT_S)  # the current set against the first offered set: two maps
    second = page.locator("[data-testid='stSelectbox']").filter(has_text="Second set")
    wait_for(page, second, "the 'Second set' box", 60)
    second.click()
    page.get_by_role("option", name="Upload a file…").click()
    uploader = page.locator("[data-testid='stFileUploader']").filter(has_text="Upload the second set")
    wait_for(page, uploader, "the second set's file input", 60)
    uploader.locator("input[type=file]").set_input_files(str(ROOT / "sample_data" / "words.csv"))
    # words.csv: the 1,000 most frequent GloVe words with row-number ids -> matched by label
    wait_for(page, page.locator("[data-testid='stMetric']").filter(has_text="Matched items"), "figures", MAP_TIMEOUT_S)
    wait_idle(page, FIRST_MAP_TIMEOUT_S)  # then both maps (UMAP of the 1,000 uploaded words)
    assert _metric(page, "Matched items") == "1,000" and _metric(page, "Unmatched items") == "9,000"
    assert _metric(page, "Mean Jaccard@10") == "1.000"  # the same GloVe vectors
    assert _chosen(page, "Second set") == "words.csv (opened in this session)"
    # click the third row of "Most stable": it becomes the focus, with both neighbour lists
    grid = page.locator("[data-testid='stDataFrame']").nth(1)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 * 3 + 17)  # the row's selection cell (35 px rows)
    wait_idle(page)
    focus = page.locator("[data-testid='stSelectbox']").filter(has_text="Focus an item")
    wait_for(page, page.locator("[data-testid='stMarkdown']").filter(has_text="· Jaccard@10 1.00"), "focus line", 60)
    from viz_app import compare, load, load_sample

    third = compare(load_sample("glove"), load(ROOT / "sample_data" / "words.csv")).most_stable(3)["label"].iat[2]
    assert third != "the"  # the focus before the click (the first of the most changed, all tied)
    wait_for(page, focus.locator(f"input[value='{third}']"), f"{third!r} in the focus box", 60)
    line = page.locator("[data-testid='stMarkdown']").filter(has_text="· Jaccard@10").first.inner_text()
    assert line.startswith(f"{third} · Jaccard@10 1.00 · 10 of 10 neighbours in both"), line
    wait_idle(page)  # the list click reruns the maps' fragment: its old elements go when it ends
    assert page.locator("[data-testid='stCaptionContainer']").filter(has_text="Neighbours in A").count() == 1
    assert page.locator("[data-testid='stCaptionContainer']").filter(has_text="Neighbours in B").count() == 1
    fail_on_exception(page)


MAP = "[data-testid=lens-map]"


def _map_attr(page, side: int, name: str) -> str | None:
    return page.locator(MAP).nth(side).get_attribute(name)


def _click_point(page, side: int, row: int) -> None:
    """Click ``row`` of map ``side`` (0 = left): move onto its projection, nudging until the
    page's hover pick is that row (a neighbour may sit on top of it)."""
    m = page.locator(MAP).nth(side)
    m.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    plot = m.locator(".plot").bounding_box()
    x, y = m.evaluate(f"el => el.lensProject({row})")
    assert plot["x"] <= x <= plot["x"] + plot["width"] and plot["y"] <= y <= plot["y"] + plot["height"], (
        f"row {row} is outside map {side}'s view: {x:.0f}, {y:.0f} not in {plot}"
    )
    for dx, dy in [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (2, 2), (-2, -2), (2, -2), (-2, 2), (3, 0), (0, 3)]:
        x, y = m.evaluate(f"el => el.lensProject({row})")
        page.mouse.move(x + dx + 6, y + dy + 6)
        page.mouse.move(x + dx, y + dy)
        try:
            page.locator(MAP).nth(side).and_(page.locator(f"[data-hover='{row}']")).wait_for(timeout=4000)
        except Exception:  # another point is on top here: try next to it
            continue
        page.mouse.click(x + dx, y + dy)
        return
    pytest.fail(f"row {row} of map {side} could not be hovered (hovered: {_map_attr(page, side, 'data-hover')})")


def _wait_text(page, grid, words: list[str], timeout_ms: int = 60_000) -> str:
    """A dataframe's text (glide-data-grid draws on a canvas and keeps an accessible table), once
    it holds every one of ``words``: waiting for the first alone passed on the previous focus's
    table ("princess", queen's first neighbour, contains "prince", king's)."""
    for _ in range(timeout_ms // 250):
        text = grid.text_content() or ""
        if all(w in text for w in words):
            return text
        page.wait_for_timeout(250)
    pytest.fail(f"{words!r} not all in the table: {grid.text_content()!r}")


def test_a_click_on_the_left_map_focuses_the_word_on_the_right_and_lists_both_neighbour_sets(page, glove_10k):
    from viz_app.data.samples import load_sample
    from viz_app.explore.neighbors import most_similar

    page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Compare").first.click()
    wait_for(page, page.locator("[data-testid='stMain'] h1").filter(has_text="Compare"), "Compare page", 60)
    wait_idle(page, FIRST_MAP_TIMEOUT_S)  # the default (UMAP) maps, from the disk cache once computed
    page.locator("[data-testid='stMain'] [data-testid='stRadio'] label").filter(
        has_text="PCA"
    ).first.click()  # maps in seconds
    wait_idle(page)
    wait_for(page, page.locator(f"{MAP}[data-ready='1']").nth(1), "two live maps", MAP_TIMEOUT_S)
    words = list(glove_10k.labels)
    king, queen = words.index("king"), words.index("queen")
    # focus "queen" from the focus box: both maps zoom to it and its neighbours (king among them)
    box = page.locator("[data-testid='stSelectbox']").filter(has_text="Focus an item")
    box.click()
    page.keyboard.type("queen")
    page.get_by_role("option", name="queen", exact=True).click()
    for side in (0, 1):
        page.locator(MAP).nth(side).and_(page.locator(f"[data-server-focus='{queen}']")).wait_for()
    wait_idle(page)
    _click_point(page, 0, king)  # the left map (GloVe): rows are the same words in both maps
    page.locator(MAP).nth(0).and_(page.locator(f"[data-focus='{king}']")).wait_for()
    page.locator(MAP).nth(1).and_(page.locator(f"[data-server-focus='{king}']")).wait_for()  # the right map
    wait_for(page, page.locator("[data-testid='stMarkdown']").filter(has_text="king · Jaccard@10"), "focus line", 120)
    wait_idle(page)
    # both neighbour lists (the grids' accessible tables): GloVe's on the left, MiniLM's on the
    # right; each map labels its own space's neighbours of king
    grids = page.locator("[data-testid='stDataFrame']")
    minilm = load_sample("glove-minilm")
    for side, es in ((0, glove_10k), (1, minilm)):
        expected = list(most_similar(es, "king", k=10)["label"])
        grid = grids.nth(2 + side)
        grid.scroll_into_view_if_needed()
        _wait_text(page, grid, expected)
        labels = {lab["t"] for lab in json.loads(_map_attr(page, side, "data-labels") or "[]")}
        assert "king" in labels and len(labels & set(expected)) >= 5, (side, labels)
    assert set(most_similar(glove_10k, "king", k=10)["label"]) != set(most_similar(minilm, "king", k=10)["label"])
    fail_on_exception(page)
