"""Real-browser tests of Embedding Lens: first map, uploads of every sample format, a bad
upload, 3-D. Each test is a new Streamlit session (a new browser context), except the upload
tests, which share one session switched to PCA (``pca_page``) to skip the first map's cost.

Expected point counts are computed here from the files themselves (pandas / numpy / line
counts), independently of ``viz_app.data.io``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from e2e_helpers import (
    EMBED_TIMEOUT_S,
    FIRST_MAP_TIMEOUT_S,
    caption,
    checked_option,
    choose_dims,
    choose_reducer,
    go_to,
    upload,
    wait_for,
    wait_for_message,
    wait_for_plot,
)

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DATA = REPO / "sample_data"
SHOTS = Path("/tmp/shots")
DEFAULT_N = 10_000  # the default sample: GloVe, 10,000 most frequent tokens

#: Every accepted sample file, with its Embedding Projector metadata file where it has one.
SAMPLE_UPLOADS = [
    ("words.csv", None),
    ("words_list.csv", None),
    ("words.parquet", None),
    ("glove_words.txt", None),
    ("word2vec_words.vec", None),
    ("digits.npy", None),
    ("digits.npz", None),
    ("projector_tensors.tsv", None),
    ("projector_tensors.tsv", "projector_metadata.tsv"),
    ("sentences.csv", None),
    ("sentences.txt", None),
]
TEXT_FILES = {"sentences.csv", "sentences.txt"}  # embedded with MiniLM on upload
NOT_UPLOADS = {"README.md", "make_samples.py", "projector_metadata.tsv"}


def _lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def expected_rows(path: Path) -> int:
    """Number of items in a sample file, counted without ``viz_app``."""
    if path.suffix == ".csv":
        return len(pd.read_csv(path))
    if path.suffix == ".parquet":
        return len(pd.read_parquet(path))
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False).shape[0]
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return z["vectors"].shape[0]
    if path.suffix == ".vec":  # word2vec text: a "<count> <dims>" header line
        lines = _lines(path)
        assert int(lines[0].split()[0]) == len(lines) - 1
        return len(lines) - 1
    return len(_lines(path))  # GloVe text, projector tensors, one text per line


def open_default_map(page) -> dict:
    """Wait for the first map of a new session (the default sample)."""
    return wait_for_plot(page, DEFAULT_N, timeout=FIRST_MAP_TIMEOUT_S)


def current_dataset_line(page, expected: str) -> None:
    """Wait for the Data page's summary line to read ``expected`` (it is drawn after the message)."""
    markdown = page.locator("[data-testid='stMain'] [data-testid='stMarkdownContainer']")
    line = markdown.filter(has_text="Current dataset:")
    wait_for(page, line.filter(has_text=expected), repr(expected), 30)


def test_every_sample_file_is_covered():
    files = {p.name for p in SAMPLE_DATA.iterdir() if p.is_file()} - NOT_UPLOADS
    assert files == {name for name, _ in SAMPLE_UPLOADS}


def test_default_map(page):
    t0 = time.monotonic()
    info = open_default_map(page)
    print(f"first map in {time.monotonic() - t0:.1f} s")
    assert info["n"] == DEFAULT_N
    assert info["dims"] == 2
    text = caption(page)
    assert "10,000 points" in text
    assert "UMAP 2D" in text
    assert checked_option(page, "Reducer") == "UMAP"
    assert checked_option(page, "Dimensions") == "2D"


def test_csv_upload_then_map(page):
    path = SAMPLE_DATA / "words.csv"
    n = expected_rows(path)
    open_default_map(page)
    go_to(page, "Data")
    upload(page, path)
    kind, text = wait_for_message(page, path.name)
    assert kind == "success", text
    assert f"Loaded {path.name}: {n:,} points × 50 dims" in text
    current_dataset_line(page, f"Current dataset: {path.name} · {n:,} points")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "data_page.png"), full_page=True)

    page.locator("[data-testid='stPageLink'] a").filter(has_text="Open the map").click()
    wait_for(page, page.locator("[data-testid='stMain'] h1").filter(has_text="Explore"), "Explore page", 30)
    wait_for_plot(page, n, timeout=FIRST_MAP_TIMEOUT_S)  # UMAP of 1,000 points (disk-cached after)
    text = caption(page)
    assert path.name in text
    assert f"{n:,} points" in text
    assert "UMAP 2D" in text
    page.screenshot(path=str(SHOTS / "explore_upload.png"), full_page=True)


