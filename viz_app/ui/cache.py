"""Caches of the app: the encoder (``st.cache_resource``) and server-side LRU stores for
datasets and projections, shared by all sessions and keyed by content (the set's fingerprint
and the frozen ``ProjectionParams``).

Datasets and projections are kept in ``st.cache_resource``-held stores rather than
``st.cache_data`` because (a) their computation must report progress to the page that asked
for it (``st.cache_data`` would replay the progress bar on a cache hit), and (b) they are
frozen objects with read-only arrays, safe to share without pickling a copy on every rerun.
A per-key lock makes a second session wait for the first one's computation instead of
repeating it. Projections are also kept on disk (``viz_app.reduce.store``), so a server restart
re-shows a map without recomputing it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import streamlit as st

from viz_app.data import samples
from viz_app.data.model import EmbeddingSet
from viz_app.embed.encoders import get_encoder
from viz_app.export.figure import start_renderer
from viz_app.reduce import Projection, ProjectionParams, warm_up
from viz_app.reduce.project import project_with
from viz_app.reduce.store import ProjectionDiskCache

log = logging.getLogger(__name__)


class LRUStore:
    """Thread-safe LRU mapping with per-key computation locks."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        hit = self.get(key)
        if hit is not None:
            return hit
        with self._lock:
            klock = self._key_locks.setdefault(key, threading.Lock())
        with klock:
            hit = self.get(key)
            if hit is None:
                hit = compute()
                self.put(key, hit)
        return hit


@st.cache_resource
def datasets() -> LRUStore:
    """Loaded EmbeddingSets (samples and uploads), at most 24."""
    return LRUStore(24)


@st.cache_resource
def projections() -> LRUStore:
    """Computed projections, keyed by (fingerprint, ProjectionParams), at most 64."""
    return LRUStore(64)


@st.cache_resource
def expressions() -> LRUStore:
    """Evaluated expressions drawn on maps (result table + placement), at most 32; kept apart
    from ``projections()`` so they never evict a map."""
    return LRUStore(32)


@st.cache_resource
def comparisons() -> LRUStore:
    """Comparisons of two sets (``viz_app.explore.compare``), keyed by both sets' vectors, ids,
    labels and k; at most 8."""
    return LRUStore(8)


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


def projection(
    es: EmbeddingSet, params: ProjectionParams, progress: Callable[[float, str], None] | None = None
) -> Projection:
    """The projection of ``es`` with ``params``: from memory, else disk, else computed and stored."""
    return _projection_in(projections(), disk_cache(), es, params, progress)


def _projection_in(
    store: LRUStore,
    disk: ProjectionDiskCache,
    es: EmbeddingSet,
    params: ProjectionParams,
    progress: Callable[[float, str], None] | None = None,
) -> Projection:
    def compute() -> Projection:
        cached = disk.get(es.fingerprint, params)
        if cached is not None:
            return cached
        proj = project_with(es.vectors, params, fingerprint=es.fingerprint, progress=progress)
        disk.put(proj)
        return proj

    return store.get_or_compute((es.fingerprint, params), compute)


def refit(
    es: EmbeddingSet,
    params: ProjectionParams,
    progress: Callable[[float, str], None] | None = None,
    *,
    only_if_same: bool = False,
    store: LRUStore | None = None,
) -> Projection:
    """Fit the projection again (same seed) to keep the fitted reducer in memory, so new vectors
    can be placed with its own transform; stores it in place of the cached one (which, read from
    disk, has no reducer). With ``only_if_same``, it is stored only if the coordinates are
    identical (so nobody's map moves); the fresh projection is returned either way."""
    store = store if store is not None else projections()
    fresh = project_with(es.vectors, params, fingerprint=es.fingerprint, progress=progress)
    old = store.get((es.fingerprint, params))
    if not only_if_same or old is None or np.array_equal(old.coords, fresh.coords):
        store.put((es.fingerprint, params), fresh)
    return fresh


@st.cache_resource
def start_warm_up(default_params: ProjectionParams) -> threading.Thread:
    """Once per server: compile umap-learn's numba kernels and compute the default sample's
    default projection in a background thread, so the first visitor does not wait for them.

    The thread gets the server-wide stores from the starting script and never calls a
    ``st.cache_*`` function itself: those report to a script run, and one that was stopped
    (the visitor left) would raise ``StopException`` inside the thread."""
    store, disk, data = projections(), disk_cache(), datasets()
    key = samples.DEFAULT_SAMPLE

    def run() -> None:
        # the default map first (from the disk cache when `python -m viz_app.warmup` ran), then
        # the numba compile, which holds the GIL for long stretches
        es = data.get_or_compute(("sample", key), lambda: samples.load_sample(key))
        proj = _projection_in(store, disk, es, default_params)
        try:  # the shared Chromium for PNG/SVG/PDF export (absent Chrome: the panel says so)
            start_renderer()
        except Exception as exc:  # noqa: BLE001 - export is optional; the panel reports the reason
            log.warning("image renderer not started: %s", exc)
        warm_up()
        # the default map from disk has no fitted reducer: fit it again (deterministic: same
        # coordinates), so vector arithmetic places results with UMAP's own transform
        if proj.model is None:
            refit(es, default_params, only_if_same=True, store=store)

    t = threading.Thread(target=run, name="embedding-lens-warm-up", daemon=True)
    t.start()
    return t
