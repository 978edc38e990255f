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
    pattern = re.compile(
        r"allow_pickle\s*=\s*True|pickle\.loads?\(|joblib\.load\(|torch\.load\(|unsafe_allow_html\s*=\s*True"
    )
    hits = [
        str(p)
        for p in list((ROOT / "viz_app").rglob("*.py")) + list((ROOT / "pages").rglob("*.py"))
        if pattern.search(p.read_text())
    ]
    assert hits == []


#: The layers, bottom to top: a module may import its own layer and those below, never above.
LAYERS = {
    "_version": 0,
    "errors": 0,
    "progress": 0,
    "cache": 0,
    "embed": 1,
    "data": 2,
    "reduce": 3,
    "explore": 4,
    "map": 5,
    "export": 6,
    "ui": 7,
    "cli": 8,
    "warmup": 8,
    "__init__": 9,
}


def _layer(module: str) -> str:
    """``viz_app.explore.neighbors`` -> ``explore``; ``viz_app`` itself -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _package_imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported viz_app module, at module top level) for every import of the package."""
    import ast

    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "viz_app":
            names = [f"{node.module}.{a.name}" if node.module == "viz_app" else node.module for a in node.names]
            out += [(node.lineno, n, id(node) in top) for n in names]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name, id(node) in top) for a in node.names if a.name.split(".")[0] == "viz_app"]
    return out


#: Package modules that may be imported inside a function: they import numba and pynndescent at
#: their top (numba kernels must be module-level to sit in numba's disk cache), so they load
#: lazily, like the heavy third-party imports.
LAZY = {"viz_app.reduce._nnd_kernels"}


def test_layers_never_import_upward_and_imports_sit_at_the_top():
    upward, hidden = [], []
    for path in sorted((ROOT / "viz_app").rglob("*.py")):
        rel = path.relative_to(ROOT / "viz_app")
        own = "__init__" if rel.parts == ("__init__.py",) else rel.parts[0].removesuffix(".py")
        for line, module, at_top in _package_imports(path):
            target = _layer(module)
            assert target in LAYERS, f"{rel}:{line} imports {module}: unknown layer (add it to LAYERS)"
            if LAYERS[target] > LAYERS[own]:
                upward.append(f"{rel}:{line} ({own}) imports {module} ({target})")
            if not at_top and module not in LAZY:
                hidden.append(f"{rel}:{line} imports {module} inside a function")
    assert upward == []
    assert hidden == []


def test_every_module_file_has_a_known_layer():
    for path in (ROOT / "viz_app").iterdir():
        name = path.name.removesuffix(".py")
        if path.name.startswith(".") or name == "__pycache__":
            continue
        assert name in LAYERS, f"viz_app/{path.name} is in no layer"
