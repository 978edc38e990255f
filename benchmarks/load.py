"""Load and fault check: N concurrent real-browser sessions clicking the live map of one server.

The script starts one Streamlit server on a free loopback port (or ``--port``) running the live
map's test app (``tests/e2e/apps/map_app.py?n=10000``: the 10,000 most frequent GloVe words on a
PCA map, the kNN graph shipped to the page, a neighbour table under the map written by the
server) and stops it at the end. For each count in ``--sessions``, N browser sessions (one
Playwright browser context each, hence one Streamlit session each) open it concurrently, wait
until the map is drawn and the app is idle, then click ``--clicks`` points, one after another:
seeded random rows (an RNG per session) at least ``SEPARATION_PX`` apart on the screen; the
mouse moves onto each and the point the page picks under it (``data-hover``) is the one clicked.
Per click:

- **click -> highlight**, measured in the browser: from the click event to the frame that draws
  the focus and its neighbours (the component's ``data-neighbors-ms``);
- **server response**: from the websocket frame the page sends after the click (the state value
  that reruns the map's fragment) to the last websocket frame it receives for that rerun, both
  read from Chrome DevTools Protocol events (``Network.webSocketFrameSent`` /
  ``webSocketFrameReceived`` and their timestamps), after the page showed the server's echo of
  the focus (``data-server-focus``) and the script run ended
  (``data-test-script-state="notRunning"`` on ``stApp``);
- **server side**: inside the server, each script run a page asked for, from the ``rerun_script``
  message's arrival to its ``script_finished`` message handed to the websocket writer (a
  ``sitecustomize`` module on the server's path patches two Streamlit methods to log them; see
  :data:`SERVER_TIMING`). Unlike the websocket timestamps, it does not include the time the
  browsers' own processes, sharing the 2 cores, take to send and to log the frames;
- **server response on the wire**: per click (and for all the runs above), from the TCP segment
  that carried the page's request to the last segment the server sent back for it, read on the
  loopback interface with kernel timestamps (:class:`Wire`, :func:`wire_per_click`; needs
  ``CAP_NET_RAW``, else the line says why it is empty). This is "event sent -> last websocket
  frame" where the bytes travel, without the time a busy renderer takes to log the frames (the
  browser-logged figure above);
- **click -> app idle**: the neighbour table is shown and the run is over; and the websocket bytes
  received.

Fault isolation: once every session has finished at least one click (or, with ``--clicks 1``,
has its map), one extra session opens ``?fault=1``, which raises in the test app's script. It
must show Streamlit's exception box (``[data-testid="stException"]``). Each of the other
sessions holds back its last click until the fault is injected, so every session clicks both
during and after the fault.

The script also samples the server's RSS (``VmRSS`` from ``/proc``, for the server process and
the sum over it and its child processes) every 0.5 s and reports the peak of each run. It
reports the CPU time used by the server and by this script's browsers, and the machine's load
average before and after each run. Before the first run, one session opens the app and the
script waits for the server's start-up work to end, so that the runs measure a steady server.

The browser is Debian's Chromium (``/usr/bin/chromium``, software WebGL) driven by Playwright's
async API: one browser process, one context per session, all in one event loop. The browsers run
on the same machine as the server; on a 2-core machine they take a large share of the CPU (see the
``CPU used`` line), so the timings describe this whole setup, not the server alone.

``--browser-nice N`` starts the browser at nice level N, for its autogroup and its processes
(:func:`browser_executable`; every Chromium process inherits it), so the server gets the CPU first whenever it wants it, as it would if the
browsers ran on the users' own machines; the page still gets every cycle the server leaves. The
timings then describe the server with its clients elsewhere; without it (the default, ``0``) they
describe the whole setup sharing 2 cores. The websocket timestamps are taken in the page's
renderer: Chromium's DevTools agent in Blink logs a frame when the renderer handles it, so a busy
page main thread (React re-rendering the fragment, software WebGL: about 0.5 s per Explore click
in one browser on a quiet machine) delays the log: a frame can be logged late, never early, so
the server response is if anything over-stated.

``--app full`` serves the app itself (``streamlit_app.py``) instead: the sessions open the Explore
page on the default sample (the same 10,000 GloVe words) with ``?reducer=pca`` and click its live
map; there is no fault session (the app has no fault switch). ``--hostile`` (implies ``--app
full``) adds one more session that submits the hostile inputs of the many-users safety issue
(``tests/e2e/hostile_inputs.py``: the SVG of unclosed carriers, the backtracking regex, the
500-character unknown term, the 50 MB line, the 100,000 columns) one after another, in a loop,
from its own browser (Playwright's sync API, in a thread) until the normal sessions are done.
Every run also polls the server's health endpoint every 0.1 s and reports its worst and p95
latency during the run.

Exit status: 0 if all went well. It is 1 if any click in a non-faulted session failed (no
highlight or no server echo within ``CLICK_TIMEOUT_S``/``IDLE_TIMEOUT_S``), a session's map never
appeared, a non-faulted session showed an exception, or the faulted session did not show its
exception.

Run: ``.venv/bin/python benchmarks/load.py [--sessions 5 10] [--clicks 6] [--port 0] [--app full] [--hostile]
[--browser-nice 19]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import hostile_inputs  # noqa: E402 - the hostile inputs and their browser steps (--hostile)

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
N_POINTS = 10_000  # the 10,000 most frequent GloVe words (the test app's ?n=)
APP = "tests/e2e/apps/map_app.py"
FULL_APP = "streamlit_app.py"  # --app full: the Explore page of the app itself
MAP_TIMEOUT_S = 900  # first map of a session; generous: N sessions render 10k points on 2 shared cores
CLICK_TIMEOUT_S = 180  # click -> new focus
IDLE_TIMEOUT_S = 180  # new focus -> script run over
#: How often a wait re-checks the page, ms. Not "raf" (Playwright's default): polling on every
#: animation frame makes each page produce frames non-stop while it waits, and ten such pages of
#: software-rendered compositing took most of the 2 cores from the server being measured. The
#: figures do not depend on it (the highlight is timed in the page, the server response from
#: websocket frame timestamps); only "click -> app idle" is read to within this step.
POLL_MS = 25
FAULT_TIMEOUT_S = 180  # /?fault=1 -> exception box
GATE_TIMEOUT_S = 900  # a session's last click waits at most this long for the fault
HEALTH_TIMEOUT_S = 180
STARTUP_IDLE_CAP_S = 900  # waiting for the server's start-up work (numba warm-up) to finish
SAMPLE_EVERY_S = 0.5
SEPARATION_PX = 80.0
EDGE_PX = 30.0  # keep clear of the plot area's edges (axes, modebar)
TICK = os.sysconf("SC_CLK_TCK")

#: Written into a temporary folder put first on the server's ``PYTHONPATH``: Python imports it
#: at start-up (``site`` imports ``sitecustomize``). It times, inside the server, each script run
#: asked for by the page (a ``rerun_script`` BackMsg handed to ``AppSession.handle_backmsg``)
#: until its ``script_finished`` ForwardMsg is handed to the session's websocket writer
#: (``Runtime._send_message``), and appends ``start<TAB>end<TAB>port`` (``time.monotonic``, the
#: clock this script reads too; the browser's TCP port of that session's websocket, from
#: Starlette's ``WebSocket.client``, 0 if unknown) per run to the file named by
#: ``EMBEDDING_LENS_SERVER_TIMING``. Measurement only: the app never loads it.
SERVER_TIMING = """
import os, threading, time

