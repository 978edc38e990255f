"""Projection fits off the calling thread: in long-lived worker processes, with a time limit.

UMAP (umap-learn's numba kernels) and t-SNE (openTSNE) fits run for seconds to minutes and hold
the GIL for long stretches; run in the server process, one session's fit stalled every other
session and the server's own event loop. :class:`FitPool` runs them in worker processes of
joblib's **loky** executor (``joblib.externals.loky.ProcessPoolExecutor``, which can kill its
workers), one job per worker at a time. The caller's thread only waits on the job's future (the
GIL released) and relays the worker's progress reports, which the worker appends to a small
file of this job (one ``fraction<TAB>message`` line each; a worker killed mid-write leaves at
most an incomplete last line, which is ignored). loky's worker processes do not re-run the
calling program's ``__main__`` (a Streamlit page, in the app), unlike ``multiprocessing``'s
spawn.

A job that runs longer than its time limit (:data:`ENV_TIMEOUT`, default
:data:`DEFAULT_TIMEOUT_S`) is cancelled: its worker is killed, replaced by a new one (warmed up
in the background), and the caller gets a :class:`~viz_app.errors.JobTimeoutError` naming the
limit. A caller that stops waiting (an exception raised by its progress callback, e.g. a
Streamlit script run that was stopped) cancels its job the same way.

What crosses the process boundary is our own: the input vectors (a float32 array), the
validated :class:`~viz_app.reduce.registry.ProjectionParams` and the result (coordinates,
quality figures and the fitted reducer, pickled by the worker); nothing read from a user's
file is ever unpickled.

Only the reducers in :data:`WORKER_REDUCERS` go to a worker; PCA (scikit-learn, seconds at
most, in BLAS calls that release the GIL) stays in the calling process.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

import numpy as np
from joblib.externals.loky import ProcessPoolExecutor
from joblib.externals.loky.process_executor import BrokenProcessPool, ShutdownExecutorError
from numpy.typing import NDArray

from viz_app.errors import JobTimeoutError, ParameterError, VizAppError
from viz_app.progress import Progress, format_seconds, null_progress
from viz_app.reduce.project import Projection, project_with
from viz_app.reduce.registry import ProjectionParams
from viz_app.reduce.umap import warm_up as umap_warm_up

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "ENV_TIMEOUT",
    "ENV_WORKERS",
    "WORKER_REDUCERS",
    "FitPool",
    "PoolClosedError",
    "fit_pool",
    "job_timeout_s",
    "project_in_worker",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Environment variable: seconds a projection fit may run in a worker before it is cancelled.
ENV_TIMEOUT = "EMBEDDING_LENS_JOB_TIMEOUT_S"
#: Default time limit, seconds (a UMAP of 20,000 points takes about a minute on 2 cores).
DEFAULT_TIMEOUT_S = 900.0
#: Environment variable: number of worker processes (default 1: one fit at a time, the others wait).
ENV_WORKERS = "EMBEDDING_LENS_FIT_WORKERS"
#: Reducers whose fits run in a worker process.
WORKER_REDUCERS = frozenset({"umap", "tsne"})
_POLL_S = 0.2  # how often the waiting thread reads the progress file
_HEARTBEAT_S = 1.0  # the caller hears from a waiting job at least this often


def job_timeout_s() -> float:
    """The time limit from :data:`ENV_TIMEOUT` (seconds, > 0), else :data:`DEFAULT_TIMEOUT_S`.

    Raises
    ------
    ParameterError
        The variable is set to something other than a positive number.
    """
    raw = os.environ.get(ENV_TIMEOUT, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ParameterError(f"{ENV_TIMEOUT}={raw!r}: expected a positive number of seconds")
    return value


# --- in the worker process ----------------------------------------------------------------------
def _watch_parent(parent_pid: int) -> None:
    """Worker initializer: a daemon thread that ends this worker when the process that started
    it is gone (killed, so its exit hook never ran): a fit must not run on for minutes with no
    one to read its result. Checked every second (between the fit's kernel calls, which may hold
    the GIL for one UMAP epoch)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="embedding-lens-parent-watch", daemon=True).start()


def _fit_job(reports: str, vectors: NDArray[np.float32], p: ProjectionParams, fingerprint: str) -> Projection:
    """Runs in the worker: :func:`~viz_app.reduce.project.project_with`; each progress report
    is appended to the file ``reports`` as one line ``fraction<TAB>message``."""
    with open(reports, "a", encoding="utf-8") as out:

        def report(fraction: float, message: str, /) -> None:
            text = " ".join(str(message).split())
            out.write(f"{float(fraction)!r}\t{text}\n")
            out.flush()

        return project_with(vectors, p, fingerprint=fingerprint, progress=report)


