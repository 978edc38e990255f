"""Image rendering for exports: one shared headless Chromium driven by **kaleido** 1.x.

kaleido (through choreographer) starts a Chromium per session; starting one costs ~2.5 s on an
idle machine (up to 7 s on a busy one), so :data:`RENDERER` keeps one for the process and
serves every thread (:class:`ImageRenderer`). :func:`find_chrome` says which browser kaleido
will use; :data:`CHROME_HELP` tells a user how to install one. Used by
:func:`viz_app.export.figure.figure_bytes`; the app's warm-up starts it (:func:`start_renderer`).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import shutil
import threading
from collections.abc import Mapping
from typing import Any

from viz_app.errors import MissingDependencyError

__all__ = ["CHROME_HELP", "RENDERER", "ImageRenderer", "find_chrome", "start_renderer", "stop_renderer"]

log = logging.getLogger(__name__)

CHROME_HELP = (
    "Image export (PNG/SVG/PDF) needs Chrome or Chromium for kaleido: install it with "
    "'apt-get install chromium' (Debian/Ubuntu) or 'plotly_get_chrome', or set BROWSER_PATH to the "
    "browser executable. HTML export works without it."
)


def find_chrome() -> str | None:
    """Path of the Chrome/Chromium kaleido will use, or None.

    ``BROWSER_PATH`` wins when set (as in kaleido/choreographer, without fallback); else
    choreographer's search (a browser downloaded by ``plotly_get_chrome``, ``chromium``,
    ``google-chrome`` ... on ``PATH``, then typical install paths).
    """
    env = os.environ.get("BROWSER_PATH")
    if env:
        return env if os.path.isfile(env) and os.access(env, os.X_OK) else None
    try:
        from choreographer.browsers.chromium import Chromium

        path = Chromium.find_browser(skip_local=False)
    except Exception as exc:  # noqa: BLE001 - private API of choreographer; fall back to PATH
        log.warning("choreographer could not look for Chromium (%r); searching PATH", exc)
        path = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome", "chrome"))), None)
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


class ImageRenderer:
    """A kaleido session (one headless Chromium) that renders figures for every thread.

    Started lazily by :meth:`render` (or explicitly by :meth:`start`, e.g. in a warm-up), kept
    until :meth:`stop` or interpreter exit. It runs its own asyncio loop in a daemon thread;
    callers block on a ``concurrent.futures.Future``, so concurrent Streamlit sessions are safe
    (kaleido serialises renders on its tab). If Chromium dies, the next call starts a new one.

    Parameters
    ----------
    timeout : float, default=120
        Seconds allowed for starting Chromium and for one render.
    """

    def __init__(self, *, timeout: float = 120.0) -> None:
        self.timeout = timeout
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._kaleido: Any = None
        self._atexit = False

    @property
    def running(self) -> bool:
        """True while a Chromium session is open."""
        return self._kaleido is not None

    def start(self) -> None:
        """Start Chromium if not running (~2.5 s).

        Raises
        ------
        MissingDependencyError
            kaleido is not installed, no Chrome/Chromium is found, or it cannot be started.
        """
        with self._lock:
            if self._kaleido is not None:
                return
            try:
                import kaleido
            except ImportError:
                raise MissingDependencyError("image export needs kaleido >= 1: pip install 'kaleido>=1'") from None
            chrome = find_chrome()
            if chrome is None:
                where = (
                    f" (BROWSER_PATH={os.environ['BROWSER_PATH']!r} is not an executable file)"
                    if os.environ.get("BROWSER_PATH")
                    else ""
                )
                raise MissingDependencyError(f"no Chrome/Chromium found{where}. {CHROME_HELP}")

            async def _open() -> Any:
                k = kaleido.Kaleido(n=1, mathjax=False, path=chrome, timeout=self.timeout)
                await k.open()
                return k

            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="embedding-lens-kaleido", daemon=True)
            thread.start()
            try:
                self._kaleido = asyncio.run_coroutine_threadsafe(_open(), loop).result(self.timeout)
            except Exception as exc:
                _stop_loop(loop, thread)
                msg = f"Chromium at {chrome} could not be started ({exc!r}). {CHROME_HELP}"
                raise MissingDependencyError(msg) from exc
            self._loop, self._thread = loop, thread
            if not self._atexit:
                atexit.register(self.stop)
                self._atexit = True

    def render(self, figure: Mapping[str, Any], *, fmt: str, width: int, height: int, scale: float) -> bytes:
        """Image bytes of a figure dict (``fig.to_dict()``) in ``fmt`` ("png", "svg" or "pdf")."""
        from choreographer.errors import BrowserClosedError, BrowserFailedError

        opts = {"format": fmt, "width": width, "height": height, "scale": scale}
        for attempt in (1, 2):
            with self._lock:
                self.start()
                loop, k = self._loop, self._kaleido
            fut = asyncio.run_coroutine_threadsafe(k.calc_fig(dict(figure), opts=opts), loop)
            try:
                return fut.result(self.timeout + 5)
            except (BrowserClosedError, BrowserFailedError):
                self.stop()  # Chromium died: start a new one once
                if attempt == 2:
                    raise
            except TimeoutError:
                fut.cancel()
                self.stop()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Close Chromium and the loop thread (no-op if not running)."""
        with self._lock:
            k, loop, thread = self._kaleido, self._loop, self._thread
            self._kaleido = self._loop = self._thread = None
        if k is None or loop is None or thread is None:
            return
        with contextlib.suppress(Exception):  # best effort: the browser may already be gone
            asyncio.run_coroutine_threadsafe(k.close(), loop).result(15)
        _stop_loop(loop, thread)


def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    if not thread.is_alive():
        loop.close()


#: The process-wide renderer used by :func:`figure_bytes` and :func:`export_figure`.
RENDERER = ImageRenderer()


def start_renderer() -> None:
    """Start the shared Chromium now (e.g. in a background warm-up) instead of on the first image.

    Raises
    ------
    MissingDependencyError
        No Chrome/Chromium (the message says what to install).
    """
    RENDERER.start()


def stop_renderer() -> None:
    """Close the shared Chromium (it restarts on the next image)."""
    RENDERER.stop()
