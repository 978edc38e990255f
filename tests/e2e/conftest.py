"""Browser tests: start the app with ``streamlit run`` on a free port and drive it with
Playwright (sync API) and Debian's Chromium (``/usr/bin/chromium``; Playwright's own browser
download is not used).

Fixtures: ``app_url`` (session: the running server's base URL), ``browser`` (session),
``page`` (function: a new browser context, hence a new Streamlit session, per test, opened on
``/``), ``shared_page`` (module: one session for several tests, to save the first map's cost).
The helpers that drive the app are in ``e2e_helpers.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HEALTH_TIMEOUT_S = 120


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is an ``e2e`` test."""
    for item in items:
        if item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """Start ``streamlit run streamlit_app.py`` headless on a free port; yield its base URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "streamlit_app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    log = tempfile.NamedTemporaryFile(prefix="embedding-lens-e2e-", suffix=".log", delete=False)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while not _healthy(url):
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with code {proc.returncode}; log:\n{Path(log.name).read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit not healthy after {HEALTH_TIMEOUT_S} s; log:\n{Path(log.name).read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        _stop(proc)
        log.close()
        if "Traceback" in Path(log.name).read_text(errors="replace"):
            warnings.warn(f"the streamlit server logged a traceback: see {log.name}", stacklevel=1)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright. Missing browser = failure (CI installs it)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: the e2e tests need Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser, app_url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    # Playwright's 30 s default is short on a loaded 2-core machine: software WebGL drawing
    # 10k points can keep the page's main thread busy for a while, delaying clicks.
    pg.set_default_timeout(120_000)
    js_errors: list[str] = []
    pg.on("pageerror", lambda exc: js_errors.append(str(exc)))
    console: list[str] = []  # the page's console errors and warnings: a failed wait reports the last ones
    pg.on(
        "console",
        lambda m: (
            m.type in ("error", "warning")
            and "GL Driver Message" not in m.text  # software WebGL's performance notes
            and console.append(f"{m.type}: {m.text}"[:300])
        ),
    )
    pg.lens_console = console
    pg.goto(app_url + "/")
    return context, pg, js_errors


def _close(context, pg, js_errors: list[str]) -> None:
    exceptions = pg.locator("[data-testid='stException']").all_inner_texts()
    context.close()
    assert not exceptions, f"the app showed an exception: {exceptions}"
    assert not js_errors, f"uncaught JS errors in the page: {js_errors}"


@pytest.fixture
def page(browser, app_url):
    """A fresh browser context (= a new Streamlit session) opened on the Explore page ``/``.

    At teardown, fails the test if the app showed a Python exception (``st.exception`` box:
    an uncaught error in a page script) or the browser reported an uncaught JS error.
    """
    context, pg, js_errors = _open(browser, app_url)
    yield pg
    _close(context, pg, js_errors)


@pytest.fixture(scope="module")
def shared_page(browser, app_url):
    """Like ``page``, but one Streamlit session for all the tests of a module that use it
    (each must leave the session usable: a later test sees what earlier ones uploaded)."""
    context, pg, js_errors = _open(browser, app_url)
    yield pg
    _close(context, pg, js_errors)
