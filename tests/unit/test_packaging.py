"""Packaging: pyproject's dependencies follow requirements.txt; `pip install .` gives a working
`embedding-lens` and `import viz_app` (e2e: builds a wheel and installs it into a fresh venv)."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _runtime_pins() -> list[str]:
    text = (ROOT / "requirements.txt").read_text()
    runtime = text.split("# Tests")[0]
    return [ln.strip() for ln in runtime.splitlines() if ln.strip() and not ln.startswith("#")]


def test_pyproject_dependencies_are_the_runtime_pins_of_requirements_txt():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert sorted(project["dependencies"], key=str.lower) == sorted(_runtime_pins(), key=str.lower)
    assert "torch==2.13.0" in project["dependencies"]  # unpinned, pip would pull a CUDA build
    assert project["scripts"]["embedding-lens"] == "viz_app.cli:main"


def test_nodeps_requirements_are_pinned():
    lines = [ln for ln in (ROOT / "requirements-nodeps.txt").read_text().splitlines() if ln and ln[0] != "#"]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9.]+", ln) for ln in lines)


@pytest.mark.e2e
def test_pip_install_into_a_fresh_venv_gives_the_cli_and_the_package(tmp_path):
    """Offline trick: the new venv sees the shared venv's site-packages through a .pth file and
    installs only our wheel (--no-deps); it runs outside the repository, so `viz_app` must come
    from the installed wheel."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        cwd=tmp_path,
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "shared.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    py = venv / "bin" / "python"
    wheel = next(wheels.glob("embedding_lens-*.whl"))
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, cwd=tmp_path)
    out = subprocess.run(
        [str(venv / "bin" / "embedding-lens"), "--help"], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert "embed" in out.stdout and "map" in out.stdout and "serve" in out.stdout
    code = "import viz_app, viz_app.cli as c; print(viz_app.__file__); print(c.app_script())"
    where = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    pkg, script = where.stdout.split()
    assert pkg.startswith(str(venv)) and script.startswith(str(venv))
    app = Path(script).parent
    assert (app / "pages" / "explore.py").is_file() and (app / ".streamlit" / "config.toml").is_file()
    assert (Path(pkg).parent / "ui" / "map" / "assets" / "lens-map.js").is_file()
    # a map from the installed CLI, outside the repository
    words = ROOT / "sample_data" / "words.csv"
    run = subprocess.run(
        [str(venv / "bin" / "embedding-lens"), "map", str(words), "-o", "m.parquet", "--reducer", "pca", "-q"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "m.parquet").stat().st_size > 100_000
