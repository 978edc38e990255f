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
3. ``term``: an unknown term of 5,000 characters typed into the Arithmetic page (the box keeps
   at most its ``max_chars``);
4. ``line``: a text file whose first line is 50 MB;
5. ``columns``: a CSV of 100,000 columns (1.9 MB);
6. ``npz``: three sessions each upload an ``.npz`` of ~1 MB that inflates to 1 GiB, then close.

For each phase: how long it ran and the health endpoint's worst and p95 latency meanwhile. For
the memory: the server's RSS (``/proc/<pid>/status`` VmRSS) before the ``npz`` phase, at its
peak (sampled every 0.1 s), and after the sessions closed and Streamlit let them go (it keeps a closed session 2 minutes for a
reconnect: ``--settle`` seconds, default 150, then one new session opens, which expires them).

Run: ``.venv/bin/python benchmarks/hostile_server.py [--phases svg regex ...] [--settle 150]``.
Exit status 1 if the health endpoint ever took more than 1 s, or the RSS after closing is more
than 20% over the start.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
MESSAGE = "[data-testid='stMain'] [data-testid='stAlertContentSuccess'], [data-testid='stMain'] [data-testid='stAlertContentError']"
PHASES = ("baseline", "svg", "regex", "term", "line", "columns", "npz")


class Health(threading.Thread):
    """Polls the health endpoint; ``samples`` holds (time, latency s)."""

    def __init__(self, url: str, pid: int) -> None:
        super().__init__(daemon=True)
        self.url, self.samples, self.stop = url + "/_stcore/health", [], threading.Event()
        self.pid, self.rss = pid, []  # (time, server RSS MiB), sampled with each poll

    def run(self) -> None:
        while not self.stop.is_set():
            t = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    r.read()
            except (urllib.error.URLError, OSError):
                pass
            self.samples.append((t, time.monotonic() - t))
            self.rss.append((t, rss_mb(self.pid)))
            time.sleep(0.1)

    def between(self, t0: float, t1: float) -> list[float]:
        return [lat for t, lat in self.samples if t0 <= t <= t1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(port: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port)]
    cmd += ["--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.Popen(cmd, cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_idle(page, timeout_ms: float = 600_000) -> None:
    page.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=stApp]');"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'; }",
        timeout=timeout_ms,
    )


def nav(page, title: str) -> None:
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).first.click()
    page.locator("[data-testid='stMain'] h1").filter(has_text=title).first.wait_for(timeout=120_000)
    wait_idle(page)


def upload(page, path: Path, label: str = "Upload embeddings") -> None:
    up = page.locator("[data-testid='stMain'] [data-testid='stFileUploader']").filter(has_text=label)
    up.locator("input[type=file]").set_input_files(str(path))
    page.wait_for_timeout(500)
    wait_idle(page)


