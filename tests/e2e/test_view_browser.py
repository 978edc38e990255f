"""Real-browser tests of issue 17's view state: "Clear focus" after "Focus a match" clears and
stays cleared (the browser resends a selectbox's last value on every rerun, which used to focus
the pick again); after an upload the URL names the file, and that link opened in another browser
context (another session) says the upload is not held instead of showing the GloVe sample."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_helpers import FOCUS_TEXT, go_to, upload, wait_for, wait_for_message, wait_idle

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def _search(page, text: str) -> None:
    box = page.locator("[data-testid='stMain'] [data-testid='stTextInput']").filter(has_text="Search labels")
    wait_for(page, box, "the search box", 400)
    box.locator("input").fill(text)
    box.locator("input").press("Enter")


def test_clear_focus_after_focus_a_match(page, app_url):
    page.goto(app_url + "/?reducer=pca")
    _search(page, "king")
    caption = page.locator("[data-testid='stMain'] [data-testid='stCaptionContainer']").filter(has_text="highlighted")
    wait_for(page, caption, "the match count", 120)
    wait_idle(page)
    picker = page.locator("[data-testid='stMain'] [data-testid='stSelectbox']").filter(has_text="Focus a match")
    picker.locator("button[aria-label='Open']").click()
    options = page.locator("[role='option']")
    wait_for(page, options.filter(has_text="king"), "the match list", 30)
    texts = [t.strip() for t in options.all_inner_texts()]
    assert texts[1] == "king", texts[:5]  # exact match first (after "—"), then "kingdom", ...
    options.nth(1).click()
    page.wait_for_function(f"() => ({FOCUS_TEXT})() === 'Focus: king'", timeout=120_000)
    wait_idle(page)
    assert "focus=king" in page.url
    page.get_by_role("button", name="Clear focus").click()
    page.wait_for_function(f"() => ({FOCUS_TEXT})() === null", timeout=120_000)
    wait_idle(page)
    _search(page, "queen")  # any later rerun: the old pick must not come back
    wait_for(page, caption.filter(has_text="match"), "the new match count", 120)
    wait_idle(page)
    assert page.evaluate(FOCUS_TEXT) is None and "focus=" not in page.url


def test_upload_link_is_not_bare_and_another_session_is_told(page, browser, app_url):
    page.goto(app_url + "/?reducer=pca")
    go_to(page, "Data")
    path = REPO / "sample_data" / "words.csv"
    previous = upload(page, path)
    kind, text = wait_for_message(page, path.name, previous=previous)
    assert kind == "success", text
    go_to(page, "Explore")
    page.wait_for_url(lambda url: "upload=" in url and "file=words.csv" in url, timeout=120_000)
    link = page.url
    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        second = other.new_page()
        second.set_default_timeout(120_000)
        second.goto(link)
        warning = second.locator("[data-testid='stAlertContentWarning']").filter(has_text="does not hold")
        wait_for(second, warning, "the 'upload not held' warning", 120)
        assert "words.csv" in warning.inner_text()
        assert second.locator("[data-testid='stMarkdownContainer']").filter(has_text="GloVe 6B").count() == 0
    finally:
        other.close()
