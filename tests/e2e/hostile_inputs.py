"""The hostile inputs of the many-users safety issue, submitted to a running Embedding Lens server
from a browser session, and a thread that times the server's health endpoint meanwhile.

Shared by the browser test ``tests/e2e/test_hostile_server.py`` (the 1 s bound) and the
measurements ``benchmarks/hostile_server.py`` and ``benchmarks/load.py --hostile`` (which put
``tests/e2e`` on ``sys.path``). Playwright's sync API; no pytest here, so a benchmark can use it.

Each input is built on disk by :func:`make_files`; :func:`submit` drives one of them, in a
session already open on the Data page, and waits for the app's answer (its success/error
message or the search's match count), which it returns. The inputs (:data:`PHASES`):

- ``svg``: "Load settings" with an SVG of 14,000 unclosed
  ``<metadata id="embedding-lens-settings">`` tags (546 KB);
- ``regex``: a CSV whose odd rows are labelled ``aaa…a!`` is uploaded, then ``^(\\w+\\s?)*$`` is
  searched on the Explore page with Regex on (a backtracking engine takes exponential time);
- ``term``: an unknown term as long as the Arithmetic page's expression box allows (500
  characters; "did you mean" edits grow with its length);
- ``line``: a text file whose first line is 50 MB;
- ``columns``: a CSV of 100,000 columns (1.9 MB).
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
PHASES = ("svg", "regex", "term", "line", "columns")
MESSAGE = (
    "[data-testid='stMain'] [data-testid='stAlertContentSuccess'], "
    "[data-testid='stMain'] [data-testid='stAlertContentError']"
)
ERROR = "[data-testid='stMain'] [data-testid='stAlertContentError']"
EXCEPTION = "[data-testid='stException']"
#: Rows of the regex phase's CSV: even rows are words ("w0", "w2", ...), odd rows ``"a" * 28 + "!"``.
REGEX_ROWS = 40
REGEX_PATTERN = r"^(\w+\s?)*$"
#: What each phase's answer must contain (the app's message, or the search's match count).
EXPECTED = {
    "svg": ("error", "Could not load these settings"),
    "regex": ("caption", f"{REGEX_ROWS // 2} matches highlighted on the map"),
    "term": ("error", "unknown"),
    "line": ("error", "long.txt"),
    "columns": ("error", "100,000 columns"),
}


# --- the inputs ---------------------------------------------------------------------------------
def make_files(folder: Path, *, npz: bool = False) -> dict[str, Path]:
    """Write the hostile files into ``folder``; returns phase name -> path. With ``npz``, also
    ``npz0``..``npz2``: ``.npz`` files of ~1 MB that inflate to 1 GiB each."""
    files = {}
    files["svg"] = folder / "hostile.svg"
    files["svg"].write_bytes(b"<svg>" + b'<metadata id="embedding-lens-settings">' * 14_000 + b"</svg>")
    v = np.random.default_rng(0).normal(size=(REGEX_ROWS, 4)).round(4)
    rows = ["label,a,b,c,d"] + [
        ("a" * 28 + "!" if i % 2 else f"w{i}") + "," + ",".join(map(str, r)) for i, r in enumerate(v)
    ]
    files["regex"] = folder / "aaa.csv"
    files["regex"].write_text("\n".join(rows) + "\n")
    files["line"] = folder / "long.txt"
    files["line"].write_bytes(b"a" * (50 << 20) + b"\nsecond\n")
    files["columns"] = folder / "wide.csv"
    head = ",".join(f"c{i}" for i in range(100_000))
    files["columns"].write_text(head + "\n" + ",".join(["0.1"] * 100_000) + "\n")
    if npz:
        for i in range(3):
            files[f"npz{i}"] = inflating_npz(folder / f"inflate{i}.npz", fill=float(i))
    return files


def inflating_npz(path: Path, fill: float = 0.0) -> Path:
    """Write an ``.npz`` of ~1 MB whose ``vectors`` member inflates to 1 GiB: 262,144 x 1,024
    float32, every value ``fill`` (zlib compresses a constant ~1,000-fold). Returns ``path``."""
    buf = io.BytesIO()
    np.savez_compressed(buf, vectors=np.full((1 << 18, 1024), fill, dtype=np.float32))
    path.write_bytes(buf.getvalue())
    return path


# --- the server and its health ------------------------------------------------------------------
def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log: Path, script: str = "streamlit_app.py", env: dict | None = None) -> subprocess.Popen:
    """``streamlit run <script>`` headless on ``127.0.0.1:port`` from the repository root,
    offline (no model downloads), output to ``log``."""
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port), "--server.headless", "true",
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]  # fmt: skip
    pypath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    full = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    full.update({"PYTHONPATH": pypath, **(env or {})})
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=full)


def healthy(url: str, timeout_s: float = 2.0) -> bool:
    """True if ``<url>/_stcore/health`` answers 200 within ``timeout_s``."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout_s) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 180.0) -> None:
    """Wait until the server answers its health check; RuntimeError if it exits or times out."""
    deadline = time.monotonic() + timeout_s
    while not healthy(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the server at {url} is not healthy (exit code {proc.poll()})")
        time.sleep(0.5)


def stop_server(proc: subprocess.Popen) -> None:
    """Terminate the server (kill it after 20 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, s) used so far by process ``pid`` and its children still running."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
            rest = stat[stat.rfind(")") + 2 :].split()
            total += int(rest[11]) + int(rest[12])
            for task in Path(f"/proc/{p}/task").iterdir():  # children of every thread
                todo.extend(int(k) for k in (task / "children").read_text().split())
        except (OSError, ValueError, IndexError):
            continue
    return total / tick


def wait_quiet(pid: int, *, below: float = 0.1, for_s: int = 3, cap_s: float = 900.0) -> float:
    """Wait until the server (``pid`` and its children) uses less than ``below`` of a core for
    ``for_s`` seconds in a row: its start-up work (the warm-up) is over. Returns the seconds
    waited (at most ``cap_s``)."""
    t0 = time.monotonic()
    quiet, last = 0, cpu_seconds(pid)
    while quiet < for_s and time.monotonic() - t0 < cap_s:
        time.sleep(1.0)
        now = cpu_seconds(pid)
        quiet = quiet + 1 if now - last < below else 0
        last = now
    return time.monotonic() - t0


class Health(threading.Thread):
    """Polls ``<url>/_stcore/health`` every ``every_s`` seconds from a daemon thread.

    ``samples`` holds (monotonic time of the request, latency s); no answer within
    ``timeout_s`` counts as ``timeout_s``. With ``pid``, ``rss`` holds (time, VmRSS MiB) of that
    process, sampled with each poll."""

    def __init__(self, url: str, pid: int | None = None, every_s: float = 0.1, timeout_s: float = 5.0) -> None:
        super().__init__(name="health-poller", daemon=True)
        self.url, self.pid, self.every_s, self.timeout_s = url + "/_stcore/health", pid, every_s, timeout_s
        self.samples: list[tuple[float, float]] = []
        self.rss: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            t = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=self.timeout_s) as r:
                    r.read()
                lat = time.monotonic() - t
            except (urllib.error.URLError, OSError):
                lat = max(time.monotonic() - t, self.timeout_s)
            self.samples.append((t, lat))
            if self.pid is not None:
                self.rss.append((t, rss_mb(self.pid)))
            self.stop.wait(self.every_s)

    def between(self, t0: float, t1: float) -> list[float]:
        """Latencies (s) of the polls sent between monotonic times ``t0`` and ``t1``."""
        return [lat for t, lat in list(self.samples) if t0 <= t <= t1]


def rss_mb(pid: int) -> float:
    """VmRSS of process ``pid`` in MiB (NaN if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def wait_rss_below(pid: int, limit_mib: float, timeout_s: float, every_s: float = 1.0) -> float:
    """Poll the RSS of ``pid`` until it is at most ``limit_mib`` MiB or ``timeout_s`` passed;
    returns the last RSS read (MiB)."""
    deadline = time.monotonic() + timeout_s
    while (rss := rss_mb(pid)) > limit_mib and time.monotonic() < deadline:
        time.sleep(every_s)
    return rss


# --- driving the app ----------------------------------------------------------------------------
def wait_idle(page, timeout_s: float = 600.0) -> None:
    """Wait until the page's script run is over (``data-test-script-state="notRunning"``)."""
    page.wait_for_timeout(150)  # let an event reach the server first
    page.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=stApp]');"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'; }",
        timeout=timeout_s * 1000,
    )


