"""No request can freeze the server (issue 11): the health endpoint of a running server answers
within 1 s while another session submits each hostile input.

The test starts its own server (``streamlit run streamlit_app.py`` on a free loopback port: the
shared ``app_url`` server may be busy with another module's work), polls ``/_stcore/health``
every 0.1 s from a thread once the server's start-up work (warm-up) is over, and submits each input of :data:`hostile_inputs.PHASES` (built in
``tmp_path``) from a new browser session, waiting for the app's answer. For each input: every
health answer sent meanwhile came within :data:`BOUND_S`, and the app gave its clear answer (a
message naming the problem, or the search's match count), never an exception box.

On this 2-core machine, shared with other work, a poll can be late for reasons of its own (the
``baseline`` phase, which only navigates, shows the noise); so an input whose window had a poll
over the bound is submitted once more, in a fresh session, and fails only if it is over the
bound both times. An input that holds the GIL (as all of these did before issue 11: 15 s to
83 s) fails both times.
"""

from __future__ import annotations

import os
import time

import pytest
from hostile_inputs import (
    EXCEPTION,
    EXPECTED,
    PHASES,
    Health,
    free_port,
    make_files,
    open_data_page,
    start_server,
    stop_server,
    submit,
    wait_healthy,
    wait_quiet,
)

pytestmark = pytest.mark.e2e

#: The bound on every health answer while a hostile input is handled, seconds.
BOUND_S = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server of our own: yields (url, its Health poller, not started yet, server pid)."""
    log = tmp_path_factory.mktemp("hostile-server") / "server.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(port, log)
    health = Health(url, proc.pid)
    try:
        wait_healthy(url, proc)
        yield url, health, proc.pid
    finally:
        health.stop.set()
        stop_server(proc)


def _one(browser, url: str, health: Health, phase: str, files) -> tuple[float, int, str, str]:
    """Submit ``phase`` from a new session; returns (worst health latency s, polls, kind, text)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = ctx.new_page()
        page.set_default_timeout(300_000)
        open_data_page(page, url)
        t0 = time.monotonic()
        kind, text = submit(page, phase, files, timeout_s=300)
        t1 = time.monotonic()
        time.sleep(0.3)  # a poll sent just before the answer has come back
        boxes = page.locator(EXCEPTION).all_inner_texts()
        assert not boxes, f"{phase}: the app showed an exception box: {boxes!r}"
    finally:
        ctx.close()
    lat = health.between(t0, t1)
    return max(lat, default=0.0), len(lat), kind, text


def test_health_answers_within_1s_during_each_hostile_input(server, browser, tmp_path):
    # the session's browser (tests/e2e/conftest.py): a second sync_playwright() in this process
    # fails once another browser test has started Playwright's event loop
    url, health, pid = server
    files = make_files(tmp_path)
    report, over = [], []
    # a first session starts the server's warm-up (numba compile, default map); the bound
    # is about the hostile inputs, so they are submitted once it is over
    ctx = browser.new_context()
    open_data_page(ctx.new_page(), url)
    ctx.close()
    report.append(f"server start-up work over after {wait_quiet(pid):.0f} s")
    health.start()
    for phase in PHASES:
        worst, polls, kind, text = _one(browser, url, health, phase, files)
        if worst > BOUND_S:  # once more: noise of the shared machine, or a real freeze?
            first = worst
            worst, polls, kind, text = _one(browser, url, health, phase, files)
            report.append(f"{phase}: over the bound once ({first:.2f} s), retried")
        want_kind, want_words = EXPECTED[phase]
        assert kind == want_kind and want_words in text, f"{phase}: the app answered {kind}: {text!r}"
        assert "Traceback" not in text, text
        assert polls >= 1, f"{phase}: no health poll while it ran"
        report.append(f"{phase}: worst health answer {worst:.2f} s over {polls} polls; {text[:90]!r}")
        if worst > BOUND_S:
            over.append(phase)
    print(f"load average {os.getloadavg()}\n" + "\n".join(report))
    assert not over, f"the health endpoint took more than {BOUND_S} s twice during {over}:\n" + "\n".join(report)
