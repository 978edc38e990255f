"""Caches of the app, all on the byte-bounded stores of :mod:`viz_app.cache`.

- A session's own data (uploads, subsets, relabelled sets) lives in :func:`session_sets`, keyed
  by the session's owner id and the set's ``content_key``: no other session can read it, and it
  is freed when the session ends. Only bundled samples are in a server-wide store.
- Derived results are shared between sessions only when keyed by everything that defines them:
  projections by (vectors' fingerprint, params); clusterings, expressions, analogies and
  comparisons by the set's ``content_key`` (vectors, ids, labels, metadata, names).

Datasets and projections are kept in these stores rather than ``st.cache_data`` because
(a) their computation must report progress to the page that asked for it (``st.cache_data``
would replay the progress bar on a cache hit), and (b) they are frozen objects with read-only
arrays, safe to share without pickling a copy on every rerun.
A per-key lock makes a second session wait for the first one's computation instead of
repeating it. UMAP and t-SNE fits run in a worker process with a time limit
(``viz_app.reduce.worker``: ``EMBEDDING_LENS_JOB_TIMEOUT_S``), so one session's fit never holds
the server's GIL; the waiting script thread relays its progress. Projections are also kept on
disk (``viz_app.reduce.store``), so a server restart
re-shows a map without recomputing it.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import queue
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from viz_app import cache as core_cache
from viz_app.cache import ByteCache
from viz_app.data import samples
from viz_app.data.model import EmbeddingSet
from viz_app.embed.encoders import get_encoder
from viz_app.errors import ResourceLimitError
from viz_app.reduce import Projection, ProjectionParams, warm_up
from viz_app.reduce.store import ProjectionDiskCache
from viz_app.reduce.worker import FitPool, PoolClosedError, fit_pool, project_in_worker

log = logging.getLogger(__name__)


#: Session-state key of this session's owner token (see :func:`session_owner`).
OWNER = "_cache_owner"


#: Seconds a closed session's data is kept when Streamlit's ``server.disconnectedSessionTTL`` cannot
#: be read (its default): a reconnect within this time finds its data again.
CLOSED_SESSION_GRACE_S = 120.0
_SWEEP_EVERY_S = 15.0


def closed_session_grace_s() -> float:
    """Seconds a closed session's data is kept: as long as Streamlit keeps the closed session for a
    reconnect (its config option ``server.disconnectedSessionTTL``, default 120 s). Within it, a
    reconnect resumes the session with its data; after it, Streamlit never resumes that session,
    so nothing can read the data any more."""
    try:
        return max(0.0, float(st.config.get_option("server.disconnectedSessionTTL")))
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:  # an older Streamlit without it
        log.debug("server.disconnectedSessionTTL unavailable (%s); using %s s", exc, CLOSED_SESSION_GRACE_S)
        return CLOSED_SESSION_GRACE_S


class _Owner:
    """Identity of one session in the ``sessions`` store, tied to its Streamlit session id.

    Its data is freed when the session closes: :func:`sweep_closed_sessions` (run by a daemon
    thread every 15 s and on each page run) drops the data of sessions that Streamlit no longer
    lists as active (``Runtime.is_active_session``) for :func:`closed_session_grace_s` seconds
    (Streamlit's reconnect window), and the files Streamlit itself keeps for them. Streamlit
    forgets a closed session after that window without shutting it down (so without freeing its
    uploaded files); a ``weakref.finalize`` frees our data when its session state goes, if not yet:
    it only queues the owner id (:data:`_collected`), and the next sweep frees it."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        ctx = get_script_run_ctx()
        self.session_id = ctx.session_id if ctx is not None else None
        weakref.finalize(self, _collected.put, self.id)
        if self.session_id is not None:
            with _owners_lock:
                _owners[self.id] = [self.session_id, None]
        _start_sweeper()


#: owner id -> [Streamlit session id, monotonic time it was first seen closed (or None)]
_owners: dict[str, list] = {}
_owners_lock = threading.Lock()
_sweeper: list[threading.Thread] = []
#: Owner ids whose :class:`_Owner` was garbage-collected, freed by the next
#: :func:`sweep_closed_sessions` (at most 15 s later). A weakref callback runs wherever the
#: collector happens to run: in any thread, inside any lock that thread holds. Freeing there took
#: ``_owners_lock`` again inside ``sweep_closed_sessions``'s own ``with _owners_lock`` (an
#: allocation there started a collection), and that thread, the sweeper and every later session
#: waited on it for ever (seen in an AppTest run). ``queue.SimpleQueue.put`` is the call Python's
#: documentation names as safe there (reentrant: "in ``__del__`` methods or ``weakref``
#: callbacks").
_collected: queue.SimpleQueue[str] = queue.SimpleQueue()


def _free_owner(owner_id: str) -> None:
    with _owners_lock:
        _owners.pop(owner_id, None)
    session_sets().drop_owner(owner_id)


def _free_collected() -> int:
    """Free the data of the owners queued in :data:`_collected`; returns how many. Called by
    :func:`sweep_closed_sessions` before it takes ``_owners_lock`` (``_free_owner`` takes it)."""
    n = 0
    while True:
        try:
            owner_id = _collected.get_nowait()
        except queue.Empty:
            return n
        _free_owner(owner_id)
        n += 1


def _free_streamlit_files(rt: Any, session_id: str) -> None:
    """Free what Streamlit keeps for a session it will never resume: the bytes of its uploaded
    files, its media files and its lazy dataframe sources (what ``AppSession.shutdown`` frees;
    Streamlit's session storage drops an expired session without calling it). Each manager is
    thread-safe and its removal a no-op for an unknown session."""
    for free in (
        lambda: rt.uploaded_file_mgr.remove_session_files(session_id),
        lambda: rt.media_file_mgr.clear_session_refs(session_id),
        lambda: rt.media_file_mgr.remove_orphaned_files(),
        lambda: rt.dataframe_source_mgr.clear_all_for_session(session_id),
    ):
        try:
            free()
        except AttributeError as exc:  # a Streamlit without that manager
            log.debug("cannot free a closed session's files: %r", exc)


def sweep_closed_sessions(grace_s: float | None = None, now: float | None = None) -> int:
    """Free the data of sessions closed for ``grace_s`` seconds (default
    :func:`closed_session_grace_s`), and the files Streamlit keeps for them; returns how many
    sessions were freed. Without a running Streamlit server (AppTest, scripts) nothing is closed.
    First it frees the owners whose session state was garbage-collected (not counted)."""
    collected = _free_collected()
    if collected:
        log.info("freed the data of %d collected session state(s)", collected)
    if not runtime.exists():
        return 0
    rt = runtime.get_instance()
    grace_s = closed_session_grace_s() if grace_s is None else grace_s
    now = time.monotonic() if now is None else now
    closed = []
    with _owners_lock:
        for owner_id, entry in _owners.items():
            if rt.is_active_session(entry[0]):
                entry[1] = None
            elif entry[1] is None:
                entry[1] = now
            elif now - entry[1] >= grace_s:
                closed.append((owner_id, entry[0]))
    for owner_id, session_id in closed:
        _free_owner(owner_id)
        _free_streamlit_files(rt, session_id)
    if closed:
        log.info("freed the data of %d closed session(s)", len(closed))
        _give_back_memory()
    return len(closed)


def _give_back_memory() -> None:
    """Collect cycles and ask glibc to return freed heap pages to the system (``malloc_trim``;
    large arrays are unmapped on free anyway, parsing leaves many small freed blocks)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError) as exc:  # not glibc (macOS, musl): nothing to do
        log.debug("malloc_trim unavailable: %s", exc)


#: glibc's ``mallopt`` parameter ``M_MMAP_THRESHOLD`` (``<malloc.h>``).
_M_MMAP_THRESHOLD = -3
#: Blocks of at least this many bytes get their own mapping from glibc, unmapped when freed.
MMAP_THRESHOLD_BYTES = 4 << 20


def fix_mmap_threshold(nbytes: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Make glibc give every block of ``nbytes`` or more its own mapping, returned to the system
    when freed (``mallopt(M_MMAP_THRESHOLD)``; the same as the environment variable
    ``MALLOC_MMAP_THRESHOLD_``, which, when set, is left in charge). Returns True if set.

    Why: glibc starts at 128 KiB and raises the threshold to the size of each mapped block freed,
    up to 32 MiB, so once an upload's parsing has freed a few large blocks, later blocks of up
    to 32 MiB come from the heap, which ``malloc_trim`` cannot give back. Measured on this app
    (three sessions each uploading a 1 GiB-inflating ``.npz``, then closing): the server stayed
    +17% over its start (825 -> 969 MiB); with a fixed 4 MiB threshold, +2% (722 -> 738 MiB),
    and the warm-up's end state is ~100 MiB smaller. Not glibc (macOS, musl): nothing is done."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, int(nbytes)))
    except (OSError, AttributeError) as exc:
        log.debug("mallopt unavailable: %s", exc)
        return False


def _start_sweeper() -> None:
    with _owners_lock:
        if _sweeper and _sweeper[0].is_alive():
            return

        def loop() -> None:
            while True:
                time.sleep(_SWEEP_EVERY_S)
                try:
                    sweep_closed_sessions()
                except Exception as exc:  # noqa: BLE001 - the sweeper must survive a bad round
                    log.warning("closed-session sweep failed: %r", exc)

        t = threading.Thread(target=loop, name="embedding-lens-session-sweeper", daemon=True)
        _sweeper[:] = [t]
    t.start()


def session_owner() -> str:
    """This session's owner id (created on first use). A test may put a plain string under
    :data:`OWNER` in ``st.session_state`` to act as a known session."""
    sweep_closed_sessions()
    tok = st.session_state.get(OWNER)
    if isinstance(tok, str):
        return tok
    if not isinstance(tok, _Owner):
        tok = _Owner()
        st.session_state[OWNER] = tok
    return tok.id


def session_sets() -> ByteCache:
    """Sets this session loaded (uploads, subsets, relabelled sets), keyed by (owner id, the
    set's ``content_key``): another session never sees them, even with equal vectors. Each
    session has a byte quota (``EMBEDDING_LENS_SESSION_MB``); its data is freed when it ends."""
    return core_cache.store("sessions")


def put_session_set(es: EmbeddingSet, owner: str | None = None) -> str:
    """Keep ``es`` for this session (or ``owner``); returns its key (``es.content_key``).

    Raises
    ------
    ResourceLimitError
        The set alone is larger than a session's quota.
    """
    owner = owner if owner is not None else session_owner()
    if not session_sets().put((owner, es.content_key), es, owner=owner):
        store = session_sets()
        raise ResourceLimitError(
            f"{es.name!r} needs about {core_cache.nbytes(es) / 2**20:,.0f} MiB in memory, more than one "
            f"session may keep ({(store.owner_max_bytes or store.max_bytes) / 2**20:,.0f} MiB; "
            f"see {core_cache.ENV_SESSION} / {core_cache.ENV_BUDGET})"
        )
    return es.content_key


def session_set(key: str, owner: str | None = None) -> EmbeddingSet | None:
    """The set this session kept under ``key``, or None (never another session's)."""
    owner = owner if owner is not None else session_owner()
    return session_sets().get((owner, key))


def datasets() -> ByteCache:
    """Bundled samples (shared by every session: they are the same for all), keyed by
    ``("sample", key)``."""
    return core_cache.store("samples")


def projections() -> ByteCache:
    """Computed projections, keyed by (fingerprint, ProjectionParams): they depend on the
    vectors only, so sessions with equal vectors share them."""
    return core_cache.store("projections")


def derived() -> ByteCache:
    """Results that show labels or metadata (clusterings, analogy evaluations), keyed by the
    set's ``content_key``; kept apart from ``projections()`` so they never evict a map."""
    return core_cache.store("derived")


def expressions() -> ByteCache:
    """Evaluated expressions drawn on maps (result table + placement), keyed by content."""
    return derived()


def comparisons() -> ByteCache:
    """Comparisons of two sets (``viz_app.explore.compare``), keyed by both sets' content."""
    return derived()


@st.cache_resource
def disk_cache() -> ProjectionDiskCache:
    """On-disk projection cache (see ``viz_app.reduce.store``)."""
    return ProjectionDiskCache()


@st.cache_resource
def encoder(name: str | None = None) -> Any:
    """The sentence-transformers encoder, loaded once per server process."""

    return get_encoder(name)


def sample(key: str, progress: Callable[[int, int], None] | None = None) -> EmbeddingSet:
    """A bundled sample, loaded (and embedded, with progress) once per server."""
    return datasets().get_or_compute(("sample", key), lambda: samples.load_sample(key, progress=progress))


def _stored_map_key(es: EmbeddingSet, params: ProjectionParams) -> tuple:
    return ("stored-map", es.content_key, params)


def put_stored_map(es: EmbeddingSet, proj: Projection, owner: str | None = None) -> None:
    """Keep a map read from a map file (its stored coordinates) for this session only.

    A map file's coordinates are whatever the file says, so they must never enter the shared
    ``projections()`` store, where another session with the same vectors and parameters would
    be shown them. They sit in this session's store (its quota, freed with the session) under
    ``("stored-map", es.content_key, params)``; :func:`projection` looks there first.
    """
    owner = owner if owner is not None else session_owner()
    session_sets().put((owner, _stored_map_key(es, proj.params)), proj, owner=owner)


def projection(
    es: EmbeddingSet, params: ProjectionParams, progress: Callable[[float, str], None] | None = None
) -> Projection:
    """The projection of ``es`` with ``params``: this session's stored map (a map file) if it
    has one, else from memory, else disk, else computed and stored."""
    if get_script_run_ctx() is not None:
        stored = session_sets().get((session_owner(), _stored_map_key(es, params)))
        if stored is not None:
            return stored
    return _projection_in(projections(), disk_cache(), es, params, progress)


def _projection_in(
    store: ByteCache,
    disk: ProjectionDiskCache,
    es: EmbeddingSet,
    params: ProjectionParams,
    progress: Callable[[float, str], None] | None = None,
    pool: FitPool | None = None,
) -> Projection:
    def compute() -> Projection:
        cached = disk.get(es.fingerprint, params)
        if cached is not None:
            return cached
        proj = project_in_worker(es.vectors, params, fingerprint=es.fingerprint, progress=progress, pool=pool)
        disk.put(proj)
        return proj

    return store.get_or_compute((es.fingerprint, params), compute)


def refit(
    es: EmbeddingSet,
    params: ProjectionParams,
    progress: Callable[[float, str], None] | None = None,
    *,
    only_if_same: bool = False,
    store: ByteCache | None = None,
    pool: FitPool | None = None,
) -> Projection:
    """Fit the projection again (same seed) to keep the fitted reducer in memory, so new vectors
    can be placed with its own transform; stores it in place of the cached one (which, read from
    disk, has no reducer). With ``only_if_same``, it is stored only if the coordinates are
    identical (so nobody's map moves); the fresh projection is returned either way. UMAP and
    t-SNE fit in ``pool`` (default the shared :func:`~viz_app.reduce.worker.fit_pool`)."""
    store = store if store is not None else projections()
    fresh = project_in_worker(es.vectors, params, fingerprint=es.fingerprint, progress=progress, pool=pool)
    old = store.get((es.fingerprint, params))
    if not only_if_same or old is None or np.array_equal(old.coords, fresh.coords):
        store.put((es.fingerprint, params), fresh)
    return fresh


def freeze_long_lived() -> None:
    """Move every object alive now (modules, functions, classes of the libraries loaded so far:
    ~600,000 objects once umap-learn, torch and scikit-learn are imported) out of the garbage
    collector's reach, after one last collection (``gc.collect``; ``gc.freeze``).

    Streamlit runs a full collection (``gc.collect(2)``) after every script run of every
    session (``runner.postScriptGC``); over those objects it took 0.3-0.9 s here, holding the
    GIL, so every click of one session stalled the server for all (the health endpoint
    included). After the freeze it scans only what was created since: microseconds.
    Objects frozen here are still freed when their reference count drops to zero; only
    reference cycles among them are never collected."""
    t0 = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info(
        "froze %d long-lived objects for the garbage collector in %.2f s",
        gc.get_freeze_count(),
        time.perf_counter() - t0,
    )


@st.cache_resource
def start_warm_up(default_params: ProjectionParams) -> threading.Thread:
    """Once per server: load umap-learn's and pynndescent's numba kernels (from numba's disk
    cache; in the fit worker process, where fits run, and here, for UMAP's transform and the
    live map's NN-descent graph) and compute the default sample's default projection
    in a background thread, so the first visitor does not wait for them; then freeze the
    long-lived objects (:func:`freeze_long_lived`).

    The thread gets the server-wide stores from the starting script and never calls a
    ``st.cache_*`` function itself: those report to a script run, and one that was stopped
    (the visitor left) would raise ``StopException`` inside the thread. First, glibc's mmap
    threshold is fixed (:func:`fix_mmap_threshold`), so memory freed later goes back to the system."""
    fix_mmap_threshold()  # before the warm-up's and the visitors' allocations
    store, disk, data = projections(), disk_cache(), datasets()
    key = samples.DEFAULT_SAMPLE

    def run() -> None:
        # the default map's fits go to a worker of their own, stopped when the warm-up ends: in
        # the shared pool's worker they would queue a first visitor's fit behind them (minutes)
        spare = FitPool(workers=1, warm_replacements=False)
        try:
            # fits run in a worker process (viz_app.reduce.worker): start it and compile
            # umap-learn's kernels there, in the background
            fit_pool().warm_up()
            # the default map first (from the disk cache when `python -m viz_app.warmup` ran), then
            # the numba compile here, for UMAP's transform (placing points on a map), which holds
            # the GIL for long stretches
            es = data.get_or_compute(("sample", key), lambda: samples.load_sample(key))
            proj = _projection_in(store, disk, es, default_params, pool=spare)
            # freeze what the imports made now, not only at the end: until then every script run
            # of every session paid a full collection over them (0.6 s per click, measured with
            # py-spy while the warm-up's refit ran), for the minutes the warm-up takes
            freeze_long_lived()
            # kernels from numba's disk cache (filled by `python -m viz_app.warmup`), without the
            # warm-up's UMAP fit through NN-descent (seconds of fitting, no kernel it needs is
            # compiled: a first large map loads them from disk)
            warm_up(nn_descent=False)
            freeze_long_lived()  # umap-learn, pynndescent and numba, imported by the warm-up
            # the default map from disk has no fitted reducer: fit it again (deterministic: same
            # coordinates), so vector arithmetic places results with UMAP's own transform
            if proj.model is None:
                refit(es, default_params, only_if_same=True, store=store, pool=spare)
        except PoolClosedError:  # the interpreter is exiting (a test run or the server ends)
            log.debug("warm-up stopped: the fit workers were shut down")
        except Exception:  # the server runs on without it; the first visitor waits instead
            log.warning("warm-up failed", exc_info=True)
        finally:
            spare.shutdown()
            freeze_long_lived()

    t = threading.Thread(target=run, name="embedding-lens-warm-up", daemon=True)
    t.start()
    return t
