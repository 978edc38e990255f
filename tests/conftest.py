"""Shared fixtures: real data (GloVe, digits, MiniLM) loaded once per test session."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API leaves its event loop installed in this
    process until the session ends, so a later test calling ``asyncio.run`` (the live map's
    Starlette routes) would fail, and a check that no browser module is loaded would see
    playwright. Quick tests first also report core failures sooner."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


# --- hang guard ---------------------------------------------------------------------------------
# CI stops a run after 90 minutes and then shows only the tail of its output, so a test stuck
# where pytest-timeout's signal cannot reach it (the main thread blocked in C), or a series of
# slow failures, would leave no trace of where it stuck. The guard, a daemon thread, keeps a
# one-line-per-thread stack summary of any test still running after SLOW_S seconds and prints
# them in the terminal summary; a test still running after STUCK_S (past pytest-timeout's 900 s),
# or a session past BUDGET_S, prints them right away and ends the run (exit status 3).
SLOW_S = float(os.environ.get("EMBEDDING_LENS_TEST_SLOW_S", 420))
STUCK_S = float(os.environ.get("EMBEDDING_LENS_TEST_STUCK_S", 1000))
BUDGET_S = float(os.environ.get("EMBEDDING_LENS_TEST_BUDGET_S", 4200))
_T0 = time.monotonic()
_current: dict[str, object] = {}
_slow_dumps: list[str] = []


def _stacks(limit: int = 7) -> str:
    """Every other thread's innermost ``limit`` frames, one line per thread."""
    names = {t.ident: t.name for t in threading.enumerate()}
    lines = []
    for ident, frame in sys._current_frames().items():
        if ident == threading.get_ident():
            continue
        frames = traceback.extract_stack(frame)[-limit:]
        where = " < ".join(
            f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames)
        )
        lines.append(f"  [{names.get(ident, ident)}] {where}"[:600])
    return "\n".join(lines)


def _guard() -> None:
    dumped: set[str] = set()
    while True:
        time.sleep(5.0)
        test, since = _current.get("test"), _current.get("since")
        now = time.monotonic()
        if test is None or since is None:
            continue
        ran = now - float(since)  # type: ignore[arg-type]
        if ran > SLOW_S and test not in dumped:
            dumped.add(str(test))
            _slow_dumps.append(f"{test} still running after {ran:.0f} s; threads:\n{_stacks()}")
        over = ran > STUCK_S or now - _T0 > BUDGET_S
        if over:
            why = (
                f"stuck for {ran:.0f} s"
                if ran > STUCK_S
                else f"the session ran {now - _T0:.0f} s (budget {BUDGET_S:.0f})"
            )
            capture = _current.get("capture")
            if capture is not None:  # give fds 1 and 2 back to the terminal (the run ends here)
                with contextlib.suppress(Exception):  # best effort: the run is ending
                    capture.suspend_global_capture(in_=False)  # type: ignore[attr-defined]
            text = "\n".join(_slow_dumps) + f"\n\nHANG GUARD: {test}: {why}; threads:\n{_stacks()}\nending the run\n"
            os.write(2, text.encode(errors="replace"))
            os._exit(3)


threading.Thread(target=_guard, name="test-hang-guard", daemon=True).start()


def pytest_configure(config: pytest.Config) -> None:
    _current["capture"] = config.pluginmanager.getplugin("capturemanager")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    _current.update(test=item.nodeid, since=time.monotonic())
    yield
    _current.update(test=None, since=None)


def pytest_terminal_summary(terminalreporter) -> None:
    """The stack summaries of slow tests (see the hang guard), last, where a truncated log still shows them."""
    if _slow_dumps:
        terminalreporter.section(f"tests still running after {SLOW_S:.0f} s")
        for dump in _slow_dumps:
            terminalreporter.write_line(dump)


SAMPLE_DATA = ROOT / "sample_data"


@pytest.fixture(scope="session")
def digits_set():
    """scikit-learn digits, (1797, 64) float32, label = digit."""
    from viz_app.data.samples import digits

    return digits()


@pytest.fixture(scope="session")
def digits_small(digits_set):
    """The first 600 digits: enough structure for quality bounds, fast to project."""
    return digits_set.subset(np.arange(600))


@pytest.fixture(scope="session")
def glove_10k():
    """The default sample: the 10,000 most frequent GloVe 6B 50-d tokens."""
    from viz_app.data.samples import glove

    return glove(10_000)


@pytest.fixture(scope="session")
def glove_minilm():
    """The same 10,000 GloVe tokens embedded with all-MiniLM-L6-v2 (from the on-disk vector cache
    after the first run or the install warm-up; minutes on 2 cores the very first time)."""
    from viz_app.data.samples import glove_minilm

    return glove_minilm()


@pytest.fixture(scope="session")
def minilm():
    """The offline all-MiniLM-L6-v2 encoder (loaded once)."""
    from viz_app.embed.encoders import get_encoder

    return get_encoder()


@pytest.fixture(scope="session")
def movielens_rec():
    """The MovieLens recommender at its defaults, trained once per session with the disk cache off
    (so the tests measure a real fit; about 10-20 s on 2 cores)."""
    from viz_app.data.ratings import load_movielens
    from viz_app.explore.recommend import train_recommender

    return train_recommender(load_movielens(), cache=False)
