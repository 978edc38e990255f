"""Compare page in a real browser: the current set against an uploaded file, and a row click
that focuses an item (AppTest can do neither an upload nor a dataframe row click)."""

from __future__ import annotations

from pathlib import Path

from e2e_helpers import MAP_TIMEOUT_S, fail_on_exception, wait_for, wait_idle

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
    page.locator("[data-testid='stRadio'] label").filter(has_text="The current dataset and another set").click()
    wait_idle(page)
    second = page.locator("[data-testid='stSelectbox']").filter(has_text="Second set")
    wait_for(page, second, "the 'Second set' box", 60)
    second.click()
    page.get_by_role("option", name="Upload a file…").click()
    uploader = page.locator("[data-testid='stFileUploader']").filter(has_text="Upload the second set")
    wait_for(page, uploader, "the second set's file input", 60)
    uploader.locator("input[type=file]").set_input_files(str(ROOT / "sample_data" / "words.csv"))
    # words.csv: the 1,000 most frequent GloVe words with row-number ids -> matched by label
    wait_for(page, page.locator("[data-testid='stMetric']").filter(has_text="Matched items"), "figures", MAP_TIMEOUT_S)
    wait_idle(page)
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
    assert page.locator("[data-testid='stCaptionContainer']").filter(has_text="Neighbours in A").count() == 1
    assert page.locator("[data-testid='stCaptionContainer']").filter(has_text="Neighbours in B").count() == 1
    fail_on_exception(page)
