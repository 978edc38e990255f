"""Click -> updated neighbour panel, measured in a real browser (Playwright + Debian Chromium).

Starts the app on a free loopback port, uploads the N most frequent GloVe words as an .npy
(N = 10,000 and 100,000 by default), switches to PCA (so projecting is not what is timed),
then clicks points on the 2-D map and times the click until the panel shows "Focus: <label>".
Also reports the server's RSS. Run: ``python benchmarks/click_latency.py [--sizes 10000 100000]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PLOT = "(n) => { const g=document.querySelector('.js-plotly-plot'); return g && g._fullData && g._fullData.reduce((s,t)=>s+(t.x?t.x.length:0),0) >= n }"
FOCUS = """() => { const e = [...document.querySelectorAll('[data-testid="stText"]')].find(e => e.innerText.trim().startsWith('Focus: '));
  return e ? e.innerText.trim() : null; }"""
POS = """(id) => { const gd=document.querySelector('.js-plotly-plot'); const fl=gd._fullLayout; const r=gd.getBoundingClientRect();
  for (const t of gd._fullData) { const i=(t.customdata||[]).indexOf(id); if (i>=0) {
     return [r.left + fl._size.l + fl.xaxis.l2p(fl.xaxis.d2l(t.x[i])), r.top + fl._size.t + fl.yaxis.l2p(fl.yaxis.d2l(t.y[i]))]; } } return null; }"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(page, n: int, tmp: Path, clicks: int = 6) -> list[float]:
    from viz_app.data.samples import glove_full

    vectors, _ = glove_full()
    path = tmp / f"glove_{n}.npy"
    np.save(path, np.asarray(vectors[:n], dtype=np.float32))
    page.get_by_role("link", name="Data").click()  # same session: keeps PCA
    page.wait_for_selector("text=Bundled sample", timeout=120_000)
    page.locator("input[type=file]").first.set_input_files(str(path))
    page.wait_for_selector(f"text=Loaded {path.name}", timeout=600_000)
    page.get_by_role("link", name="Explore").click()
    page.wait_for_function(PLOT, arg=n, timeout=900_000)
    time.sleep(2)
    rng = np.random.default_rng(0)
    times = []
    for row in rng.choice(n, clicks, replace=False):
        xy = page.evaluate(POS, str(row))
        page.mouse.move(xy[0] - 4, xy[1] - 4)
        time.sleep(0.3)
        page.mouse.move(xy[0], xy[1])
        time.sleep(0.4)
        before = page.evaluate(FOCUS)
        t0 = time.perf_counter()
        page.mouse.click(xy[0], xy[1])
        try:  # the point under the cursor may be another one drawn on top: wait for any new focus
            page.wait_for_function(
                f"(prev) => {{ const f = ({FOCUS})(); return f !== null && f !== prev; }}", arg=before, timeout=120_000
            )
            page.wait_for_function(
                '() => !document.querySelector(\'[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]\')',
                timeout=120_000,
            )
        except Exception as exc:
            print(f"  click on row {row}: no panel ({exc.__class__.__name__})")
            continue
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    port = _port()
    env = {**os.environ, "EMBEDDING_LENS_CACHE": tempfile.mkdtemp()}
    server = subprocess.Popen(
        [
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
            "--server.maxUploadSize",
            "500",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        print(f"load average: {os.getloadavg()[0]:.2f} (2 cores)")
        with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(f"http://127.0.0.1:{port}/?reducer=pca")
            page.wait_for_function(PLOT, arg=1, timeout=900_000)
            for n in args.sizes:
                t = measure(page, n, Path(tmp))
                if t:
                    print(
                        f"{n:>7,} points: click -> panel median {statistics.median(t):.2f} s, "
                        f"min {min(t):.2f}, max {max(t):.2f} ({len(t)} clicks); server RSS {_rss_mib(server.pid):,.0f} MiB"
                    )
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