def nav(page, title: str) -> None:
    """Follow the sidebar link ``title`` and wait for its page's run to end."""
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).first.click()
    page.locator("[data-testid='stMain'] h1").filter(has_text=title).first.wait_for(timeout=120_000)
    wait_idle(page)


def open_data_page(page, url: str) -> None:
    """Open a new session's Data page (PCA chosen by the URL, so no map waits for UMAP)."""
    page.goto(url + "/data?reducer=pca")
    page.locator("[data-testid='stMain'] h1").filter(has_text="Data").first.wait_for(timeout=300_000)
    wait_idle(page)


def upload(page, path: Path, label: str = "Upload embeddings") -> None:
    """Give ``path`` to the main area's file input whose label contains ``label``."""
    wait_idle(page)
    box = page.locator("[data-testid='stMain'] [data-testid='stFileUploader']").filter(has_text=label)
    box.locator("input[type=file]").set_input_files(str(path))


def message(page, containing: str, previous: tuple[str, ...] = (), timeout_s: float = 600.0) -> tuple[str, str]:
    """Wait for a success/error message containing ``containing`` that is not in ``previous``;
    returns ``("success" | "error", text)``. RuntimeError if an exception box shows first."""
    box = page.locator(MESSAGE).filter(has_text=containing)
    deadline = time.monotonic() + timeout_s
    while True:
        for i in range(box.count()):
            try:
                text = box.nth(i).inner_text(timeout=1_000)
                kind = box.nth(i).get_attribute("data-testid", timeout=1_000)
            except Exception:  # replaced by a rerun meanwhile
                continue
            if text not in previous:
                return ("error" if kind == "stAlertContentError" else "success"), text
        _no_exception(page)
        if time.monotonic() > deadline:
            raise TimeoutError(f"no message containing {containing!r} after {timeout_s} s")
        page.wait_for_timeout(100)