def _warm_up_job() -> float:
    """Runs in the worker: load umap-learn's and pynndescent's numba kernels there from numba's
    disk cache (see :func:`viz_app.reduce.umap.warm_up`), without its UMAP fit through
    NN-descent: a visitor's fit queued behind this job waits for all of it, and that fit only
    exercises kernels the first large fit loads from the disk cache itself."""
    return umap_warm_up(nn_descent=False)


# --- in the calling process ---------------------------------------------------------------------
class PoolClosedError(RuntimeError):
    """The pool was shut down (or the interpreter is exiting): no new job can start."""


class _Slot:
    """One worker process (a loky executor of one worker), started on its first job."""

    def __init__(self) -> None:
        self.executor = ProcessPoolExecutor(max_workers=1, initializer=_watch_parent, initargs=(os.getpid(),))
        self.warm: Future | None = None
        self.cancelled = False

    def submit(self, fn: Callable[..., T], *args: object) -> Future:
        """``executor.submit``; :class:`PoolClosedError` once the slot was killed or the
        interpreter is exiting (loky then refuses new jobs)."""
        if self.cancelled:
            raise PoolClosedError("the fit worker was stopped")
        try:
            future = self.executor.submit(fn, *args)
        except (ShutdownExecutorError, RuntimeError) as exc:
            if isinstance(exc, BrokenProcessPool):
                raise
            raise PoolClosedError(str(exc)) from exc
        _register_exit_hook()  # after loky's own (registered by its first submit): runs before it
        return future

    def warm_done(self) -> bool:
        return self.warm is None or self.warm.done()

    def kill(self) -> None:
        """Kill the worker (and the job it runs), waiting until it is gone."""
        self.cancelled = True
        self.executor.shutdown(wait=True, kill_workers=True)

    def pids(self) -> list[int]:
        """Process ids of this slot's live worker (empty before its first job and once killed)."""
        processes = getattr(self.executor, "_processes", None) or {}
        return [p.pid for p in list(processes.values()) if p.is_alive()]


