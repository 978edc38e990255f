"""The live map's data files: positions, colours, labels and kNN graph as compact binary blobs.

A map crosses to the browser once, as three files fetched by URL (see
:mod:`viz_app.ui.map.server`), each named by its content hash:

- **points**: normalised ``float32`` positions ``(n, 2|3)``, colours (category codes ``uint8``/
  ``uint16`` plus a palette, or ``uint8`` RGBA, or one constant colour), optional sizes
  (``uint8``, 32 = 1x), the legend (categories with colours and counts, or a colour bar) and
  the normalisation (``data = normalised * scale + center``);
- **labels**: UTF-8 texts, cut to ``max_label_chars`` (the full text stays on the server and
  reaches the page only in the hover tooltip), as ``uint32`` offsets ``(n + 1,)`` + bytes;
- **knn**: the original-space kNN graph, ``uint32`` ``(n, k)``, ``k <= 50``, for ``n <= 200,000``.

Every file is one container: ``b"ELM1"``, a ``uint32`` little-endian header length, a UTF-8 JSON
header naming each section's offset, dtype and shape, then the sections, each 8-byte aligned,
so the page views them as typed arrays without copying (``frontend/src/blob.ts`` reads it).

Colours and legends: :mod:`viz_app.map.colors`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from viz_app.errors import DataFormatError, ParameterError
from viz_app.map.colors import MAX_LABEL_CHARS, clean_label, encode_colors

__all__ = [
    "MAX_KNN_K",
    "MAX_KNN_POINTS",
    "EncodedMap",
    "encode_map",
    "normalise",
    "pack",
    "unpack",
]

MAGIC = b"ELM1"
VERSION = 1
#: The kNN graph is shipped for sets up to this many points; above, the page asks the server.
MAX_KNN_POINTS = 200_000
MAX_KNN_K = 50
_DTYPES = {"float32": np.float32, "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32}


def _align8(n: int) -> int:
    return -(-n // 8) * 8


def pack(kind: str, sections: Mapping[str, NDArray], **header: Any) -> bytes:
    """One container: magic, header length, JSON header, then 8-byte aligned sections.

    Parameters
    ----------
    kind : str
        ``"points"``, ``"labels"``, ``"knn"`` or ``"rows"``.
    sections : mapping of str to ndarray
        C-contiguous arrays of dtype float32, uint8, uint16 or uint32 (little-endian).
    **header
        Extra JSON-serialisable header fields.
    """
    arrays, rel, size = {}, {}, 0
    for name, a in sections.items():
        a = np.ascontiguousarray(a)
        if not any(a.dtype == v for v in _DTYPES.values()):
            raise ParameterError(f"section {name!r}: dtype {a.dtype} not in {sorted(_DTYPES)}")
        arrays[name], rel[name] = a.astype(a.dtype.newbyteorder("<"), copy=False), size
        size += _align8(a.nbytes)
    names = {name: next(k for k, v in _DTYPES.items() if a.dtype == v) for name, a in arrays.items()}
    start = 0
    while True:  # offsets are absolute, so they depend on the (JSON) header's own length
        specs = {n: {"offset": start + rel[n], "dtype": names[n], "shape": list(a.shape)} for n, a in arrays.items()}
        raw = json.dumps(
            {"format": "lens-map", "version": VERSION, "kind": kind, **header, "sections": specs},
            separators=(",", ":"),
            allow_nan=False,
        ).encode()
        if _align8(8 + len(raw)) == start:
            break
        start = _align8(8 + len(raw))
    out = bytearray(start + size)
    out[:4], out[4:8], out[8 : 8 + len(raw)] = MAGIC, len(raw).to_bytes(4, "little"), raw
    for n, a in arrays.items():
        out[start + rel[n] : start + rel[n] + a.nbytes] = a.tobytes()
    return bytes(out)


def unpack(blob: bytes) -> tuple[dict[str, Any], dict[str, NDArray]]:
    """Inverse of :func:`pack`: ``(header, {name: read-only array})``.

    Raises
    ------
    DataFormatError
        Not a container, or a section reaching past the end.
    """
    if len(blob) < 8 or blob[:4] != MAGIC:
        raise DataFormatError("not a lens-map file (bad magic)")
    hlen = int.from_bytes(blob[4:8], "little")
    if 8 + hlen > len(blob):
        raise DataFormatError("lens-map file truncated in its header")
    head = json.loads(blob[8 : 8 + hlen])
    out = {}
    for name, s in head["sections"].items():
        dt = np.dtype(_DTYPES[s["dtype"]]).newbyteorder("<")
        count = int(np.prod(s["shape"], dtype=np.int64))
        if s["offset"] + count * dt.itemsize > len(blob):
            raise DataFormatError(f"lens-map section {name!r} truncated")
        out[name] = np.frombuffer(blob, dtype=dt, count=count, offset=s["offset"]).reshape(s["shape"])
    return head, out


def normalise(positions: NDArray[np.floating]) -> tuple[NDArray[np.float32], NDArray[np.float64], float]:
    """Centre positions on their bounding box and scale the largest half-extent to 1.

    Parameters
    ----------
    positions : array-like of shape (n, 2) or (n, 3)
        Map coordinates (a projection's ``coords``); finite.

    Returns
    -------
    normalised : ndarray of shape (n, d), dtype float32
        In [-1, 1] on every axis; the aspect ratio is kept (one scale for all axes).
    center : ndarray of shape (d,), dtype float64
    scale : float
        ``positions = normalised * scale + center`` (up to float32 rounding). 1.0 for a
        single position.

    Raises
    ------
    ParameterError
        Not 2-D with 2 or 3 columns, empty, or not finite (the first bad row is named).
    """
    p = np.asarray(positions, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] not in (2, 3) or p.shape[0] < 1:
        raise ParameterError(f"positions must have shape (n, 2) or (n, 3) with n >= 1, got {p.shape}")
    finite = np.isfinite(p).all(axis=1)
    if not finite.all():
        raise ParameterError(f"positions must be finite; row {int(np.argmin(finite))} is {p[np.argmin(finite)]}")
    lo, hi = p.min(axis=0), p.max(axis=0)
    center = (lo + hi) / 2
    half = float((hi - lo).max()) / 2
    scale = half if half > 0 else 1.0
    return ((p - center) / scale).astype(np.float32), center, scale


def _digest(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@dataclass(frozen=True, eq=False)
class EncodedMap:
    """The files of one map, ready to be served, and what the view needs to address them.

    Attributes
    ----------
    n, dims : int
        Points and dimensions (2 or 3).
    center : tuple of float, length dims
    scale : float
        ``data = normalised * scale + center``.
    knn_k : int
        Neighbours per row in the ``"knn"`` blob; 0 without one.
    blobs : mapping of str to bytes
        ``"points"``, ``"labels"`` (if labels were given), ``"knn"`` (if a graph was given).
    digests : mapping of str to str
        SHA-256 (hex) of each blob.
    key : str
        SHA-256 of the digests: the identity of the whole map.
    legend : dict or None
        As in :func:`encode_colors`.
    extent : tuple of (lo, hi) per dimension
        The normalised positions' range on each axis (as in the points file's header).
    """

    n: int
    dims: int
    center: tuple[float, ...]
    scale: float
    knn_k: int
    blobs: Mapping[str, bytes]
    digests: Mapping[str, str]
    key: str
    legend: dict | None = field(default=None)
    extent: tuple[tuple[float, float], ...] = field(default=())

    @property
    def nbytes(self) -> int:
        """Total size of the blobs, bytes."""
        return sum(len(b) for b in self.blobs.values())

    def to_normalised(self, position: Any) -> list[float]:
        """A data-space position (length ``dims``) in the page's normalised coordinates."""
        p = np.asarray(position, dtype=np.float64).ravel()
        if p.shape != (self.dims,) or not np.isfinite(p).all():
            raise ParameterError(
                f"a position on this {self.dims}-D map needs {self.dims} finite numbers, got {position!r}"
            )
        return [round(float(x), 7) for x in (p - np.asarray(self.center)) / self.scale]


