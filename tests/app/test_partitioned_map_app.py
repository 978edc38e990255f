"""The app opens a partitioned map (a folder of part files, as ``--engine dask`` writes it) given to
``embedding-lens serve FOLDER``, with its stored map: no reducer runs."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from viz_app.cli import main
from viz_app.export.mapfile import load_map, write_map
from viz_app.ui import cache

ROOT = Path(__file__).resolve().parents[2]


def test_serve_folder_opens_the_partitioned_map_without_projecting(tmp_path, monkeypatch):
    one = tmp_path / "words_map.parquet"
    assert main(["map", "sample_data/words.csv", "-o", str(one), "--reducer", "pca", "--seed", "4", "-q"]) == 0
    folder = write_map(load_map(one), tmp_path / "words_parts.parquet", rows_per_part=300)
    assert len(list(folder.iterdir())) == 4
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("EMBEDDING_LENS_OPEN", str(folder))

    def boom(*a, **k):
        raise AssertionError("the app projected a stored map again")

    monkeypatch.setattr(cache, "project_in_worker", boom)
    at = AppTest.from_file(str(ROOT / "pages" / "explore.py"), default_timeout=600).run()
    assert not at.exception
    caption = re.sub(r"\\(.)", r"\1", at.markdown[0].value)
    assert "1,000 points" in caption and "PCA 2D" in caption and "seed 4" in caption
