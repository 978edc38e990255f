"""Progress bars that core callbacks (:class:`viz_app.progress.Progress`) can drive from any
thread: the core's heartbeat reports from a helper thread while a library call runs, and
Streamlit only delivers element updates from threads that carry the script run's context."""

from __future__ import annotations

import threading

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from viz_app.progress import Progress


def bar_progress(bar: st.delta_generator.DeltaGenerator) -> Progress:
    """A :class:`Progress` that updates ``bar`` (an ``st.progress`` element), from any thread.

    The first report from another thread attaches the current script run's context to that
    thread, so its updates reach the page.
    """
    ctx = get_script_run_ctx()
    lock = threading.Lock()

    def report(fraction: float, message: str, /) -> None:
        if ctx is not None and get_script_run_ctx(suppress_warning=True) is None:
            add_script_run_ctx(threading.current_thread(), ctx)
        with lock:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

    return report
