"""Real-browser test of the Data page's column-roles table: a CSV of 1,000 GloVe words (ranks
30,001-31,000 of the installed GloVe 6B 50-d package) with an integer ``freq_rank`` column loads as
50 dims with the rank as metadata; choosing role "vector" for ``freq_rank`` in the table (a
``st.data_editor`` cell, edited with the keyboard as a person would) and pressing "Load with
these roles" loads 51 dims."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from e2e_helpers import go_to, upload, wait_for, wait_for_message, wait_idle

pytestmark = pytest.mark.e2e


def _glove_csv(path: Path) -> Path:
    from viz_app.data.samples import glove_full

    vectors, tokens = glove_full()
    rows = np.arange(30_000, 31_000)
    df = pd.DataFrame(np.asarray(vectors[rows]), columns=[f"d{i}" for i in range(50)])
    df.insert(0, "word", tokens[rows])
    df["freq_rank"] = rows + 1
    df.to_csv(path, index=False)
    return path


def test_role_table_changes_what_loads(page, app_url, tmp_path):
    page.goto(app_url + "/?reducer=pca")
    go_to(page, "Data")
    path = _glove_csv(tmp_path / "glove_1k.csv")
    previous = upload(page, path)
    kind, text = wait_for_message(page, path.name, previous=previous)
    assert kind == "success" and "1,000 points × 50 dims" in text, text
    assert "'freq_rank' is kept as metadata: integer, strictly increasing" in text, text
    wait_idle(page)
    title = page.locator("[data-testid='stMarkdownContainer']").filter(has_text="Column roles of glove_1k.csv")
    wait_for(page, title, "the roles table's title", 60)
    assert "50 vector, 1 label, 1 metadata" in title.inner_text()

    grid = page.locator("[data-testid='stDataFrame']").filter(has=page.locator("[data-testid='data-grid-canvas']"))
    grid.first.scroll_into_view_if_needed()
    box = grid.first.bounding_box()
    page.mouse.click(box["x"] + 20, box["y"] + 35 + 17)  # the first row's "column" cell
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # its "role" cell
    page.keyboard.press("ControlOrMeta+ArrowDown")  # the last row: freq_rank
    page.keyboard.press("Enter")
    option = page.locator("[role='option']").filter(has_text="vector")
    wait_for(page, option, "the role menu", 30)
    option.first.click()
    button = page.get_by_role("button", name="Load with these roles (1 changed)")
    wait_for(page, button, "'Load with these roles (1 changed)'", 60)
    button.click()
    kind, text = wait_for_message(page, path.name, previous=text)
    assert kind == "success" and "1,000 points × 51 dims" in text, text
    wait_idle(page)
    assert page.locator("[data-testid='stMarkdownContainer']").filter(has_text="51 vector").count() >= 1
