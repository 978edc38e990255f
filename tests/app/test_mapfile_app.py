"""The app opens a map file (`embedding-lens serve map.parquet`) with its stored map: no reducer runs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from viz_app.cli import main
from viz_app.ui import cache

ROOT = Path(__file__).resolve().parents[2]


def test_serve_file_opens_the_stored_map_without_projecting(tmp_path, monkeypatch):
    out = tmp_path / "words_map.parquet"
    assert main(["map", "sample_data/words.csv", "-o", str(out), "--reducer", "pca", "--seed", "3", "-q"]) == 0
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("EMBEDDING_LENS_OPEN", str(out))

    def boom(*a, **k):
        raise AssertionError("the app projected a stored map again")

    monkeypatch.setattr(cache, "project_in_worker", boom)
    at = AppTest.from_file(str(ROOT / "pages" / "explore.py"), default_timeout=600).run()
    assert not at.exception
    caption = re.sub(r"\\(.)", r"\1", at.markdown[0].value)
    assert "1,000 points" in caption and "PCA 2D" in caption and "seed 3" in caption
    # the file's coordinates are this session's own: kept in its store, never in the shared
    # projection store where another session with the same vectors would be shown them
    stored = [v for k, v in cache.session_sets()._data.items() if k[1][0] == "stored-map"]
    assert stored and np.asarray(stored[0].coords).shape == (1000, 2)
    assert not [k for k in cache.projections()._data if k[1].random_state == 3]
