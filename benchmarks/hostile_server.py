"""One hostile browser session against a running app server: does the server keep answering,
and is the memory given back when the sessions close?

Starts ``streamlit run streamlit_app.py`` on a free loopback port (or uses ``--url``), polls
``/_stcore/health`` every 0.1 s from a thread (each answer's latency recorded; no answer within
5 s counts as 5 s), and drives Debian's Chromium (Playwright) through the hostile inputs of the
many-users safety issue, one after another, in one session (after a ``baseline`` phase that
only navigates between the pages, for the latency the loaded machine shows anyway):

1. ``svg``: "Load settings" with an SVG of 14,000 unclosed ``<metadata id="embedding-lens-settings">``
   tags (546 KB);
2. ``regex``: a CSV whose labels are ``aaa…a!`` is uploaded, then ``^(\\w+\\s?)*$`` is typed in the
   Explore page's search box with Regex on;
3. ``term``: an unknown term as long as the Arithmetic page's expression box allows (its
   ``max_chars``, 500);
4. ``line``: a text file whose first line is 50 MB;
5. ``columns``: a CSV of 100,000 columns (1.9 MB);
6. ``npz``: three sessions each upload an ``.npz`` of ~1 MB that inflates to 1 GiB, then close.

The inputs and the browser steps that submit them (waiting for the app's answer) are in
``tests/e2e/hostile_inputs.py``, shared with the browser test ``tests/e2e/test_hostile_server.py``.

For each phase: how long it ran and the health endpoint's worst and p95 latency meanwhile. For
the memory (the same steps as the browser test ``tests/e2e/test_memory.py``): the server's RSS
(``/proc/<pid>/status`` VmRSS) before the ``npz`` phase, once the server's start-up work (the
warm-up thread: ~330 MiB, minutes on a loaded machine) is over (CPU quiet, ``wait_quiet``), at
its peak (sampled every 0.1 s), and once it is back within 20% of the start after the sessions
closed (polled for at most ``--settle`` seconds, default 300: Streamlit keeps a closed session
``server.disconnectedSessionTTL`` = 120 s for a reconnect, the app keeps its data as long, then
frees it within a 15 s sweep).

Run: ``.venv/bin/python benchmarks/hostile_server.py [--phases svg regex ...] [--settle 300]``.
Exit status 1 if the health endpoint ever took more than 1 s, or the RSS after closing is more
than 20% over the start.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from hostile_inputs import (  # noqa: E402 - the inputs and the browser steps, shared with the browser test
    CHROMIUM,
    CHROMIUM_ARGS,
    MESSAGE,
    Health,
    free_port,
    make_files,
    nav,
    rss_mb,
    start_server,
    stop_server,
    submit,
    upload_in_new_session,
    wait_healthy,
    wait_idle,
    wait_quiet,
    wait_rss_below,
)

PHASES = ("baseline", "svg", "regex", "term", "line", "columns", "npz")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--phases", nargs="*", default=list(PHASES), choices=PHASES)
    ap.add_argument("--settle", type=float, default=300, help="at most this many seconds after the sessions close")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="hostile-"))
    files = make_files(tmp, npz="npz" in a.phases)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port, tmp / "server.log")
    health = Health(url, server.pid)
    ok = True
    try:
        try:
            wait_healthy(url, server)
        except RuntimeError:
            print("server did not start; log:", (tmp / "server.log").read_text()[-2000:])
            return 1
        print(f"load average before: {os.getloadavg()}")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = ctx.new_page()
            page.set_default_timeout(600_000)
            page.goto(url + "/?reducer=pca")
            wait_idle(page)
            time.sleep(5)
            base_rss = rss_mb(server.pid)
            health.start()
            print(f"server RSS at start (one session open): {base_rss:.0f} MiB")
            print(f"{'phase':8} {'seconds':>8} {'health max s':>13} {'health p95 s':>13}  notes")
            for ph in a.phases:
                t0 = time.monotonic()
                note = ""
                if ph == "baseline":  # the same navigation, no hostile input: the machine's own noise
                    nav(page, "Data")
                    nav(page, "Arithmetic")
                    nav(page, "Explore")
                elif ph != "npz":
                    kind, text = submit(page, ph, files)
                    note = f"{kind}: {text[:110]}".replace("\n", " ")
                elif ph == "npz":
                    quiet = wait_quiet(server.pid, below=0.05, for_s=10)  # warm-up over (health polls add CPU)
                    base_rss, t0 = rss_mb(server.pid), time.monotonic()
                    msgs = [upload_in_new_session(browser, url, files[f"npz{i}"])[1][:60] for i in range(3)]
                    peak = max(rss for t, rss in health.rss if t >= t0)
                    note = f"RSS {base_rss:.0f} MiB before (quiet after {quiet:.0f} s), peak {peak:.0f} MiB; "
                    note += " / ".join(m.replace("\n", " ") for m in msgs)
                t1 = time.monotonic()
                lat = sorted(health.between(t0, t1)) or [float("nan")]
                worst, p95 = lat[-1], lat[int(0.95 * (len(lat) - 1))]
                ok &= worst <= 1.0
                if ph in ("baseline", "npz"):
                    alerts = page.locator(MESSAGE).all_inner_texts()
                    note += (" | " if note else "") + (alerts[-1][:110].replace("\n", " ") if alerts else "no message")
                print(f"{ph:8} {t1 - t0:8.1f} {worst:13.2f} {p95:13.2f}  {note}", flush=True)
            ctx.close()
            if "npz" in a.phases:
                print(f"sessions closed; polling the RSS for at most {a.settle:.0f} s")
                t_closed = time.monotonic()
                after = wait_rss_below(server.pid, 1.2 * base_rss, a.settle)
                took = time.monotonic() - t_closed
                ok &= after <= 1.2 * base_rss
                print(
                    f"server RSS after the sessions closed: {after:.0f} MiB ({after / base_rss - 1:+.0%} vs start), {took:.0f} s after"
                )
            browser.close()
        print(f"load average after: {os.getloadavg()}")
    finally:
        health.stop.set()
        stop_server(server)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