def _install(path):
    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.runtime import Runtime

    asked, lock, out = {}, threading.Lock(), open(path, "a", buffering=1)
    handle, send = AppSession.handle_backmsg, Runtime._send_message

    def handle_backmsg(self, msg):
        if msg.WhichOneof("type") == "rerun_script":
            with lock:
                asked[self.id] = time.monotonic()
        return handle(self, msg)

    def _send_message(self, info, msg):
        send(self, info, msg)
        if msg.WhichOneof("type") == "script_finished":
            with lock:
                t0 = asked.pop(info.session.id, None)
                if t0 is not None:
                    peer = getattr(getattr(info.client, "_websocket", None), "client", None)
                    out.write(f"{t0:.6f}\\t{time.monotonic():.6f}\\t{getattr(peer, 'port', 0) or 0}\\n")

    AppSession.handle_backmsg, Runtime._send_message = handle_backmsg, _send_message

if os.environ.get("EMBEDDING_LENS_SERVER_TIMING"):
    _install(os.environ["EMBEDDING_LENS_SERVER_TIMING"])
"""


def server_log(path: Path, t0: float, t1: float) -> list[tuple[float, float, int]]:
    """The server-side runs (see :data:`SERVER_TIMING`) asked for in [t0, t1]: (request
    received, script_finished handed to the websocket, the session's browser port)."""
    out = []
    for line in path.read_text().splitlines() if path.exists() else []:
        a, b, *port = line.split("\t")
        if t0 <= float(a) <= t1:
            out.append((float(a), float(b), int(port[0]) if port else 0))
    return out


def server_runs(path: Path, t0: float, t1: float) -> list[float]:
    """Durations (s) of the server-side runs (see :data:`SERVER_TIMING`) asked for in [t0, t1]."""
    return [b - a for a, b, _ in server_log(path, t0, t1)]


class Wire(threading.Thread):
    """Packets between the browsers and the server, read on the loopback interface: for each
    TCP segment with data to or from ``server_port``, (kernel timestamp as ``time.monotonic``,
    browser port, "up" | "down", data bytes), websocket pings and pongs left out.

    A packet socket (Linux ``AF_PACKET``, needs ``CAP_NET_RAW``) bound to ``lo`` sees each
    segment once as sent and once as received; only the received copy is kept. Timestamps come
    from the kernel (``SO_TIMESTAMPNS``, ``CLOCK_REALTIME``, moved onto the monotonic clock by
    the offset read at start), so they do not depend on when this thread runs, nor on when a
    browser's renderer gets to the frame. ``error`` says why nothing was captured, if so."""

    ETH_P_ALL, SO_TIMESTAMPNS, PACKET_HOST = 0x0003, 35, 0
    #: First byte of a websocket ping or pong frame (FIN + opcode 0x9 / 0xA, RFC 6455 5.2): the
    #: server's keep-alive pings and the browser's answers are not part of any response.
    CONTROL = (0x89, 0x8A)

    def __init__(self, server_port: int) -> None:
        super().__init__(daemon=True, name="wire")
        self.port = server_port
        self.log: list[tuple[float, int, str, int]] = []
        self.error = ""
        self.stop = threading.Event()
        self.offset = time.time() - time.monotonic()
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(self.ETH_P_ALL))
            self.sock.bind(("lo", 0))
            self.sock.setsockopt(socket.SOL_SOCKET, self.SO_TIMESTAMPNS, 1)
            self.sock.settimeout(0.2)
        except (OSError, AttributeError) as exc:
            self.sock = None
            self.error = f"no packet capture on lo ({exc})"

    def run(self) -> None:
        if self.sock is None:
            return
        anc = socket.CMSG_SPACE(16)
        while not self.stop.is_set():
            try:
                data, ancdata, _, addr = self.sock.recvmsg(65536, anc)
            except TimeoutError:
                continue
            except OSError as exc:
                self.error = f"packet capture stopped ({exc})"
                return
            if addr[2] != self.PACKET_HOST or len(data) < 14 + 20 or data[12:14] != b"\x08\x00" or data[23] != 6:
                continue  # the sent copy, or not IPv4 TCP
            ihl = (data[14] & 0x0F) * 4
            total = int.from_bytes(data[16:18], "big")
            tcp = 14 + ihl
            src, dst = int.from_bytes(data[tcp : tcp + 2], "big"), int.from_bytes(data[tcp + 2 : tcp + 4], "big")
            off = tcp + (data[tcp + 12] >> 4) * 4
            size = total - (off - 14)
            if size <= 0 or self.port not in (src, dst):
                continue
            ts = next((c for lvl, typ, c in ancdata if lvl == socket.SOL_SOCKET and typ == self.SO_TIMESTAMPNS), None)
            t = (int.from_bytes(ts[:8], "little") + int.from_bytes(ts[8:16], "little") / 1e9) if ts else time.time()
            way = "up" if dst == self.port else "down"
            if data[off] in self.CONTROL:
                continue  # a websocket ping or pong (a segment holds whole small frames here)
            self.log.append((t - self.offset, src if way == "up" else dst, way, size))

    def responses(self, runs: list[tuple[float, float, int]]) -> list[tuple[float, int, float, float, float]]:
        """For each server-side run (:func:`server_log`), the time on the wire, in s, from the
        segment that carried its request (the last one of >= 64 bytes up from that browser port
        before the server read it; a websocket pong is 6) to the last segment down to that port
        before the next such request goes up, and at most 1 s after the server handed over the
        run's ``script_finished``. Per run: (when the server read the request, the browser port,
        that time on the wire, and its two ends outside the script run: request segment -> the
        server read it, ``script_finished`` handed over -> last segment down), times in s. Runs
        with no port or no segments are left out."""
        by: dict[int, list[tuple[float, str, int]]] = {}
        for t, port, way, size in self.log:
            by.setdefault(port, []).append((t, way, size))
        out = []
        for asked, finished, port in runs:
            segs = by.get(port, [])
            ups = [t for t, way, size in segs if way == "up" and size >= 64]
            before = [t for t in ups if t <= asked]
            if not port or not before:
                continue
            start = before[-1]
            end = min([t for t in ups if t > asked][:1] + [finished + 1.0])
            downs = [t for t, way, _ in segs if way == "down" and start < t < end]
            if downs:
                out.append((asked, port, downs[-1] - start, asked - start, downs[-1] - finished))
        return out


