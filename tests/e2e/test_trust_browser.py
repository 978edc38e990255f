"""Real-browser test of the trust overlay on the Explore page: colour by "neighbourhood
preserved" draws a 0-1 colour bar, and a focus shows its missing and false neighbours (counts in
the caption, a red line per missing neighbour on the map). Saves the two screenshots in
``docs/`` when ``EMBEDDING_LENS_SCREENSHOTS`` is set."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from e2e_helpers import FIRST_MAP_TIMEOUT_S, MAP, map_attr, row_of, wait_for_plot, wait_idle

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "docs"
INSPECTOR = "Map vs. reality"


def test_preserved_colour_bar_and_focus_inspector_counts(page, app_url):
    page.goto(f"{app_url}/?sample=glove&reducer=pca&color=neighbourhood%20preserved")
    wait_for_plot(page, timeout=FIRST_MAP_TIMEOUT_S)
    # the figures are computed in the background; the map is recoloured when they are ready
    legend = page.locator(f"{MAP} .legend")
    legend.locator("canvas").wait_for(timeout=FIRST_MAP_TIMEOUT_S * 1000)  # a colour bar, not swatches
    assert legend.locator(".title").inner_text() == "neighbourhood preserved"
    assert legend.locator(".ends").inner_text().split() == ["0", "1"]
    assert legend.locator(".item").count() == 0
    caption = page.get_by_text(re.compile(r"preserved@10 \d+\.\d%")).first
    caption.wait_for()
    wait_idle(page)
    if os.environ.get("EMBEDDING_LENS_SCREENSHOTS"):
        page.screenshot(path=str(DOCS / "trust_preserved.png"))

    king = row_of(page, "king")
    page.goto(f"{app_url}/?sample=glove&reducer=pca&color=neighbourhood%20preserved&focus=king")
    wait_for_plot(page, timeout=FIRST_MAP_TIMEOUT_S)
    page.locator(f"{MAP}[data-focus='{king}']").wait_for()
    text = page.locator("[data-testid=stCaptionContainer]", has_text=INSPECTOR).first
    text.wait_for(timeout=FIRST_MAP_TIMEOUT_S * 1000)
    wait_idle(page)
    said = text.inner_text()
    kept, k = (int(x) for x in re.search(r"(\d+) of its (\d+) true neighbours", said).groups())
    missing = int(re.search(r"(\d+) missing", said).group(1))
    false = int(re.search(r"(\d+) false", said).group(1))
    assert k == 10 and kept + missing == k and false == missing  # k true vs k drawn: same shortfall
    arrows = json.loads(map_attr(page, "data-arrows") or "[]")
    assert len(arrows) == missing  # one line from the focus to where each missing neighbour landed
    if os.environ.get("EMBEDDING_LENS_SCREENSHOTS"):
        page.locator(f"{MAP} button[data-action=zfocus]").click()
        wait_idle(page)
        page.screenshot(path=str(DOCS / "trust_inspector.png"))
