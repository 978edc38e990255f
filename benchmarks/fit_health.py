"""Does a UMAP fit in one session stall the server? The health endpoint's latency during a fit.

Starts ``streamlit run streamlit_app.py`` of this checkout (or ``--repo``, e.g. one before a
change) on a free loopback port with an empty projection disk cache, opens one browser session
(Debian's Chromium, Playwright), waits for the server's start-up work (warm-up) to end, uploads
``--points`` seeded random vectors (``.npy``, 50 dimensions, 10 Gaussian blobs) in a session opened with PCA, shows
their PCA map, then picks UMAP in the sidebar and waits for the UMAP map. Meanwhile ``/_stcore/health`` is
polled every 0.1 s; the script prints the fit's wall time and the health endpoint's worst, p95
and median latency during it, with the load average. With ``--fresh`` it does not wait for the
start-up work: the fit is asked for while the server's warm-up (default map, kernel compiles) still
runs, as a first visitor's would be.

Run: ``.venv/bin/python benchmarks/fit_health.py [--points 20000] [--repo PATH] [--fresh]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from hostile_inputs import (  # noqa: E402 - server, health poller and browser steps
    CHROMIUM,
    CHROMIUM_ARGS,
    Health,
    free_port,
    message,
    nav,
    start_server,
    stop_server,
    upload,
    wait_healthy,
    wait_idle,
    wait_quiet,
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=20_000)
    ap.add_argument("--repo", type=Path, default=ROOT, help="checkout whose app is served (default: this one)")
    ap.add_argument("--fresh", action="store_true", help="do not wait for the server's start-up work to end")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="fit-health-"))
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 4, size=(10, 50))
    x = (centres[np.arange(a.points) % 10] + rng.normal(size=(a.points, 50))).astype(np.float32)
    data = tmp / f"blobs{a.points}.npy"
    np.save(data, x)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"EMBEDDING_LENS_CACHE": str(tmp / "projections"), "PYTHONPATH": str(a.repo.resolve())}
    server = start_server(port, tmp / "server.log", script=str(a.repo.resolve() / "streamlit_app.py"), env=env)
    health = Health(url)
    try:
        wait_healthy(url, server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(900_000)
            page.goto(url + "/?reducer=pca")  # this session's maps are PCA until UMAP is picked
            wait_idle(page, 900)
            if a.fresh:
                print(f"server: {a.repo}; not waiting for its start-up work", flush=True)
            else:
                print(f"server: {a.repo}; start-up work over after {wait_quiet(server.pid):.0f} s", flush=True)
            nav(page, "Data")
            upload(page, data)
            kind, text = message(page, data.name)
            assert kind == "success", text
            print(f"uploaded: {text[:80]}", flush=True)
            nav(page, "Explore")
            health.start()
            time.sleep(3)
            base = sorted(health.between(0, time.monotonic()))
            load0 = os.getloadavg()
            t0 = time.monotonic()
            lens = page.locator("[data-testid=lens-map]").first
            try:
                lens.wait_for(state="attached", timeout=300_000)
            except Exception:
                page.screenshot(path=str(tmp / "no-map.png"))
                print(f"no map on the Explore page; see {tmp / 'no-map.png'}", flush=True)
                raise
            print("PCA map shown; picking UMAP", flush=True)
            before = lens.get_attribute("data-map")
            radio = page.locator("[data-testid='stSidebar'] [data-testid='stRadio']").filter(has_text="Reducer")
            radio.locator("label").filter(has_text="UMAP").first.click()
            deadline = time.monotonic() + 1800
            while time.monotonic() < deadline:  # the UMAP map drawn: new data id, ready, run over
                try:
                    m = page.locator("[data-testid=lens-map]").first
                    done = m.get_attribute("data-map", timeout=5_000) != before
                    done = done and m.get_attribute("data-ready", timeout=5_000) == "1"
                except Exception:  # replaced by a rerun meanwhile
                    done = False
                if done and "UMAP 2D" in page.locator("[data-testid='stMain']").inner_text():
                    break
                page.wait_for_timeout(250)
            wait_idle(page, 1800)
            t1 = time.monotonic()
            load1 = os.getloadavg()
            errors = page.locator("[data-testid='stMain'] [data-testid='stAlertContentError']").all_inner_texts()
            browser.close()
        lat = sorted(health.between(t0, t1))
        print(f"idle server, 3 s before the fit: health worst {max(base, default=0):.2f} s over {len(base)} polls")
        lat = lat or [float("nan")]
        print(
            f"UMAP of {a.points:,} points: {t1 - t0:.1f} s; health endpoint meanwhile: worst {lat[-1]:.2f} s, "
            f"p95 {lat[int(0.95 * (len(lat) - 1))]:.2f} s, median {statistics.median(lat):.3f} s "
            f"({len(lat)} polls); answers over 1 s: {sum(v > 1 for v in lat)}"
        )
        print(f"load average before {load0}, after {load1}; errors shown: {errors or 'none'}")
    finally:
        health.stop.set()
        stop_server(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