def wire_per_click(clicks: list[Click], runs: list[tuple[float, int, float, float, float]]) -> list[float]:
    """The wire time (:meth:`Wire.responses`) of each click's run, in s: a session's browser port
    is the one most of its clicks have a run on within 2 s after the click; a click's run is the
    first on that port read after the click (within 10 s). Clicks without one are left out."""
    by_port: dict[int, list[tuple[float, float]]] = {}
    for asked, port, total, _, _ in runs:
        by_port.setdefault(port, []).append((asked, total))
    out = []
    for sid in sorted({c.session for c in clicks}):
        mine = [c for c in clicks if c.session == sid]
        votes = {p: sum(any(c.t0 <= a <= c.t0 + 2 for a, _ in rs) for c in mine) for p, rs in by_port.items()}
        if not votes or max(votes.values()) == 0:
            continue
        port = max(votes, key=lambda p: votes[p])
        for c in mine:
            after = sorted((a, t) for a, t in by_port[port] if c.t0 <= a <= c.t0 + 10)
            if after:
                out.append(after[0][1])
    return out


# --- page scripts -------------------------------------------------------------------------------
MAP = "[data-testid=lens-map]"  # the live map component's root (inside its shadow root)
IDLE = """() => { const a = document.querySelector('[data-testid="stApp"]');
  return !!a && a.getAttribute('data-test-script-state') === 'notRunning'; }"""
EXCEPTION = "[data-testid='stException']"