def upload_in_new_session(browser, url: str, path: Path, timeout_s: float = 600.0) -> tuple[str, str]:
    """Open a new session (a new browser context) on the Data page, upload ``path`` there, wait
    for the app's message about it, close the session; returns the message as :func:`message`."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(timeout_s * 1000)
        open_data_page(page, url)
        previous = tuple(page.locator(MESSAGE).all_inner_texts())
        upload(page, path)
        return message(page, path.name, previous, timeout_s)
    finally:
        context.close()


def _no_exception(page) -> None:
    boxes = page.locator(EXCEPTION)
    if boxes.count():
        raise RuntimeError(f"the app showed an exception: {boxes.all_inner_texts()!r}")


def _on_data_page(page) -> tuple[str, ...]:
    """Go to the Data page unless there; returns the messages it shows (from earlier uploads)."""
    if not page.locator("[data-testid='stMain'] h1").filter(has_text="Data").count():
        nav(page, "Data")
    wait_idle(page)
    return tuple(page.locator(MESSAGE).all_inner_texts())


def submit(page, phase: str, files: dict[str, Path], timeout_s: float = 600.0) -> tuple[str, str]:
    """Submit the hostile input ``phase`` (one of :data:`PHASES`) from ``page``, an open session
    of the app (e.g. :func:`open_data_page`); wait for the app's answer and return it as
    ``(kind, text)``: kind ``"error"``/``"success"`` for a message, ``"caption"`` for the
    search's match count. RuntimeError if the app shows an exception box."""
    previous = _on_data_page(page) if phase != "term" else ()
    if phase == "svg":
        upload(page, files["svg"], "Load settings")
        return message(page, "settings", previous, timeout_s)
    if phase in ("line", "columns"):
        upload(page, files[phase])
        return message(page, files[phase].name, previous, timeout_s)
    if phase == "regex":
        upload(page, files["regex"])
        kind, text = message(page, files["regex"].name, previous, timeout_s)
        if kind != "success":
            return kind, text
        nav(page, "Explore")
        box = page.get_by_role("textbox", name="Search labels and text")
        if box.input_value():  # a session that searched before: clear it, so the search runs again
            box.fill("")
            page.keyboard.press("Enter")
            wait_idle(page, timeout_s)
        toggle = page.locator("[data-testid='stMain'] [data-testid='stCheckbox']").filter(has_text="Regex")
        if not toggle.locator("input").is_checked():
            toggle.click()
            wait_idle(page, timeout_s)
        box.fill(REGEX_PATTERN)
        page.keyboard.press("Enter")
        caption = page.locator("[data-testid='stMain'] [data-testid='stCaptionContainer']").filter(has_text="match")
        deadline = time.monotonic() + timeout_s
        while not (caption.count() and "highlighted" in caption.first.inner_text()):
            _no_exception(page)
            if page.locator(ERROR).count() or time.monotonic() > deadline:
                return "error", " | ".join(page.locator(ERROR).all_inner_texts()) or "no match count shown"
            page.wait_for_timeout(100)
        wait_idle(page, timeout_s)
        return "caption", caption.first.inner_text()
    if phase == "term":
        nav(page, "Arithmetic")
        box = page.get_by_role("textbox", name="Expression").first
        limit = int(box.get_attribute("maxlength") or 500)
        if box.input_value():  # a session that tried before: clear it, so the expression runs again
            box.fill("")
            page.keyboard.press("Enter")
            wait_idle(page, timeout_s)
        box.fill("x" * limit)  # one unknown term, the first: "did you mean" runs over all of it
        page.keyboard.press("Enter")
        err = page.locator(ERROR)
        deadline = time.monotonic() + timeout_s
        while not err.count():
            _no_exception(page)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no error for the {limit}-character expression after {timeout_s} s")
            page.wait_for_timeout(100)
        wait_idle(page, timeout_s)
        return "error", err.first.inner_text()
    raise ValueError(f"unknown phase {phase!r}; expected one of {PHASES}")