def _encode_labels(labels: Any, n: int, max_chars: int) -> bytes:
    texts = [clean_label(s, max_chars).encode("utf-8") for s in labels]
    if len(texts) != n:
        raise ParameterError(f"{len(texts)} labels for {n} points")
    offsets = np.zeros(n + 1, dtype=np.uint32)
    np.cumsum([len(t) for t in texts], out=offsets[1:])
    return pack("labels", {"offsets": offsets, "text": np.frombuffer(b"".join(texts), dtype=np.uint8)}, n=n)


def _encode_knn(knn: Any, n: int) -> tuple[bytes, int]:
    g = np.asarray(knn)
    if g.ndim != 2 or g.shape[0] != n or not 1 <= g.shape[1] <= MAX_KNN_K or g.dtype.kind not in "iu":
        raise ParameterError(
            f"the kNN graph must be an integer array of shape ({n}, k), 1 <= k <= {MAX_KNN_K}; got {g.dtype} {g.shape}"
        )
    if n > MAX_KNN_POINTS:
        raise ParameterError(
            f"the kNN graph is shipped for up to {MAX_KNN_POINTS:,} points, not {n:,}: "
            "leave knn=None and the page asks the server"
        )
    if g.size and (g.min() < 0 or g.max() >= n):
        raise ParameterError(f"kNN graph entries must be row indices in 0..{n - 1}, got {g.min()}..{g.max()}")
    return pack("knn", {"indices": g.astype(np.uint32)}, n=n, k=int(g.shape[1])), int(g.shape[1])