# --- processes ------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _proc_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (ppid, utime+stime ticks, RSS KiB) for every readable process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
            rest = stat[stat.rfind(")") + 2 :].split()
            rss = 0
            for line in Path(f"/proc/{d}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                    break
            out[int(d)] = (int(rest[1]), int(rest[11]) + int(rest[12]), rss)
        except (OSError, ValueError, IndexError):
            continue
    return out


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree(table: dict[int, tuple[int, int, int]], root: int) -> set[int]:
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    seen, todo = set(), [root]
    while todo:
        p = todo.pop()
        if p in table and p not in seen:
            seen.add(p)
            todo.extend(kids.get(p, ()))
    return seen


class Sampler(threading.Thread):
    """Every SAMPLE_EVERY_S: RSS of the server (alone, and with its children), and the CPU ticks
    used since the last sample by the server's tree and by this script's other children."""

    def __init__(self, server_pid: int) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.server_pid = server_pid
        self.samples: list[tuple[float, float, float, float]] = []  # (t, server, server+children, PSS of those) MiB
        self.cpu_ticks = {"server": 0, "clients": 0}
        self._last: dict[int, int] = {}
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._sweep(count=False)

    def _sweep(self, count: bool = True) -> None:
        table = _proc_table()
        server = _tree(table, self.server_pid)
        mine = _tree(table, os.getpid()) - server - {os.getpid()}
        now = time.monotonic()
        with self._lock:
            for group, pids in (("server", server), ("clients", mine)):
                for pid in pids:
                    ticks = table[pid][1]
                    if count:
                        self.cpu_ticks[group] += ticks - self._last.get(pid, 0)
                    self._last[pid] = ticks
            if self.server_pid in table:
                self.samples.append(
                    (
                        now,
                        table[self.server_pid][2] / 1024,
                        sum(table[p][2] for p in server) / 1024,
                        sum(_pss_kib(p) for p in server) / 1024,
                    )
                )

    def run(self) -> None:
        while not self._halt.wait(SAMPLE_EVERY_S):
            self._sweep()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    def cpu(self) -> dict[str, float]:
        with self._lock:
            return {k: v / TICK for k, v in self.cpu_ticks.items()}

    def peak(self, t0: float = 0.0, t1: float = float("inf")) -> tuple[float, float, float]:
        """Peak (server process RSS, server + children RSS sum, their PSS sum) in MiB."""
        with self._lock:
            win = [s for s in self.samples if t0 <= s[0] <= t1]
        return tuple(max(s[i] for s in win) for i in (1, 2, 3)) if win else (float("nan"),) * 3


def start_server(port: int, log_path: Path, app: str = APP, timing: Path | None = None) -> subprocess.Popen:
    """The live map's test app (``tests/e2e/apps/map_app.py``; ``?fault=1`` raises in its script),
    or ``app``; with ``timing``, the server logs its runs' times there (:data:`SERVER_TIMING`)."""
    cmd = [sys.executable, "-m", "streamlit", "run", app, "--server.headless", "true", "--server.address",
           "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]  # fmt: skip
    hook = ""
    if timing is not None:
        hook = tempfile.mkdtemp(prefix="embedding-lens-timing-")
        (Path(hook) / "sitecustomize.py").write_text(SERVER_TIMING)
    pypath = os.pathsep.join(p for p in (hook, str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": pypath,
        **({"EMBEDDING_LENS_SERVER_TIMING": str(timing)} if timing is not None else {}),
    }
    with open(log_path, "wb") as log:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


# --- one run ---------------------------------------------------------------------------------
@dataclass
class Click:
    session: int
    t0: float  # monotonic, when the click was sent
    t_end: float  # when it was judged (highlight and server echo seen, or timed out)
    highlight_s: float | None  # click -> focus and neighbours drawn on the map (page: data-neighbors-ms); None = failed
    server_s: float | None  # event sent -> last websocket frame of its rerun (CDP timestamps)
    idle_s: float | None  # click -> script run over (the neighbour table shown)
    nbytes: int  # websocket bytes received for this click
    note: str = ""


@dataclass
class Run:
    n: int
    clicks: int
    url: str
    fault: bool
    start_path: str = f"/?n={N_POINTS}"  # what a session opens
    t_start: float = field(default_factory=time.monotonic)
    results: list[Click] = field(default_factory=list)
    map_s: dict[int, float] = field(default_factory=dict)
    map_failed: dict[int, str] = field(default_factory=dict)
    exceptions: dict[int, list[str]] = field(default_factory=dict)
    js_errors: dict[int, list[str]] = field(default_factory=dict)
    done_clicks: dict[int, int] = field(default_factory=dict)
    fault_t0: float | None = None  # when /?fault=1 was opened
    fault_shown_s: float | None = None
    fault_text: str = ""
    fault_error: str = ""
    fault_event: asyncio.Event = field(default_factory=asyncio.Event)
    progress: asyncio.Event = field(default_factory=asyncio.Event)


async def _new_page(browser, run: Run, sid: int):
    ctx = await browser.new_context(viewport=VIEWPORT)
    page = await ctx.new_page()
    page.set_default_timeout(120_000)
    run.js_errors[sid] = []
    page.on("pageerror", lambda exc: run.js_errors[sid].append(str(exc)))
    return ctx, page


async def _until(page, cond: str, timeout_s: float) -> None:
    """Wait until ``cond`` (JS over the map's root ``e``, inside its shadow root) holds."""
    h = await page.locator(MAP).element_handle(timeout=timeout_s * 1000)
    await page.wait_for_function(f"(e) => {cond}", arg=h, polling=POLL_MS, timeout=timeout_s * 1000)


async def pick_targets(page, rng: np.random.Generator, m: int) -> list[tuple[float, float]]:
    """m page positions of seeded random rows, inside the plot and ``SEPARATION_PX`` apart."""
    box = await page.locator(f"{MAP} .plot").bounding_box()
    n = int(await page.locator(MAP).get_attribute("data-n") or N_POINTS)
    chosen: list[tuple[float, float]] = []
    for row in rng.permutation(n)[: 50 * m]:
        p = await page.locator(MAP).evaluate(f"el => el.lensProject({int(row)})")
        if not p:
            continue
        x, y = p
        if not (box["x"] + EDGE_PX < x < box["x"] + box["width"] - EDGE_PX):
            continue
        if not (box["y"] + EDGE_PX < y < min(box["y"] + box["height"], VIEWPORT["height"]) - EDGE_PX):
            continue
        if any(np.hypot(x - a, y - b) < SEPARATION_PX for a, b in chosen):
            continue
        chosen.append((x, y))
        if len(chosen) == m:
            break
    return chosen


class Frames:
    """Websocket frames of one page (CDP ``Network.webSocketFrameSent/Received``): (timestamp s,
    "sent" | "recv", bytes); binary frames are base64 in CDP and counted decoded."""

    def __init__(self) -> None:
        self.log: list[tuple[float, str, int]] = []

    async def attach(self, page) -> None:
        cdp = await page.context.new_cdp_session(page)
        await cdp.send("Network.enable")
        cdp.on("Network.webSocketFrameSent", lambda e: self._on(e, "sent"))
        cdp.on("Network.webSocketFrameReceived", lambda e: self._on(e, "recv"))

    def _on(self, e: dict, kind: str) -> None:
        r = e["response"]
        data = r.get("payloadData", "")
        size = len(base64.b64decode(data)) if r.get("opcode") == 2 else len(data.encode())
        self.log.append((float(e["timestamp"]), kind, size))


async def session(browser, run: Run, sid: int, seed: int) -> None:
    ctx, page = await _new_page(browser, run, sid)
    frames = Frames()
    try:
        t = time.monotonic()
        try:
            await frames.attach(page)
            await page.goto(run.url + run.start_path, timeout=MAP_TIMEOUT_S * 1000)
            await page.locator(MAP).wait_for(state="attached", timeout=MAP_TIMEOUT_S * 1000)
            await _until(page, "e.dataset.ready === '1' && +(e.dataset.frames || 0) >= 1", MAP_TIMEOUT_S)
            await page.wait_for_function(IDLE, timeout=MAP_TIMEOUT_S * 1000, polling=250)
        except Exception as exc:
            run.map_failed[sid] = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"
            return
        run.map_s[sid] = time.monotonic() - t
        run.done_clicks[sid] = 0
        run.progress.set()
        await asyncio.sleep(1.0)
        targets = await pick_targets(page, np.random.default_rng(seed), run.clicks)
        if len(targets) < run.clicks:
            print(f"  session {sid}: only {len(targets)} well-separated points found", flush=True)
        last = None
        for k, (x, y) in enumerate(targets):
            if run.fault and k == len(targets) - 1 and not run.fault_event.is_set():
                try:  # keep the last click for after the fault
                    await asyncio.wait_for(run.fault_event.wait(), GATE_TIMEOUT_S)
                except TimeoutError:
                    pass
            await page.mouse.move(x + 6, y + 6)
            await page.mouse.move(x, y)
            try:
                await _until(page, "e.dataset.hover !== undefined", 10)
                row = int(await page.locator(MAP).get_attribute("data-hover"))
            except Exception:
                run.results.append(
                    Click(sid, time.monotonic(), time.monotonic(), None, None, None, 0, "no point under the mouse")
                )
                continue
            if row == last:
                continue
            mark = len(frames.log)
            t0 = time.monotonic()
            await page.mouse.click(x, y)
            try:
                await _until(
                    page,
                    f"e.dataset.focus === '{row}' && e.dataset.neighbors !== '' && e.dataset.neighborsMs !== undefined",
                    CLICK_TIMEOUT_S,
                )
                highlight = float(await page.locator(MAP).get_attribute("data-neighbors-ms")) / 1000
                await page.locator(MAP).evaluate("e => { delete e.dataset.neighborsMs; }")
                await _until(page, f"e.dataset.serverFocus === '{row}'", IDLE_TIMEOUT_S)  # the server's echo arrived
                await page.wait_for_function(IDLE, timeout=IDLE_TIMEOUT_S * 1000, polling=POLL_MS)
                idle = time.monotonic() - t0
            except Exception as exc:
                run.results.append(Click(sid, t0, time.monotonic(), None, None, None, 0,
                                         f"row {row}: not answered ({exc.__class__.__name__})"))  # fmt: skip
                continue
            await asyncio.sleep(0.3)  # late frames of this rerun
            win = frames.log[mark:]
            sent = [ts for ts, kind, _ in win if kind == "sent"]
            recv = [ts for ts, kind, _ in win if kind == "recv" and sent and ts >= sent[0]]
            server = (recv[-1] - sent[0]) if recv else None
            nbytes = sum(b for _, kind, b in win if kind == "recv")
            run.results.append(Click(sid, t0, time.monotonic(), highlight, server, idle, nbytes))
            last = row
            run.done_clicks[sid] += 1
            run.progress.set()
        run.exceptions[sid] = await page.locator(EXCEPTION).all_inner_texts()
    finally:
        await ctx.close()


async def fault_session(browser, run: Run) -> None:
    """Once every session has its map and has finished its first click: open /?fault=1."""
    first = 1 if run.clicks > 1 else 0
    deadline = time.monotonic() + MAP_TIMEOUT_S + GATE_TIMEOUT_S
    while time.monotonic() < deadline:
        settled = len(run.map_s) + len(run.map_failed) == run.n
        if settled and all(c >= first for c in run.done_clicks.values()):
            break
        run.progress.clear()
        try:
            await asyncio.wait_for(run.progress.wait(), 5)
        except TimeoutError:
            pass
    ctx, page = await _new_page(browser, run, -1)
    try:
        run.fault_t0 = time.monotonic()
        try:
            await page.goto(run.url + f"/?n={N_POINTS}&fault=1", timeout=FAULT_TIMEOUT_S * 1000)
            box = page.locator(EXCEPTION).first
            await box.wait_for(state="visible", timeout=FAULT_TIMEOUT_S * 1000)
            run.fault_shown_s = time.monotonic() - run.fault_t0
            run.fault_text = " ".join((await box.inner_text()).split())
            if "RuntimeError" not in run.fault_text and "injected fault" not in run.fault_text:
                run.fault_error = f"exception box without the injected error: {run.fault_text!r}"
        except Exception as exc:
            run.fault_error = f"no exception box: {exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"
    finally:
        run.fault_event.set()
        await ctx.close()


class HostileLoop(threading.Thread):
    """``--hostile``: one more session, in its own browser (sync API, this thread), submitting the
    hostile inputs (:data:`hostile_inputs.PHASES`) one after another until ``stop`` is set.
    ``done`` holds (phase, seconds, answer kind, answer text) per submission; ``error`` the first
    failure (then the loop ends)."""

    def __init__(self, url: str, folder: Path) -> None:
        super().__init__(name="hostile-session", daemon=True)
        self.url, self.files = url, hostile_inputs.make_files(folder)
        self.stop, self.done, self.error = threading.Event(), [], ""

    def run(self) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                try:
                    page = b.new_context(viewport=VIEWPORT).new_page()
                    page.set_default_timeout(300_000)
                    hostile_inputs.open_data_page(page, self.url)
                    while not self.stop.is_set():
                        for phase in hostile_inputs.PHASES:
                            t = time.monotonic()
                            kind, text = hostile_inputs.submit(page, phase, self.files, timeout_s=300)
                            self.done.append((phase, time.monotonic() - t, kind, text))
                            if self.stop.is_set():
                                break
                finally:
                    b.close()
        except Exception as exc:  # reported by the run; the normal sessions carry on
            self.error = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"


def browser_executable(nice: int, folder: Path) -> str:
    """Chromium's path, or with ``nice > 0`` a wrapper script in ``folder`` that lowers the
    browser's CPU priority and runs it (``exec`` keeps Playwright's pipes, fds 3 and 4, and the
    process tree the CPU sampler reads).

    Two settings, because Linux's scheduler autogroups (``kernel.sched_autogroup_enabled``, on
    here) share the CPU first between sessions: Playwright starts the browser in a session of
    its own (``setsid``), so its nice value alone only ranks it against its own processes. The
    wrapper sets the nice value of the browser's autogroup (``/proc/self/autogroup``, see
    sched(7)) and then of the processes (``nice -n``)."""
    if nice <= 0:
        return CHROMIUM
    wrapper = folder / "chromium-nice"
    wrapper.write_text(
        f'#!/bin/sh\necho {int(nice)} > /proc/self/autogroup 2>/dev/null\nexec nice -n {int(nice)} {CHROMIUM} "$@"\n'
    )
    wrapper.chmod(0o755)
    return str(wrapper)


def _pct(v: list[float], q: float) -> float:
    return float(np.percentile(v, q)) if v else float("nan")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def one_run(
    browser,
    url: str,
    n: int,
    clicks: int,
    fault: bool,
    seed: int,
    sampler: Sampler,
    app: str = APP,
    hostile: bool = False,
    timing: Path | None = None,
) -> bool:
    extra = " (+1 fault session)" if fault else " (+1 hostile session)" if hostile else ""
    print(f"\n== {n} sessions x {clicks} clicks{extra}; app {app} ==", flush=True)
    load_before = _load()
    print(f"load average before (1/5/15 min): {load_before} ({os.cpu_count()} cores)", flush=True)
    cpu0 = sampler.cpu()
    run = Run(n, clicks, url, fault, start_path=f"/?n={N_POINTS}" if app == APP else "/?reducer=pca")
    health = hostile_inputs.Health(url)
    health.start()
    wire = Wire(int(url.rsplit(":", 1)[1]))
    wire.start()
    bad = HostileLoop(url, Path(tempfile.mkdtemp(prefix="embedding-lens-hostile-"))) if hostile else None
    if bad is not None:
        bad.start()
    seeds = [seed + 100 * n + i for i in range(n)]
    tasks = [session(browser, run, i, seeds[i]) for i in range(n)]
    if fault:
        tasks.append(fault_session(browser, run))
    try:
        await asyncio.gather(*tasks)
    finally:
        wire.stop.set()
        health.stop.set()
        if bad is not None:
            bad.stop.set()
            await asyncio.to_thread(bad.join, 330)
    t_end = time.monotonic()
    wall = t_end - run.t_start
    cpu1 = sampler.cpu()
    peak_server, peak_tree, peak_pss = sampler.peak(run.t_start, t_end + SAMPLE_EVERY_S)

    ok = [c for c in run.results if c.highlight_s is not None]
    failed = [c for c in run.results if c.highlight_s is None]
    hl = [c.highlight_s for c in ok]
    srv = [c.server_s for c in ok if c.server_s is not None]
    idle = [c.idle_s for c in ok if c.idle_s is not None]
    nbytes = [float(c.nbytes) for c in ok]
    maps = sorted(run.map_s.values())
    print(f"seeds: {seeds[0]}..{seeds[-1]}", flush=True)
    print(
        f"map drawn (all {N_POINTS:,} points, app idle) in {len(maps)}/{n} sessions: "
        + (f"median {statistics.median(maps):.1f} s, max {maps[-1]:.1f} s" if maps else "none"),
        flush=True,
    )
    for sid, why in sorted(run.map_failed.items()):
        print(f"  session {sid}: no map ({why})", flush=True)
    print(f"clicks: {len(run.results)} total, {len(ok)} ok, {len(failed)} failed", flush=True)
    print(
        f"click -> focus + neighbours highlighted (browser): p50 {_pct(hl, 50) * 1000:.0f} ms, "
        f"p95 {_pct(hl, 95) * 1000:.0f} ms, max {max(hl, default=float('nan')) * 1000:.0f} ms",
        flush=True,
    )
    print(
        f"server response (event sent -> last websocket frame): p50 {_pct(srv, 50) * 1000:.0f} ms, "
        f"p95 {_pct(srv, 95) * 1000:.0f} ms, max {max(srv, default=float('nan')) * 1000:.0f} ms ({len(srv)} clicks)",
        flush=True,
    )
    if timing is not None:
        log = server_log(timing, run.t_start, t_end)
        runs = [b - a for a, b, _ in log]
        print(
            f"server side, each script run asked for by a page (rerun request received -> its script_finished "
            f"handed to the websocket): p50 {_pct(runs, 50) * 1000:.0f} ms, p95 {_pct(runs, 95) * 1000:.0f} ms, "
            f"max {max(runs, default=float('nan')) * 1000:.0f} ms ({len(runs)} runs)",
            flush=True,
        )
        wire.join(5)
        parts = wire.responses(log)
        on_wire = [p[2] for p in parts]
        per_click = wire_per_click(ok, parts)
        print(
            f"server response on the wire, per click (its request's segment up -> last segment down, loopback "
            f"capture): p50 {_pct(per_click, 50) * 1000:.0f} ms, p95 {_pct(per_click, 95) * 1000:.0f} ms, "
            f"max {max(per_click, default=float('nan')) * 1000:.0f} ms ({len(per_click)} clicks); "
            f"all the runs above: p50 {_pct(on_wire, 50) * 1000:.0f} ms, p95 {_pct(on_wire, 95) * 1000:.0f} ms "
            f"({len(on_wire)} runs)" + (f"; {wire.error}" if wire.error else ""),
            flush=True,
        )
        if parts:
            print(
                f"  of which outside the script run, p95: request segment -> read by the server "
                f"{_pct([p[3] for p in parts], 95) * 1000:.0f} ms, script_finished handed over -> last segment "
                f"down {_pct([p[4] for p in parts], 95) * 1000:.0f} ms",
                flush=True,
            )
    print(
        f"click -> app idle again (neighbour table shown): p50 {_pct(idle, 50):.2f} s, p95 {_pct(idle, 95):.2f} s, "
        f"max {max(idle, default=float('nan')):.2f} s",
        flush=True,
    )
    print(
        f"websocket bytes received per click: p50 {_pct(nbytes, 50):,.0f}, max {max(nbytes, default=0):,.0f}",
        flush=True,
    )
    for c in failed + [c for c in ok if c.note]:
        print(f"  session {c.session} at t={c.t0 - run.t_start:.1f}s: {c.note}", flush=True)
    bad_sessions = {sid: e for sid, e in run.exceptions.items() if e}
    for sid, texts in sorted(bad_sessions.items()):
        print(f"  session {sid} showed an exception: {texts!r}", flush=True)
    js = {sid: e for sid, e in run.js_errors.items() if e}
    for sid, errs in sorted(js.items()):
        print(f"  {'fault session' if sid < 0 else f'session {sid}'}: uncaught JS errors: {errs[:3]!r}", flush=True)
    fault_ok = True
    if fault:
        if run.fault_t0 is None:
            fault_ok = False
            print("fault: never injected", flush=True)
        else:
            after = [c for c in run.results if c.t_end >= run.fault_t0]
            after_ok = sum(c.highlight_s is not None for c in after)
            fault_ok = not run.fault_error
            shown = (
                f"exception box after {run.fault_shown_s:.1f} s: {run.fault_text[:80]!r}"
                if run.fault_shown_s is not None
                else run.fault_error
            )
            print(
                f"fault: injected in 1 extra session at t={run.fault_t0 - run.t_start:.1f}s ({shown}); "
                f"other sessions: {after_ok}/{len(after)} clicks ok after the fault",
                flush=True,
            )
            if run.fault_error and run.fault_shown_s is not None:
                print(f"  fault check failed: {run.fault_error}", flush=True)
    print(
        f"peak server RSS: {peak_tree:,.0f} MiB (server + children, RSS summed; PSS sum {peak_pss:,.0f} MiB; "
        f"server process alone {peak_server:,.0f} MiB)",
        flush=True,
    )
    used = {k: cpu1[k] - cpu0[k] for k in cpu1}
    print(
        f"CPU used during the run: server {used['server']:.0f} s ({used['server'] / wall:.2f} cores), "
        f"browsers {used['clients']:.0f} s ({used['clients'] / wall:.2f} cores)",
        flush=True,
    )
    lat = sorted(health.between(run.t_start, t_end))
    print(
        f"health endpoint during the run: worst {max(lat, default=float('nan')):.2f} s, p95 {_pct(lat, 95):.2f} s "
        f"({len(lat)} polls every 0.1 s)",
        flush=True,
    )
    hostile_ok = True
    if bad is not None:
        per: dict[str, list[float]] = {}
        for phase, secs, kind, text in bad.done:
            per.setdefault(phase, []).append(secs)
            want_kind, want = hostile_inputs.EXPECTED[phase]
            if kind != want_kind or want not in text:
                hostile_ok = False
                print(f"  hostile {phase}: unexpected answer {kind}: {text[:120]!r}", flush=True)
        print(
            f"hostile session: {len(bad.done)} inputs submitted ("
            + ", ".join(f"{ph} x{len(v)} median {statistics.median(v):.1f} s" for ph, v in per.items())
            + ")",
            flush=True,
        )
        if bad.error:
            hostile_ok = False
            print(f"  hostile session failed: {bad.error}", flush=True)
    print(f"load average after (1/5/15 min): {_load()}", flush=True)
    print(f"wall time: {wall:.1f} s", flush=True)
    return not failed and not run.map_failed and not bad_sessions and fault_ok and hostile_ok


async def wait_startup(browser, url: str, server_pid: int, start_path: str = f"/?n={N_POINTS}") -> None:
    """One session opens the map; then wait until the server's CPU use settles (warm-up done)."""
    t = time.monotonic()
    ctx = await browser.new_context(viewport=VIEWPORT)
    page = await ctx.new_page()
    await page.goto(url + start_path, timeout=MAP_TIMEOUT_S * 1000)
    await page.locator(MAP).wait_for(state="attached", timeout=MAP_TIMEOUT_S * 1000)
    await _until(page, "e.dataset.ready === '1'", MAP_TIMEOUT_S)
    await page.wait_for_function(IDLE, timeout=MAP_TIMEOUT_S * 1000, polling=250)
    first_map = time.monotonic() - t
    await ctx.close()

    def ticks() -> int:
        table = _proc_table()
        return sum(table[p][1] for p in _tree(table, server_pid))

    quiet, last = 0, ticks()
    while quiet < 3 and time.monotonic() - t < STARTUP_IDLE_CAP_S:
        await asyncio.sleep(1.0)
        now = ticks()
        quiet = quiet + 1 if (now - last) / TICK < 0.1 else 0
        last = now
    print(
        f"start-up: first map after {first_map:.1f} s; server idle (< 0.1 core for 3 s) after "
        f"{time.monotonic() - t:.1f} s",
        flush=True,
    )


async def amain(args: argparse.Namespace, url: str, server: subprocess.Popen, sampler: Sampler) -> bool:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        exe = browser_executable(args.browser_nice, Path(tempfile.mkdtemp(prefix="embedding-lens-load-")))
        browser = await p.chromium.launch(executable_path=exe, headless=True, args=ARGS)
        if args.browser_nice > 0:
            print(
                f"browsers run at nice {args.browser_nice} (the server at {os.getpriority(os.PRIO_PROCESS, server.pid)})",
                flush=True,
            )
        try:
            await wait_startup(browser, url, server.pid, f"/?n={N_POINTS}" if args.app == APP else "/?reducer=pca")
            ok = True
            for n in args.sessions:
                fault = not args.no_fault and args.app == APP
                ok &= await one_run(
                    browser, url, n, args.clicks, fault, args.seed, sampler, app=args.app, hostile=args.hostile,
                    timing=args.timing,
                )  # fmt: skip
                if server.poll() is not None:
                    print(f"the server exited with code {server.returncode}", flush=True)
                    return False
            return ok
        finally:
            await browser.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--sessions", type=int, nargs="+", default=[5, 10], help="session counts, run in turn (default 5 10)"
    )
    ap.add_argument("--clicks", type=int, default=6, help="clicks per session (default 6)")
    ap.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    ap.add_argument("--seed", type=int, default=0, help="base seed; session i of an N-session run uses seed+100*N+i")
    ap.add_argument("--no-fault", action="store_true", help="skip the extra session that injects a fault")
    ap.add_argument(
        "--keep-log", action="store_true", help="keep the server's log (kept anyway if it has other tracebacks)"
    )
    ap.add_argument(
        "--app",
        choices=["test", "full"],
        default="test",
        help="test: the live map's test app (default); full: the app itself (streamlit_app.py), Explore page",
    )
    ap.add_argument(
        "--hostile", action="store_true", help="one more session submitting the hostile inputs in a loop (--app full)"
    )
    ap.add_argument(
        "--browser-nice",
        type=int,
        default=0,
        choices=range(20),
        metavar="N",
        help="run the browsers at this nice level (0-19; default 0): the server first, as with remote clients",
    )
    args = ap.parse_args()
    args.app = FULL_APP if args.app == "full" or args.hostile else APP
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found (apt-get install -y chromium)", file=sys.stderr)
        return 2

    port = args.port or _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.mkstemp(prefix="embedding-lens-load-", suffix=".log")[1])
    t_all = time.monotonic()
    print(f"machine: {os.cpu_count()} cores; load average (1/5/15 min): {_load()}", flush=True)
    args.timing = Path(tempfile.mkstemp(prefix="embedding-lens-timing-", suffix=".tsv")[1])
    server = start_server(port, log_path, args.app, timing=args.timing)
    sampler = None
    ok = False
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while not _healthy(url):
            if server.poll() is not None or time.monotonic() > deadline:
                print(f"server not healthy (exit code {server.poll()}); log:\n{log_path.read_text(errors='replace')}")
                return 1
            time.sleep(0.5)
        print(f"server: {url}, pid {server.pid}, app {args.app}", flush=True)
        sampler = Sampler(server.pid)
        sampler.start()
        ok = asyncio.run(amain(args, url, server, sampler))
    finally:
        try:
            if sampler is not None:
                sampler.stop()
        finally:
            stop_server(server)
        log = re.sub(r"\x1b\[[0-9;]*m", "", log_path.read_text(errors="replace"))
        tracebacks = log.count("Traceback (most recent call last)")
        injected = len(re.findall(r"^RuntimeError: injected fault for benchmarks/load\.py", log, flags=re.M))
        if sampler is not None and sampler.samples:
            alone, tree, pss = sampler.peak()
            print(
                f"\npeak server RSS over the whole session: {tree:,.0f} MiB (PSS sum {pss:,.0f} MiB; "
                f"server process alone {alone:,.0f} MiB)"
            )
        keep = args.keep_log or tracebacks > injected
        print(
            f"server log: {tracebacks} traceback(s), {injected} of them the injected fault"
            + (f"; kept at {log_path}" if keep else "")
        )
        if not keep:
            log_path.unlink(missing_ok=True)
        print(f"total wall time: {time.monotonic() - t_all:.1f} s; {'OK' if ok else 'FAILED'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