class FitPool:
    """Worker processes for projection fits, each running one job at a time.

    Parameters
    ----------
    workers : int, optional
        Worker processes; default :data:`ENV_WORKERS` or 1. Each is started on first use and
        kept (its imports and compiled kernels stay warm) until a job over the time limit
        replaces it.
    timeout_s : float, optional
        Default time limit per job, seconds; default :func:`job_timeout_s` (read per job).
    warm_replacements : bool, default=True
        Warm up (:meth:`warm_up`) the worker that replaces a cancelled one in the background.

    Every pool's workers are killed when the interpreter exits (before loky's own exit hook,
    which would wait for a running job to end), and a worker whose parent process died ends
    itself; :meth:`shutdown` kills them earlier.
    """

    def __init__(
        self, workers: int | None = None, timeout_s: float | None = None, warm_replacements: bool = True
    ) -> None:
        n = workers if workers is not None else int(os.environ.get(ENV_WORKERS, "1") or 1)
        if n < 1:
            raise ParameterError(f"a fit pool needs at least 1 worker, got {n}")
        self.timeout_s, self.warm_replacements = timeout_s, warm_replacements
        self._free: queue.Queue[_Slot | None] = queue.Queue()
        for _ in range(n):
            self._free.put(None)  # started on first use
        self._lock = threading.Lock()
        self._slots: set[_Slot] = set()  # every started slot, free or busy
        self.closed = False
        self.cancelled = 0  # jobs cancelled (over the time limit, or their caller stopped waiting)
        _pools.add(self)

    def _new_slot(self) -> _Slot:
        with self._lock:
            if self.closed:
                raise PoolClosedError("the fit pool was shut down")
            slot = _Slot()
            self._slots.add(slot)
            return slot

    def _take(self, report: Progress) -> _Slot:
        t0 = time.monotonic()
        while True:
            if self.closed:
                raise PoolClosedError("the fit pool was shut down")
            try:
                slot = self._free.get(timeout=_POLL_S * 5)
                return slot if slot is not None else self._new_slot()
            except queue.Empty:
                waited = format_seconds(time.monotonic() - t0)
                report(0.0, f"waiting for another map's computation to finish ({waited})")

    def warm_up(self, wait: bool = False) -> None:
        """Start every worker and compile umap-learn's kernels in it (in the background unless
        ``wait``): the first UMAP fit of a worker then skips the compilation.

        Raises
        ------
        PoolClosedError
            The pool was shut down, or the interpreter is exiting.
        """
        slots: list[_Slot | None] = []
        while True:
            try:
                slots.append(self._free.get_nowait())
            except queue.Empty:
                break
        started: list[_Slot] = []
        try:
            for slot in slots:
                slot = slot if slot is not None else self._new_slot()
                started.append(slot)
                if slot.warm is None:
                    slot.warm = slot.submit(_warm_up_job)
        finally:
            for slot in started:
                self._free.put(slot)
            for _ in range(len(slots) - len(started)):
                self._free.put(None)
        if wait:
            for slot in started:
                if slot.warm is not None:
                    slot.warm.result()

    def project(
        self,
        vectors: NDArray[np.float32],
        p: ProjectionParams,
        *,
        fingerprint: str = "",
        progress: Progress | None = None,
        timeout_s: float | None = None,
    ) -> Projection:
        """:func:`~viz_app.reduce.project.project_with` in a worker process, with a time limit.

        Parameters
        ----------
        vectors : array of shape (n_samples, n_features), float32
        p : ProjectionParams
            Validated settings (:func:`~viz_app.reduce.registry.make_params`).
        fingerprint : str
            Stored in the result's ``source_fingerprint``.
        progress : Progress, optional
            Called from this thread with the worker's reports, and at least every second while
            the job waits (for a free worker, for the worker's warm-up, between reports). An
            exception it raises (a Streamlit script run that was stopped raises on its next
            element update) cancels the job (the worker is killed and replaced) and propagates.
        timeout_s : float, optional
            Time limit of this job in seconds (from when a worker starts it); default the
            pool's, else :func:`job_timeout_s`.

        Returns
        -------
        Projection
            The same coordinates as ``project_with`` in this process for the same seed, with the
            fitted reducer in ``model``.

        Raises
        ------
        JobTimeoutError
            The job ran longer than the time limit and was cancelled.
        PointBudgetError, ParameterError
            As :func:`~viz_app.reduce.project.project_with` (raised in the worker, re-raised here).
        VizAppError
            The worker process died (killed from outside, out of memory).
        PoolClosedError
            The pool was shut down, or the interpreter is exiting.
        """
        limit = (
            timeout_s if timeout_s is not None else self.timeout_s if self.timeout_s is not None else job_timeout_s()
        )
        report = progress or null_progress
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        slot = self._take(report)
        fd, reports = tempfile.mkstemp(prefix="embedding-lens-fit-", suffix=".progress")
        os.close(fd)
        future: Future | None = None
        healthy = False
        try:
            future = slot.submit(_fit_job, reports, x, p, fingerprint)
            result = self._wait(slot, future, reports, limit, report, p)
            healthy = True
            return result
        except (BrokenProcessPool, ShutdownExecutorError) as exc:
            if self.closed:  # shut down under this job (the interpreter is exiting)
                raise PoolClosedError("the fit pool was shut down") from exc
            # the worker died (killed from outside, out of memory)
            raise VizAppError(
                f"the worker process computing {p.describe()} stopped unexpectedly ({exc.__class__.__name__}); "
                "try again, or with fewer points"
            ) from exc
        except BaseException:
            # the job itself raised (bad parameters, over the point budget): the worker is fine
            healthy = future is not None and future.done() and not slot.cancelled
            raise
        finally:
            with contextlib.suppress(OSError):
                os.unlink(reports)
            if healthy:
                self._free.put(slot)
            else:  # over the time limit, the caller stopped waiting, or the worker died
                if not slot.cancelled:
                    slot.kill()
                self._forget(slot)
                self.cancelled += 1
                self._free.put(None if self.closed else self._replace())

    def _wait(
        self, slot: _Slot, future: Future, reports: str, limit: float, report: Progress, p: ProjectionParams
    ) -> Projection:
        started: float | None = None
        seen = [False]
        offset = [0]
        last: list[tuple[float, str]] = [(0.0, f"starting {p.describe()}")]
        said = [time.monotonic()]

        def relay() -> None:
            try:
                with open(reports, "rb") as f:
                    f.seek(offset[0])
                    new = f.read()
            except OSError:
                return
            lines = new.split(b"\n")[:-1]  # complete lines only
            offset[0] += sum(len(line) + 1 for line in lines)
            for line in lines:
                fraction, _, message = line.decode("utf-8", "replace").partition("\t")
                try:
                    value = float(fraction)
                except ValueError:
                    continue
                seen[0] = True
                last[0] = (value, message)
                said[0] = time.monotonic()
                report(value, message)

        while True:
            try:
                result = future.result(timeout=_POLL_S)  # waits without the GIL
                break
            except FutureTimeout:
                pass
            if slot.cancelled:  # killed under this job by shutdown(): loky may never settle its future
                raise PoolClosedError("the fit pool was shut down")
            # the clock starts when the worker starts this job (not while it finishes its warm-up)
            relay()
            if started is None and (seen[0] or (future.running() and slot.warm_done())):
                started = time.monotonic()
            if started is not None and time.monotonic() - started > limit:
                slot.kill()
                raise JobTimeoutError(
                    f"{p.describe()} did not finish within the time limit of {format_seconds(limit)} and was "
                    f"cancelled; try fewer points (fit on a sample) or PCA ({ENV_TIMEOUT} sets the limit)"
                )
            if time.monotonic() - said[0] >= _HEARTBEAT_S:
                # say it again: a stopped script run notices (and cancels the job) only when it
                # draws something; while the worker compiles its kernels, say that
                said[0] = time.monotonic()
                if not slot.warm_done():
                    report(0.0, "starting the map worker (compiling UMAP's kernels, once per server)")
                else:
                    report(*last[0])
        relay()
        if not isinstance(result, Projection):
            raise TypeError(f"the worker returned {type(result).__name__}, not a Projection")
        return result

    def _forget(self, slot: _Slot) -> None:
        with self._lock:
            self._slots.discard(slot)

    def _replace(self) -> _Slot | None:
        try:
            fresh = self._new_slot()
            if self.warm_replacements:  # compile in the background, for the next job
                fresh.warm = fresh.submit(_warm_up_job)
        except PoolClosedError:
            return None
        log.info("fit worker replaced after a cancelled job")
        return fresh

    def worker_pids(self) -> list[int]:
        """Process ids of this pool's live worker processes."""
        with self._lock:
            slots = list(self._slots)
        return [pid for slot in slots for pid in slot.pids()]

    def shutdown(self) -> None:
        """Stop every worker, killing running jobs (their callers get an error); no job can
        start after this (:class:`PoolClosedError`)."""
        with self._lock:
            self.closed = True
            slots = list(self._slots)
            self._slots.clear()
        for slot in slots:
            if not slot.cancelled:
                slot.kill()