def encode_map(
    positions: NDArray[np.floating],
    *,
    labels: Any = None,
    color: Any = None,
    color_title: str | None = None,
    color_scale: str = "auto",
    color_range: tuple[float, float] | None = None,
    sizes: Any = None,
    knn: Any = None,
    max_label_chars: int = MAX_LABEL_CHARS,
) -> EncodedMap:
    """Encode one map's points, labels and kNN graph into the files the page fetches once.

    Parameters
    ----------
    positions : array-like of shape (n, 2) or (n, 3)
        Map coordinates, finite.
    labels : sequence of length n, optional
        Converted with ``str``, put on one line and cut to ``max_label_chars`` characters.
    color : see :func:`encode_colors`
    color_title : str, optional
        Legend title.
    color_scale, color_range : see ``scale`` and ``value_range`` of :func:`encode_colors`
    sizes : array-like of shape (n,), optional
        Size multipliers in [0, 7.9] (1 = the view's point size), kept to 1/32.
    knn : array-like of shape (n, k), integer, optional
        Original-space neighbours of each row, nearest first, without the row itself;
        ``1 <= k <= 50`` and ``n <= 200,000`` (:data:`MAX_KNN_POINTS`).
    max_label_chars : int, default=80

    Returns
    -------
    EncodedMap

    Raises
    ------
    ParameterError
        Positions not finite or of the wrong shape; a column of the wrong length; sizes out of
        range; a bad kNN graph.
    """
    norm, center, scale = normalise(positions)
    n, dims = norm.shape
    col_sections, col_header, legend = encode_colors(
        color, n, title=color_title, scale=color_scale, value_range=color_range
    )
    sections: dict[str, NDArray] = {"positions": norm, **col_sections}
    if sizes is not None:
        s = np.asarray(sizes, dtype=np.float64).ravel()
        if s.shape != (n,) or not np.isfinite(s).all() or s.min() < 0 or s.max() > 7.9:
            raise ParameterError(f"sizes must be {n} finite multipliers in [0, 7.9]")
        sections["sizes"] = np.round(s * 32).astype(np.uint8)
    extent = [[float(norm[:, j].min()), float(norm[:, j].max())] for j in range(dims)]
    blobs = {
        "points": pack(
            "points",
            sections,
            n=n,
            dims=dims,
            center=center.tolist(),
            scale=scale,
            extent=extent,
            color=col_header,
            legend=legend,
        )
    }
    if labels is not None:
        blobs["labels"] = _encode_labels(labels, n, max_label_chars)
    knn_k = 0
    if knn is not None:
        blobs["knn"], knn_k = _encode_knn(knn, n)
    digests = {k: _digest(b) for k, b in blobs.items()}
    key = _digest(json.dumps(digests, sort_keys=True).encode())
    return EncodedMap(
        n=n,
        dims=dims,
        center=tuple(center.tolist()),
        scale=scale,
        knn_k=knn_k,
        blobs=blobs,
        digests=digests,
        key=key,
        legend=legend,
        extent=tuple((lo, hi) for lo, hi in extent),
    )
