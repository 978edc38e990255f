"""Compact row sets for the map's per-rerun JSON (search matches, selections, highlights).

A set of rows of an ``n``-point map crosses as the smallest of:

- ``{"n": count, "packed": base64}``: the sorted rows as ``uint32`` little-endian (4 bytes a row);
- ``{"n": count, "bits": base64}``: a bitset over all ``n`` rows (bit ``i & 7`` of byte ``i >> 3``),
  ``n / 8`` bytes whatever the count;
- ``{"n": count, "url": ...}``: when even that is larger than ``inline_max_bytes``, the rows go
  into a content-addressed file (a ``"rows"`` container of :mod:`viz_app.map.encode`) that the
  page fetches once and keeps, so a later click does not send the set again.

A 100k-row selection of a 100k-point map inlines as a 12.5 kB bitset (16.7 kB of base64); of a
1M-point map, it goes by URL. ``frontend/src/rowset.ts`` decodes all three forms.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from viz_app.errors import ParameterError
from viz_app.map.encode import pack, unpack

__all__ = ["INLINE_MAX_BYTES", "as_rows", "decode_rows", "encode_rows"]

#: Row sets whose smallest inline form (base64) is larger than this go by URL.
INLINE_MAX_BYTES = 4096


def as_rows(rows: Any, n: int, *, what: str = "rows") -> NDArray[np.uint32]:
    """Sorted distinct row indices as ``uint32``.

    Parameters
    ----------
    rows : iterable of int, or boolean mask of length n
    n : int
        Number of points; every row must be in ``0 .. n - 1``.
    what : str
        Named in error messages (e.g. ``"highlight 'search'"``).

    Raises
    ------
    ParameterError
        A row out of range, a non-integer entry, or a mask of the wrong length.
    """
    a = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows)
    if a.dtype == bool:
        if a.shape != (n,):
            raise ParameterError(f"{what}: a boolean mask needs {n} entries, got {a.shape}")
        return np.flatnonzero(a).astype(np.uint32)
    if a.size == 0:
        return np.zeros(0, dtype=np.uint32)
    if a.dtype.kind not in "iu":
        raise ParameterError(f"{what}: row indices must be integers, got dtype {a.dtype}")
    a = a.ravel().astype(np.int64)
    if a.min() < 0 or a.max() >= n:
        bad = a[(a < 0) | (a >= n)][0]
        raise ParameterError(f"{what}: row {bad} is outside 0..{n - 1}")
    return np.unique(a).astype(np.uint32)


def encode_rows(
    rows: Any,
    n: int,
    *,
    put: Callable[[bytes], str] | None = None,
    inline_max_bytes: int = INLINE_MAX_BYTES,
    what: str = "rows",
) -> dict[str, Any]:
    """The compact JSON form of a row set (see the module docstring).

    Parameters
    ----------
    rows : see :func:`as_rows`
    n : int
    put : callable, optional
        Stores a file and returns its URL; without it, large sets are inlined anyway.
    inline_max_bytes : int, default=4096

    Returns
    -------
    dict
        ``{"n", "packed" | "bits" | "url"}``.
    """
    r = as_rows(rows, n, what=what)
    if 4 * r.size <= -(-n // 8):
        key, raw = "packed", r.astype("<u4").tobytes()
    else:
        key, raw = "bits", np.packbits(_bitset(r, n), bitorder="little").tobytes()
    if put is not None and 4 * -(-len(raw) // 3) > inline_max_bytes:
        return {"n": int(r.size), "url": put(pack("rows", {"rows": r}, n=n))}
    return {"n": int(r.size), key: base64.b64encode(raw).decode("ascii")}


def _bitset(r: NDArray[np.uint32], n: int) -> NDArray[np.bool_]:
    mask = np.zeros(n, dtype=bool)
    mask[r] = True
    return mask


def decode_rows(
    spec: dict[str, Any] | None, n: int, *, get: Callable[[str], bytes | None] | None = None
) -> NDArray[np.int64]:
    """Rows of a compact row set (from the page, or :func:`encode_rows`), sorted ``int64``.

    Raises
    ------
    ParameterError
        Malformed spec, rows out of range, or a URL that ``get`` cannot resolve.
    """
    if not spec:
        return np.zeros(0, dtype=np.int64)
    try:
        if "packed" in spec:
            rows = np.frombuffer(base64.b64decode(spec["packed"], validate=True), dtype="<u4").astype(np.int64)
        elif "bits" in spec:
            bits = np.frombuffer(base64.b64decode(spec["bits"], validate=True), dtype=np.uint8)
            rows = np.flatnonzero(np.unpackbits(bits, bitorder="little")[:n]).astype(np.int64)
        elif "url" in spec and get is not None:
            blob = get(str(spec["url"]))
            if blob is None:
                raise ParameterError(f"row set file {spec['url']!r} is no longer available")
            rows = unpack(blob)[1]["rows"].astype(np.int64)
        else:
            raise ParameterError(f"a row set needs 'packed', 'bits' or 'url', got keys {sorted(spec)}")
    except (ValueError, TypeError) as exc:
        if isinstance(exc, ParameterError):
            raise
        raise ParameterError(f"malformed row set: {exc}") from None
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise ParameterError(f"row set: rows must be in 0..{n - 1}, got up to {rows.max()}")
    return np.unique(rows)
