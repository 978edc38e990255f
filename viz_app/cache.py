"""The one cache layer of Embedding Lens: in-memory stores bounded by **bytes**, not entries.

Every in-process store of the package (loaded sets, projections, clusterings, approximate
neighbour indexes, row norms, embedded texts, fitted PCA models, the live map's files, ...) is a
:class:`ByteCache`: a thread-safe least-recently-used mapping on :class:`cachetools.LRUCache`
whose ``getsizeof`` is :func:`nbytes` (the bytes of the arrays and frames a value holds).

Budgets
    ``EMBEDDING_LENS_CACHE_MB`` (default :data:`DEFAULT_BUDGET_MB`) is the total, in MiB, shared by
    all stores; each store takes a fixed fraction of it (see :data:`SHARES`). A value larger than
    its store's budget is returned to the caller but not kept (a warning is logged).
Owners (per-session data)
    A store may hold values *owned* by one session (:meth:`ByteCache.put` with ``owner=``). Each
    owner has a quota (``EMBEDDING_LENS_SESSION_MB``, default half the sessions store), so
    one session's many uploads evict its own older ones, never another session's data;
    :meth:`ByteCache.drop_owner` frees everything an owner holds (called when a session ends).
Computation locks
    :meth:`ByteCache.get_or_compute` makes a second caller of the same key wait for the first
    one's computation instead of repeating it; the per-key lock is dropped as soon as nobody
    waits on it (no lock is kept per key ever seen).

Source: ``cachetools`` (https://cachetools.readthedocs.io), ``LRUCache(maxsize, getsizeof)``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import threading
import types
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

import cachetools
import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_BUDGET_MB",
    "ENV_BUDGET",
    "ENV_SESSION",
    "SHARES",
    "ByteCache",
    "StoreInfo",
    "clear_all",
    "nbytes",
    "store",
    "stores",
    "total_budget_bytes",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Environment variable: total in-memory cache budget of the server, in MiB.
ENV_BUDGET = "EMBEDDING_LENS_CACHE_MB"
#: Environment variable: what one session may keep in the ``sessions`` store, in MiB.
ENV_SESSION = "EMBEDDING_LENS_SESSION_MB"
DEFAULT_BUDGET_MB = 8192

#: Fraction of the total budget each named store gets (the rest of the names share "other").
SHARES: dict[str, float] = {
    "sessions": 0.35,  # uploads, subsets and relabelled sets, per session
    "samples": 0.12,  # bundled samples, shared by every session
    "projections": 0.18,  # coordinates (and fitted reducers), shared: keyed by vectors + params
    "derived": 0.08,  # clusterings, expressions, analogies, comparisons: keyed by content
    "ann": 0.10,  # pynndescent indexes, keyed by vectors + metric
    "norms": 0.02,
    "text_vectors": 0.03,  # embedded texts, keyed by model + text
    "pca_models": 0.02,
    "map_files": 0.04,  # the live map's encoded files
    "lookups": 0.02,  # label/id -> row tables of vector arithmetic, keyed by content
    "other": 0.04,
}


def _env_mb(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        log.warning("%s=%r is not a number of MiB; using %s", name, raw, default)
        return default
    if not value > 0:
        log.warning("%s=%r must be positive; using %s", name, raw, default)
        return default
    return value


def total_budget_bytes() -> int:
    """The total in-memory budget in bytes: ``EMBEDDING_LENS_CACHE_MB`` MiB (default 8192, a third
    of the 24 GB reference machine: the rest is for the work in flight and the libraries)."""
    return int(_env_mb(ENV_BUDGET, DEFAULT_BUDGET_MB) * 2**20)


# --------------------------------------------------------------------------------------- sizes
_MAX_DEPTH = 8
_SAMPLE = 256  # containers larger than this are measured on an evenly spaced sample
#: Not walked into: code, classes, modules, locks, and compiled-kernel machinery (a fitted UMAP
#: holds numba dispatchers whose IR objects raise on attribute access).
_OPAQUE = (type, types.ModuleType, types.FunctionType, types.MethodType, types.BuiltinFunctionType)
_SKIP = ("numba", "llvmlite", "threading", "_thread", "logging")


def _sample(items: list) -> list:
    step = max(1, len(items) // _SAMPLE)
    return items[::step][:_SAMPLE]


def nbytes(obj: Any) -> int:
    """Approximate bytes held by ``obj``: numpy arrays by ``nbytes`` (object arrays of str add
    the strings, estimated from up to 256 of them), pandas objects by ``memory_usage(deep=True)``,
    scipy sparse matrices by their three arrays, containers (large ones from 256 sampled items),
    dataclasses and plain objects by their contents (8 levels deep, each object counted once).
    Always >= 1, so an entry is never free.
    """
    return max(1, _size(obj, set(), 0))


def _obj_array(a: np.ndarray) -> int:
    n = a.size
    if n == 0:
        return a.nbytes
    flat = a.reshape(-1)
    step = max(1, n // 256)
    sample = flat[::step][:256]
    avg = sum(sys.getsizeof(x) for x in sample) / len(sample)
    return int(a.nbytes + avg * n)


def _size(obj: Any, seen: set[int], depth: int) -> int:
    try:
        return _size_of(obj, seen, depth)
    except Exception:  # noqa: BLE001 - objects whose attributes raise (numba IR, proxies): shallow size
        return sys.getsizeof(obj)


def _size_of(obj: Any, seen: set[int], depth: int) -> int:
    if obj is None or isinstance(obj, (bool, int, float)):
        return 8
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, (str, bytes, bytearray, memoryview)):
        return len(obj) + 49
    if isinstance(obj, np.ndarray):
        if obj.base is not None and isinstance(obj.base, np.ndarray) and id(obj.base) in seen:
            return 0
        return _obj_array(obj) if obj.dtype == object else int(obj.nbytes)
    if isinstance(obj, (pd.DataFrame, pd.Series, pd.Index)):
        try:
            mem = obj.memory_usage(deep=True, index=True) if not isinstance(obj, pd.Index) else obj.memory_usage(True)
            return int(np.sum(mem))
        except Exception as exc:  # noqa: BLE001 - unusual extension dtypes: count the shape
            log.warning("memory_usage failed (%s); estimating", exc)
            return int(np.prod(obj.shape) * 8)
    if depth >= _MAX_DEPTH or isinstance(obj, _OPAQUE) or getattr(type(obj), "__module__", "").startswith(_SKIP):
        return sys.getsizeof(obj)
    d = depth + 1
    if hasattr(obj, "data") and hasattr(obj, "indices") and hasattr(obj, "indptr"):  # scipy sparse
        return sum(_size(getattr(obj, a), seen, d) for a in ("data", "indices", "indptr"))
    if isinstance(obj, dict):
        items = list(obj.items()) if len(obj) <= _SAMPLE else _sample(list(obj.items()))
        per = sum(_size(k, seen, d) + _size(v, seen, d) for k, v in items) / max(len(items), 1)
        return int(sys.getsizeof(obj) + per * len(obj))
    if isinstance(obj, (list, tuple, set, frozenset)):
        vals = list(obj) if len(obj) <= _SAMPLE else _sample(list(obj))
        per = sum(_size(v, seen, d) for v in vals) / max(len(vals), 1)
        return int(sys.getsizeof(obj) + per * len(obj))
    total = sys.getsizeof(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        total += sum(_size(getattr(obj, f.name, None), seen, d) for f in dataclasses.fields(obj))
    attrs = getattr(obj, "__dict__", None)
    if isinstance(attrs, dict):
        total += sum(_size(v, seen, d) for v in attrs.values())
    return total


# --------------------------------------------------------------------------------------- store
class StoreInfo(NamedTuple):
    """Counters of one store: entries, bytes held, byte budget, hits, misses, values refused."""

    name: str
    entries: int
    bytes: int
    max_bytes: int
    hits: int
    misses: int
    refused: int


class _LRU(cachetools.LRUCache):
    """``LRUCache`` that reports the keys it evicts (so owners' byte counts stay right)."""

    def __init__(self, maxsize: int, on_evict: Callable[[Hashable], None]) -> None:
        super().__init__(maxsize, getsizeof=nbytes)
        self._on_evict = on_evict

    def popitem(self) -> tuple[Hashable, Any]:
        key, value = super().popitem()
        self._on_evict(key)
        return key, value


_MISSING = object()


class ByteCache:
    """Thread-safe LRU store bounded by bytes (see the module docstring).

    Parameters
    ----------
    name : str
        Shown in logs and :meth:`info`.
    max_bytes : int
        Budget; the least recently used entries are evicted to stay under it.
    owner_max_bytes : int or None
        Quota of each owner (values put with ``owner=``); None: no quota.
    max_entries : int or None
        Optional cap on the number of entries as well.
    """

    def __init__(
        self, name: str, max_bytes: int, *, owner_max_bytes: int | None = None, max_entries: int | None = None
    ) -> None:
        self.name = name
        self.max_bytes = int(max_bytes)
        self.owner_max_bytes = owner_max_bytes
        self.max_entries = max_entries
        self._lock = threading.RLock()
        self._data = _LRU(self.max_bytes, self._evicted)
        self._owner_of: dict[Hashable, Hashable] = {}
        self._owned: dict[Hashable, OrderedDict[Hashable, int]] = {}
        self._key_locks: dict[Hashable, list[Any]] = {}  # key -> [lock, number of users]
        self._hits = self._misses = self._refused = 0

    # ---- bookkeeping
    def _evicted(self, key: Hashable) -> None:
        owner = self._owner_of.pop(key, None)
        if owner is not None:
            keys = self._owned.get(owner)
            if keys is not None:
                keys.pop(key, None)
                if not keys:
                    del self._owned[owner]

    def _remove(self, key: Hashable) -> Any:
        value = self._data.pop(key, _MISSING)
        if value is not _MISSING:
            self._evicted(key)
        return value

    # ---- mapping API
    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value under ``key`` (now most recently used), or ``default``."""
        return self._get(key, default, count=True)

    def _get(self, key: Hashable, default: Any, *, count: bool) -> Any:
        with self._lock:
            value = self._data.get(key, _MISSING)
            if value is _MISSING:
                self._misses += count
                return default
            self._hits += count
            owner = self._owner_of.get(key)
            if owner is not None:
                self._owned[owner].move_to_end(key)
            return value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def keys(self) -> list[Hashable]:
        """The keys, least recently used first."""
        with self._lock:
            return list(self._data.keys())

    def put(self, key: Hashable, value: Any, *, owner: Hashable | None = None) -> bool:
        """Keep ``value`` under ``key``; evicts least recently used entries (with ``owner``: that
        owner's own entries first, to stay within its quota). Returns False (and logs a warning)
        when the value alone exceeds the store's budget or the owner's quota: it is not kept."""
        size = nbytes(value)
        limit = min(self.max_bytes, self.owner_max_bytes or self.max_bytes) if owner is not None else self.max_bytes
        with self._lock:
            if size > limit:
                self._refused += 1
                self._remove(key)
                log.warning(
                    "cache %s: value of %.1f MiB not kept (limit %.1f MiB)", self.name, size / 2**20, limit / 2**20
                )
                return False
            self._remove(key)
            if owner is not None and self.owner_max_bytes is not None:
                keys = self._owned.get(owner, OrderedDict())
                while keys and sum(keys.values()) + size > self.owner_max_bytes:
                    self._remove(next(iter(keys)))
            self._data[key] = value
            if owner is not None:
                self._owner_of[key] = owner
                self._owned.setdefault(owner, OrderedDict())[key] = size
            while self.max_entries is not None and len(self._data) > self.max_entries:
                self._data.popitem()
            return True

    def pop(self, key: Hashable, default: Any = None) -> Any:
        """Remove ``key``; its value or ``default``."""
        with self._lock:
            value = self._remove(key)
            return default if value is _MISSING else value

    def drop_owner(self, owner: Hashable) -> int:
        """Remove every value put with ``owner``; returns how many."""
        with self._lock:
            keys = list(self._owned.get(owner, ()))
            for k in keys:
                self._remove(k)
            self._owned.pop(owner, None)
        if keys:
            log.info("cache %s: freed %d entries of a closed session", self.name, len(keys))
        return len(keys)

    def owner_bytes(self, owner: Hashable) -> int:
        """Bytes held for ``owner``."""
        with self._lock:
            return sum(self._owned.get(owner, {}).values())

    def clear(self) -> None:
        """Remove everything and reset the counters."""
        with self._lock:
            self._data.clear()
            self._owner_of.clear()
            self._owned.clear()
            self._hits = self._misses = self._refused = 0

    def info(self) -> StoreInfo:
        """Entries, bytes, budget and counters."""
        with self._lock:
            return StoreInfo(
                self.name,
                len(self._data),
                int(self._data.currsize),
                self.max_bytes,
                self._hits,
                self._misses,
                self._refused,
            )

    # ---- computation
    @contextmanager
    def key_lock(self, key: Hashable) -> Iterator[None]:
        """Hold the computation lock of ``key`` (freed when its last user leaves)."""
        with self._lock:
            entry = self._key_locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0 and self._key_locks.get(key) is entry:
                    del self._key_locks[key]

    def busy(self, key: Hashable) -> bool:
        """True while someone computes (or waits for) ``key``."""
        with self._lock:
            return key in self._key_locks

    def get_or_compute(self, key: Hashable, compute: Callable[[], T], *, owner: Hashable | None = None) -> T:
        """The value under ``key``, else ``compute()`` (once, even with concurrent callers), kept.
        Counts one miss per computation and one hit per call served from the store (also after
        waiting for another caller's computation)."""
        hit = self._get(key, _MISSING, count=False)
        if hit is not _MISSING:
            with self._lock:
                self._hits += 1
            return hit
        with self.key_lock(key):
            hit = self._get(key, _MISSING, count=True)
            if hit is not _MISSING:
                return hit
            value = compute()
            self.put(key, value, owner=owner)
            return value


# ------------------------------------------------------------------------------------ registry
_stores: dict[str, ByteCache] = {}
_stores_lock = threading.Lock()


def store(name: str, *, share: float | None = None, max_entries: int | None = None) -> ByteCache:
    """The process-wide store ``name`` (created on first use with ``share`` of the total budget,
    default :data:`SHARES` [name] or the "other" share). The ``sessions`` store has a per-owner
    quota of ``EMBEDDING_LENS_SESSION_MB`` (default half the store: 1.4 GiB with the default
    8 GiB budget)."""
    with _stores_lock:
        s = _stores.get(name)
        if s is None:
            total = total_budget_bytes()
            frac = share if share is not None else SHARES.get(name, SHARES["other"])
            max_bytes = max(1, int(total * frac))
            quota = None
            if name == "sessions":
                quota = min(max_bytes, int(_env_mb(ENV_SESSION, max_bytes / 2 / 2**20) * 2**20))
            s = _stores[name] = ByteCache(name, max_bytes, owner_max_bytes=quota, max_entries=max_entries)
        return s


def stores() -> dict[str, ByteCache]:
    """Every store created so far, by name."""
    with _stores_lock:
        return dict(_stores)


def clear_all() -> None:
    """Empty every store (tests, benchmarks)."""
    for s in stores().values():
        s.clear()
