"""Real-browser test of an opt-in share link (viz_app.ui.sharing): an upload shared from the Data
page opens the same set in a second browser context (another session); once revoked, the link
says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_helpers import go_to, upload, wait_for, wait_for_message, wait_idle

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def test_shared_upload_link_opens_elsewhere_and_revoking_ends_it(page, browser, app_url):
    page.goto(app_url + "/?reducer=pca")
    go_to(page, "Data")
    path = REPO / "sample_data" / "words.csv"
    previous = upload(page, path)
    kind, text = wait_for_message(page, path.name, previous=previous)
    assert kind == "success", text
    wait_idle(page)
    page.locator("[data-testid='stExpander']").filter(has_text="Share by link").locator("summary").click()
    page.get_by_role("button", name="Make a link to this upload").click()
    code = page.locator("[data-testid='stCode']").filter(has_text="?shared=")
    wait_for(page, code, "the share link", 60)
    link = code.first.inner_text().strip()
    token = link.split("?shared=", 1)[1]
    assert len(token) >= 20 and token not in text  # unguessable, not the fingerprint

    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        second = other.new_page()
        second.set_default_timeout(120_000)
        second.goto(f"{app_url}/?shared={token}&reducer=pca")
        described = second.locator("[data-testid='stMarkdownContainer']").filter(has_text="1,000 points · 50 dims")
        wait_for(second, described, "the shared set's caption", 400)
        assert "words.csv" in described.first.inner_text()

        wait_idle(page)
        page.get_by_role("button", name="Revoke").click()
        wait_idle(page)
        third = other.new_page()
        third.set_default_timeout(120_000)
        third.goto(f"{app_url}/?shared={token}")
        warning = third.locator("[data-testid='stAlertContentWarning']").filter(has_text="revoked")
        wait_for(third, warning, "the 'link revoked' warning", 120)
    finally:
        other.close()