@pytest.fixture(scope="module")
def pca_page(shared_page):
    """One session for the upload tests, switched to PCA (instant maps; kept for the session)."""
    choose_reducer(shared_page, "PCA", timeout=FIRST_MAP_TIMEOUT_S)
    return shared_page


def _watch_progress(page, file_name: str, previous: str, timeout: float) -> list[str]:
    """Texts of the visible progress bars seen until a new message about ``file_name`` appears."""
    bar = page.locator("[data-testid='stMain'] [data-testid='stProgress']")
    msg = page.locator("[data-testid='stMain'] [data-testid='stAlertContainer']").filter(has_text=file_name)
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and all(t == previous for t in msg.all_inner_texts()):
        try:
            if bar.count() and bar.first.is_visible():
                seen.append(bar.first.inner_text(timeout=1_000).strip() or "(no text)")
        except Exception:  # the bar was replaced between count() and inner_text()
            pass
        page.wait_for_timeout(100)
    return seen


@pytest.mark.parametrize(
    ("file_name", "metadata"),
    SAMPLE_UPLOADS,
    ids=[f"{f}+metadata" if m else f for f, m in SAMPLE_UPLOADS],
)
def test_sample_upload_gives_map(pca_page, file_name, metadata):
    page = pca_page
    path = SAMPLE_DATA / file_name
    n = expected_rows(path)
    go_to(page, "Data")
    previous = upload(page, path, metadata=SAMPLE_DATA / metadata if metadata else None)
    if file_name in TEXT_FILES:
        seen = _watch_progress(page, file_name, previous, EMBED_TIMEOUT_S)
        assert seen, "no progress bar was visible while the texts were embedded"
        assert any(f"/ {n:,} texts" in s for s in seen), seen  # "Embedded 64 / 500 texts"
    kind, text = wait_for_message(page, file_name, previous=previous, timeout=EMBED_TIMEOUT_S)
    assert kind == "success", text
    assert f"Loaded {file_name}: {n:,} points" in text
    if metadata:
        assert f"Metadata from {metadata}: 2 columns." in text
    if file_name in TEXT_FILES:
        assert f"Embedded {n:,} texts from {file_name} with all-MiniLM-L6-v2" in text

    go_to(page, "Explore")
    assert checked_option(page, "Reducer") == "PCA"
    info = wait_for_plot(page, n)
    text = caption(page)
    assert file_name in text
    assert f"{n:,} points" in text
    assert "PCA 2D" in text
    if metadata:  # hover labels come from the metadata's first column, in row order
        labels = pd.read_csv(SAMPLE_DATA / metadata, sep="\t", dtype=str)["label"].tolist()
        assert len(info["text0"]) == 20
        assert info["text0"] == labels[:20]  # digits 0-9, 0-9: not the row numbers 0..19


def test_bad_upload_keeps_previous_data(pca_page, tmp_path):
    page = pca_page
    good = SAMPLE_DATA / "words.csv"
    n = expected_rows(good)
    bad_files = {
        "short_row.csv": b"a,b\n1\n",
        "junk.csv": bytes(range(256)) * 8,
    }
    go_to(page, "Data")
    previous = upload(page, good)
    assert wait_for_message(page, good.name, previous=previous)[0] == "success"
    for name, data in bad_files.items():
        bad = tmp_path / name
        bad.write_bytes(data)
        previous = upload(page, bad)
        kind, text = wait_for_message(page, name, previous=previous)
        assert kind == "error", text
        assert text.startswith("Could not load this file."), text
    current_dataset_line(page, f"Current dataset: {good.name} · {n:,} points")

    go_to(page, "Explore")
    wait_for_plot(page, n)
    assert good.name in caption(page)


def test_pca_then_3d(page):
    open_default_map(page)
    info = choose_reducer(page, "PCA")
    assert info["n"] == DEFAULT_N
    assert info["dims"] == 2
    assert "PCA 2D" in caption(page)

    info = choose_dims(page, "3D")
    assert info["dims"] == 3
    assert info["n"] == DEFAULT_N
    assert "PCA 3D" in caption(page)

    go_to(page, "Data")  # the settings persist across pages of a session
    go_to(page, "Explore")
    info = wait_for_plot(page, DEFAULT_N, dims=3)
    assert checked_option(page, "Reducer") == "PCA"
    assert checked_option(page, "Dimensions") == "3D"