def make_files(tmp: Path) -> dict[str, Path]:
    files = {}
    files["svg"] = tmp / "hostile.svg"
    files["svg"].write_bytes(b"<svg>" + b'<metadata id="embedding-lens-settings">' * 14_000 + b"</svg>")
    v = np.random.default_rng(0).normal(size=(40, 4)).round(4)
    rows = ["label,a,b,c,d"] + [
        ("a" * 28 + "!" if i % 2 else f"w{i}") + "," + ",".join(map(str, r)) for i, r in enumerate(v)
    ]
    files["regex"] = tmp / "aaa.csv"
    files["regex"].write_text("\n".join(rows) + "\n")
    files["line"] = tmp / "long.txt"
    files["line"].write_bytes(b"a" * (50 << 20) + b"\nsecond\n")
    files["columns"] = tmp / "wide.csv"
    head = ",".join(f"c{i}" for i in range(100_000))
    files["columns"].write_text(head + "\n" + ",".join(["0.1"] * 100_000) + "\n")
    for i in range(3):
        buf = io.BytesIO()
        np.savez_compressed(buf, vectors=np.full((1 << 18, 1024), float(i), dtype=np.float32))
        files[f"npz{i}"] = tmp / f"inflate{i}.npz"
        files[f"npz{i}"].write_bytes(buf.getvalue())
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--phases", nargs="*", default=list(PHASES), choices=PHASES)
    ap.add_argument("--settle", type=float, default=150, help="seconds to wait after the sessions close")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="hostile-"))
    files = make_files(tmp)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port, tmp / "server.log")
    health = Health(url, server.pid)
    ok = True
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=2).read()
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline or server.poll() is not None:
                    print("server did not start; log:", (tmp / "server.log").read_text()[-2000:])
                    return 1
                time.sleep(0.5)
        print(f"load average before: {os.getloadavg()}")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
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
                elif ph == "svg":
                    nav(page, "Data")
                    upload(page, files["svg"], "Load settings")
                elif ph == "regex":
                    nav(page, "Data")
                    upload(page, files["regex"])
                    nav(page, "Explore")
                    page.get_by_role("textbox", name="Search labels and text").fill(r"^(\w+\s?)*$")
                    page.keyboard.press("Enter")
                    wait_idle(page)
                    page.locator("[data-testid='stMain'] [data-testid='stCheckbox']").filter(has_text="Regex").click()
                    wait_idle(page)
                elif ph == "term":
                    nav(page, "Arithmetic")
                    box = page.get_by_role("textbox", name="Expression").first
                    box.fill("king - " + "x" * 5000)
                    note = f"box kept {len(box.input_value())} characters"
                    page.keyboard.press("Enter")
                    wait_idle(page)
                elif ph == "line":
                    nav(page, "Data")
                    upload(page, files["line"])
                elif ph == "columns":
                    nav(page, "Data")
                    upload(page, files["columns"])
                elif ph == "npz":
                    base_rss = rss_mb(server.pid)  # the memory check's start: after the phases before
                    peak, msgs = base_rss, []
                    for i in range(3):
                        c = browser.new_context()
                        pg = c.new_page()
                        pg.set_default_timeout(600_000)
                        pg.goto(url + "/data?reducer=pca")
                        wait_idle(pg)
                        upload(pg, files[f"npz{i}"])
                        pg.locator(MESSAGE).first.wait_for(timeout=600_000)
                        msgs.append(pg.locator(MESSAGE).first.inner_text()[:60].replace("\n", " "))
                        peak = max(peak, max(rss for t, rss in health.rss if t >= t0))
                        c.close()
                    note = f"RSS {base_rss:.0f} MiB before, peak {peak:.0f} MiB; " + " / ".join(msgs)
                t1 = time.monotonic()
                lat = sorted(health.between(t0, t1)) or [float("nan")]
                worst, p95 = lat[-1], lat[int(0.95 * (len(lat) - 1))]
                ok &= worst <= 1.0
                alerts = page.locator(MESSAGE).all_inner_texts()
                note += (" | " if note else "") + (alerts[-1][:110].replace("\n", " ") if alerts else "no error shown")
                print(f"{ph:8} {t1 - t0:8.1f} {worst:13.2f} {p95:13.2f}  {note}", flush=True)
            ctx.close()
            if "npz" in a.phases:
                print(f"sessions closed; waiting {a.settle:.0f} s (Streamlit keeps closed sessions 2 min)")
                time.sleep(a.settle)
                c = browser.new_context()  # a new session makes Streamlit expire the stored ones
                pg = c.new_page()
                pg.goto(url + "/?reducer=pca")
                wait_idle(pg)
                time.sleep(10)
                after = rss_mb(server.pid)
                c.close()
                ok &= after <= 1.2 * base_rss
                print(f"server RSS after the sessions closed: {after:.0f} MiB ({after / base_rss - 1:+.0%} vs start)")
            browser.close()
        print(f"load average after: {os.getloadavg()}")
    finally:
        health.stop.set()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
