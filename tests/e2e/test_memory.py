"""Memory is given back (issue 11): three sessions each upload an ``.npz`` of ~1 MB that inflates
to 1 GiB, then close; the server's RSS (``/proc/<pid>/status`` VmRSS) comes back within 20% of
its starting value.

The server is this test's own (a fresh process: the other browser tests' sessions would move
its memory), started with Streamlit's documented option ``server.disconnectedSessionTTL`` at
:data:`TTL_S` seconds instead of the production default of 120 s: Streamlit keeps a closed
session that long for a reconnect, and the app keeps the session's data exactly as long
(``viz_app.ui.cache.closed_session_grace_s``), then frees it within one sweep (15 s).

The starting value is taken when the server has finished its start-up work: the warm-up thread
(started by the first visitor's first run; default map, numba compile of UMAP's kernels, refit)
runs for minutes on a loaded 2-core machine
and adds ~330 MiB meanwhile (456 -> 787 MiB, measured), so a value read earlier counts it as a
leak. Its end is read from the server itself: under 30 ms of CPU in each of 10 s in a row
(``hostile_inputs.wait_quiet``). A first small upload session does not move the start (the
modules the upload path imports on first use: 778 -> 777 MiB, measured), so none is made.

Numbers measured while writing this test are in the issue's closing note (before the fix the
RSS stayed +65-87% over the start).
"""

from __future__ import annotations

import time

import pytest
from hostile_inputs import (
    Health,
    free_port,
    inflating_npz,
    rss_mb,
    start_server,
    stop_server,
    upload_in_new_session,
    wait_healthy,
    wait_idle,
    wait_quiet,
    wait_rss_below,
)

pytestmark = pytest.mark.e2e

#: Streamlit's reconnect window for this server (``server.disconnectedSessionTTL``; default 120 s).
TTL_S = 5
#: Seconds the RSS may take to come back after the last session closed: the reconnect window,
#: one sweep (15 s), the collection, with room for a loaded machine.
FREED_WITHIN_S = TTL_S + 15 + 120
GIB = 1024.0  # MiB


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """This test's own server: (base URL, pid, log path)."""
    log = tmp_path_factory.mktemp("memory") / "server.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(port, log, env={"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(TTL_S)})
    try:
        wait_healthy(url, proc, timeout_s=300)
        yield url, proc.pid, log
    finally:
        stop_server(proc)


def test_rss_comes_back_after_three_inflating_uploads(server, browser, tmp_path):
    url, pid, log = server
    files = [inflating_npz(tmp_path / f"inflate{i}.npz", fill=float(i)) for i in range(3)]
    assert all(f.stat().st_size < 2 << 20 for f in files)

    # a first visitor (kept open to the end, idle): its first run starts the server's warm-up
    first = browser.new_context()
    page = first.new_page()
    page.goto(url + "/?reducer=pca")
    wait_idle(page)
    # quiet = under 30 ms of CPU in each of 10 s in a row: a thread starved on a loaded machine
    # still gets ~0.1 core (seen: a 3 s window below 0.1 core ended mid-warm-up, start 605 MiB)
    waited = wait_quiet(pid, below=0.03, for_s=10)
    start = rss_mb(pid)

    health = Health(url, pid, every_s=0.2)
    health.start()
    try:
        for f in files:
            kind, text = upload_in_new_session(browser, url, f)
            assert kind == "success" and "262,144 points × 1024 dims" in text, text
        closed = time.monotonic()
        after = wait_rss_below(pid, 1.2 * start, FREED_WITHIN_S)
        took = time.monotonic() - closed
    finally:
        health.stop.set()
        first.close()
    peak = max(rss for _, rss in health.rss)
    numbers = (
        f"start {start:.0f} MiB (after {waited:.0f} s of start-up work), peak {peak:.0f} MiB, "
        f"after {after:.0f} MiB ({after / start - 1:+.0%}) {took:.0f} s after the last session closed; "
        f"server log: {log}"
    )
    # the uploads were really held in memory (at least one inflated set at a time)
    assert peak - start > 0.9 * GIB, numbers
    assert after <= 1.2 * start, numbers