_pools: weakref.WeakSet[FitPool] = weakref.WeakSet()
_hook_lock = threading.Lock()
_hook: list[bool] = []


def _kill_all_pools() -> None:
    for pool in list(_pools):
        with contextlib.suppress(Exception):
            pool.shutdown()


def _register_exit_hook() -> None:
    """Once: kill every pool's workers when the interpreter exits. loky registers its own hook
    with ``threading._register_atexit`` on its first submit; that one waits for running jobs to
    end (minutes, for a fit). Hooks registered there run in reverse order, so ours, registered
    after loky's, runs first; ``atexit`` (after the threads are joined) is the fallback."""
    with _hook_lock:
        if _hook:
            return
        _hook.append(True)
        register = getattr(threading, "_register_atexit", None)
        try:
            if register is None:
                raise RuntimeError("no threading._register_atexit")
            register(_kill_all_pools)
        except RuntimeError:  # interpreter already exiting, or another Python
            atexit.register(_kill_all_pools)


_pool: list[FitPool] = []
_pool_lock = threading.Lock()


def fit_pool() -> FitPool:
    """The process-wide :class:`FitPool` (created on first use)."""
    with _pool_lock:
        if not _pool:
            _pool.append(FitPool())
        return _pool[0]


def project_in_worker(
    vectors: NDArray[np.float32],
    p: ProjectionParams,
    *,
    fingerprint: str = "",
    progress: Progress | None = None,
    pool: FitPool | None = None,
) -> Projection:
    """:func:`~viz_app.reduce.project.project_with`, in ``pool`` (default the shared
    :func:`fit_pool`) for the reducers of :data:`WORKER_REDUCERS` (with its time limit), in
    this thread for the others.

    Raises
    ------
    JobTimeoutError
        A worker job ran over the time limit (:data:`ENV_TIMEOUT`) and was cancelled.
    PointBudgetError, ParameterError
        As :func:`~viz_app.reduce.project.project_with`.
    """
    if p.reducer not in WORKER_REDUCERS:
        return project_with(vectors, p, fingerprint=fingerprint, progress=progress)
    return (pool or fit_pool()).project(vectors, p, fingerprint=fingerprint, progress=progress)
