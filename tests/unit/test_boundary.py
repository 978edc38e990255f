"""The core never imports Streamlit: only viz_app/ui/ may."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_only_ui_imports_streamlit():
    offenders = []
    for path in (ROOT / "viz_app").rglob("*.py"):
        if "ui" in path.relative_to(ROOT / "viz_app").parts[:1]:
            continue
        if re.search(r"^\s*(import streamlit|from streamlit)", path.read_text(), re.M):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_import_viz_app_is_light():
    code = "import sys, viz_app; print(sorted(m for m in ('streamlit','torch','umap','sentence_transformers','openTSNE') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_no_unsafe_loading_in_the_package():
    pattern = re.compile(r"allow_pickle\s*=\s*True|pickle\.loads?\(|joblib\.load\(|torch\.load\(|unsafe_allow_html\s*=\s*True")
    hits = [str(p) for p in list((ROOT / "viz_app").rglob("*.py")) + list((ROOT / "pages").rglob("*.py"))
            if pattern.search(p.read_text())]
    assert hits == []
