"""From an embedding set and its map coordinates to everything the live map needs.

:func:`prepare_map` encodes the points, labels and colours (:func:`~viz_app.map.encode.encode_map`),
adds the original-space kNN graph for sets up to 200,000 points (:func:`knn_graph`, i.e.
:func:`viz_app.explore.graph.neighbor_graph`: UMAP's own graph when the map is a cosine UMAP map
fitted on every point, else exact up to 20,000 points and pynndescent above, cached), and
wraps the per-row answers the server gives the page (:class:`RowDetails`: the full label, the
chosen metadata columns and an image thumbnail in the tooltip; one row's neighbours above the
shipped-graph size; :meth:`MapData.neighbors`, the table that lists the same rows as the page
highlights). The result, :class:`MapData`, is keyed by :func:`map_key` over everything
that defines it, so a cache can share it between sessions that hold the same data.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from cachetools import LRUCache
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError, UnknownIdError
from viz_app.explore.graph import neighbor_graph
from viz_app.explore.neighbors import knn_indices
from viz_app.map.colors import clean_label
from viz_app.map.encode import MAX_KNN_K, MAX_KNN_POINTS, EncodedMap, encode_map
from viz_app.reduce import Projection

__all__ = ["MapData", "RowDetails", "knn_graph", "map_key", "prepare_map"]

MAX_TOOLTIP_CHARS = 1000


class RowDetails:
    """What the server tells the page about one row: tooltip details and neighbours.

    Parameters
    ----------
    es : EmbeddingSet
        Referenced, not copied.
    tooltip : sequence of str
        Metadata columns shown in the tooltip, in this order.
    image_shape : (height, width) or None
        For image data (e.g. 8x8 digits): each vector reshaped to this grey-level image is
        drawn in the tooltip. ``height * width`` must equal ``n_features``.
    graph : ndarray of shape (n_samples, k), uint32, optional
        The kNN graph shipped to the page: :meth:`neighbors` answers from it (up to ``k``), so
        the server's table and the page's highlight are the same rows.

    Raises
    ------
    UnknownIdError
        A tooltip column not in ``es.metadata``.
    ParameterError
        ``image_shape`` does not match ``n_features``.
    """

    def __init__(
        self,
        es: EmbeddingSet,
        *,
        tooltip: Sequence[str] = (),
        image_shape: tuple[int, int] | None = None,
        graph: NDArray[np.uint32] | None = None,
    ):
        missing = [c for c in tooltip if c not in es.metadata.columns]
        if missing:
            raise UnknownIdError(
                f"tooltip column(s) {missing} not in the metadata; columns: {list(es.metadata.columns)}"
            )
        if image_shape is not None and (len(image_shape) != 2 or int(np.prod(image_shape)) != es.n_features):
            raise ParameterError(f"image_shape {image_shape} does not give {es.n_features} pixels")
        self.es, self.tooltip, self.image_shape, self.graph = es, list(tooltip), image_shape, graph
        self.n = es.n_samples
        self._recent: LRUCache = LRUCache(maxsize=256)
        self._lock = threading.Lock()
        self._busy: dict[tuple[int, int], threading.Lock] = {}
        self._lo = float(es.vectors.min()) if image_shape else 0.0
        self._hi = float(es.vectors.max()) if image_shape else 1.0

    @property
    def nbytes(self) -> int:
        """Memory it keeps alive (the vectors and the tooltip columns), bytes."""
        cols = self.es.metadata[self.tooltip].memory_usage(deep=False).sum() if self.tooltip else 0
        return int(self.es.vectors.nbytes + cols + (self.graph.nbytes if self.graph is not None else 0))

    def row(self, i: int) -> dict[str, Any]:
        """``{"label", "id", "fields": [[column, text], ...], "image"?: {"w", "h", "data"}}``.

        ``label`` is the item's full text (``es.text_column``) when the set has one, else its
        label, up to 1,000 characters; texts are plain (the page shows them with ``textContent``).
        """
        es = self.es
        text = es.metadata.at[i, es.text_column] if es.text_column in es.metadata.columns else es.labels[i]
        out: dict[str, Any] = {"label": clean_label(text, MAX_TOOLTIP_CHARS), "id": clean_label(es.ids[i], 200)}
        out["fields"] = [[clean_label(c, 60), clean_label(_fmt(es.metadata.at[i, c]), 300)] for c in self.tooltip]
        if self.image_shape is not None:
            v = (es.vectors[i] - self._lo) / ((self._hi - self._lo) or 1.0)
            px = np.clip(np.round(v * 255), 0, 255).astype(np.uint8)
            h, w = self.image_shape
            out["image"] = {"w": int(w), "h": int(h), "data": base64.b64encode(px.tobytes()).decode("ascii")}
        return out

    def neighbors(self, i: int, k: int) -> list[int]:
        """Rows of the ``k`` nearest neighbours of row ``i`` (cosine, original space), nearest first.

        From the shipped graph when it has ``k`` columns (what the page highlights), else an
        exact search (:func:`~viz_app.explore.neighbors.knn_indices`; above 1e8 vector entries its
        pynndescent index), which is also what the page asks for above the shipped-graph size.
        """
        k = min(k, self.n - 1)
        if self.graph is not None and k <= self.graph.shape[1]:
            return [int(r) for r in self.graph[i, :k]]
        with self._lock:  # the page's /knn request and the table's rerun ask for the same row
            hit = self._recent.get((i, k))
            busy = self._busy.setdefault((i, k), threading.Lock())
        if hit is not None:
            return hit
        with busy:  # one search per row at a time; the second caller takes its answer
            with self._lock:
                hit = self._recent.get((i, k))
            if hit is None:
                hit = [int(r) for r in knn_indices(self.es, [i], k=k)[0]]
                with self._lock:
                    self._recent[(i, k)] = hit
                    self._busy.pop((i, k), None)
        return hit

    def table(self, i: int, k: int) -> pd.DataFrame:
        """The neighbour table of row ``i``: the rows of :meth:`neighbors` with their similarity.

        Returns
        -------
        DataFrame of shape (k, 5)
            ``rank`` (1-based), ``id``, ``label``, ``similarity`` (cosine, float64, exact) and
            ``row``; the same columns as :func:`~viz_app.explore.neighbors.most_similar`.
        """
        rows = np.asarray(self.neighbors(i, k), dtype=np.int64)
        x, q = self.es.vectors[rows].astype(np.float64), self.es.vectors[i].astype(np.float64)
        den = np.linalg.norm(x, axis=1) * np.linalg.norm(q)
        sim = np.divide(x @ q, den, out=np.zeros(len(rows)), where=den > 0)
        return pd.DataFrame(
            {
                "rank": np.arange(1, len(rows) + 1),
                "id": self.es.ids[rows],
                "label": self.es.labels[rows],
                "similarity": sim,
                "row": rows,
            }
        )


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


@dataclass(frozen=True, eq=False)
class MapData:
    """One map, prepared: its encoded files, the ids of its rows and the server's row answers.

    Attributes
    ----------
    encoded : EncodedMap
    ids : ndarray of shape (n,), dtype object
        Row ``i`` of the map is item ``ids[i]`` (clicks and selections map back through these).
    details : RowDetails
    key : str
        :func:`map_key` of the inputs.
    """

    encoded: EncodedMap
    ids: NDArray[np.object_]
    details: RowDetails
    key: str

    @property
    def n(self) -> int:
        return self.encoded.n

    @property
    def dims(self) -> int:
        return self.encoded.dims

    def neighbors(self, row: int, k: int = 10) -> pd.DataFrame:
        """The neighbour table of ``row`` that agrees with the map's highlight (see
        :meth:`RowDetails.table`): list this, not a separate search, next to the map.

        Raises
        ------
        ParameterError
            ``row`` not in 0..n-1 or ``k`` < 1.
        """
        if not 0 <= int(row) < self.n or int(k) < 1:
            raise ParameterError(f"row {row} not in 0..{self.n - 1} or k={k} < 1")
        return self.details.table(int(row), int(k))


def _h(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()


def map_key(
    es: EmbeddingSet,
    coords: NDArray[np.floating],
    *,
    color_by: str | None = None,
    tooltip: Sequence[str] = (),
    k: int = 0,
    image_shape: Any = None,
    color_scale: str = "auto",
    color_range: tuple[float, float] | None = None,
    color: pd.Series | None = None,
) -> str:
    """SHA-256 over everything that defines a :class:`MapData`: vectors (fingerprint), ids,
    labels, coordinates, the colour (``color``'s values, else the ``color_by`` column) and
    tooltip columns' contents and colour scale, ``k`` and ``image_shape``."""
    named = [None if color is not None else color_by, *tooltip]
    cols = [c for c in named if c is not None and c in es.metadata.columns]
    meta = pd.util.hash_pandas_object(es.metadata[cols], index=False).to_numpy().tobytes() if cols else b""
    if color is not None:
        meta += b"color" + pd.util.hash_pandas_object(pd.Series(color), index=False).to_numpy().tobytes()
        meta += str(getattr(pd.Series(color), "dtype", "")).encode()
    c = np.ascontiguousarray(coords, dtype=np.float32)
    return _h(
        es.fingerprint,
        "\x1f".join(es.ids),
        "\x1f".join(es.labels),
        c.shape,
        c.tobytes(),
        color_by,
        tuple(tooltip),
        meta,
        k,
        image_shape,
        color_scale,
        None if color_range is None else tuple(map(float, color_range)),
    )


def knn_graph(es: EmbeddingSet, k: int, *, projection: Projection | None = None) -> NDArray[np.uint32]:
    """The cosine kNN graph of ``es`` in the original space, ``(n, k) uint32``, nearest first.

    :func:`viz_app.explore.graph.neighbor_graph`: exact up to 20,000 points, NN-descent
    (pynndescent) above, UMAP's own graph when ``projection`` is a cosine UMAP map fitted on
    every point; cached per content.

    Raises
    ------
    ParameterError
        ``k`` not in 1..min(50, n - 1), or more than 200,000 points.
    """
    n = es.n_samples
    if not 1 <= k <= min(MAX_KNN_K, n - 1):
        raise ParameterError(f"k={k} not in 1..{min(MAX_KNN_K, n - 1)}")
    if n > MAX_KNN_POINTS:
        raise ParameterError(f"the kNN graph is shipped for up to {MAX_KNN_POINTS:,} points, not {n:,}")
    return neighbor_graph(es, k, projection=projection)


def prepare_map(
    es: EmbeddingSet,
    coords: NDArray[np.floating] | Projection,
    *,
    color_by: str | None = None,
    tooltip: Sequence[str] = (),
    k: int = 20,
    image_shape: tuple[int, int] | None = None,
    color_scale: str = "auto",
    color_range: tuple[float, float] | None = None,
    color: pd.Series | None = None,
) -> MapData:
    """Everything the live map needs for ``es`` drawn at ``coords``.

    Parameters
    ----------
    es : EmbeddingSet
    coords : ndarray of shape (n_samples, 2|3) or Projection
        Map positions (a Projection also lends its UMAP graph to :func:`knn_graph`).
    color_by : str, optional
        Metadata column colouring the points (categorical or continuous).
    color_scale : {"auto", "continuous"}, default="auto"
        ``"continuous"`` forces the colour bar for a numeric ``color_by`` with few distinct values.
    color_range : (low, high), optional
        Ends of the colour bar (default: the column's minimum and maximum).
    tooltip : sequence of str
        Metadata columns shown on hover.
    k : int, default=20
        Neighbours per row in the shipped kNN graph (0: none; above 200,000 points none is
        shipped and the page asks the server).
    image_shape : (height, width), optional
        Draw each vector as a grey-level thumbnail in the tooltip.
    color : pandas.Series of length n_samples, optional
        Values colouring the points instead of the ``color_by`` column (e.g. cluster names);
        ``color_by`` is then only the legend's title.

    Returns
    -------
    MapData

    Raises
    ------
    UnknownIdError
        ``color_by`` or a tooltip column not in the metadata.
    ParameterError
        ``coords`` not of shape (n_samples, 2|3); ``k`` out of range.
    """
    proj = coords if isinstance(coords, Projection) else None
    xy = np.asarray(proj.coords if proj is not None else coords)
    if xy.ndim != 2 or xy.shape[0] != es.n_samples:
        raise ParameterError(f"coords of shape {xy.shape} for {es.n_samples} items")
    if color is not None and len(color) != es.n_samples:
        raise ParameterError(f"{len(color)} colour values for {es.n_samples} items")
    if color is None and color_by is not None and color_by not in es.metadata.columns:
        raise UnknownIdError(f"colour column {color_by!r} not in the metadata; columns: {list(es.metadata.columns)}")
    graph = knn_graph(es, k, projection=proj) if k and es.n_samples <= MAX_KNN_POINTS else None
    details = RowDetails(es, tooltip=tooltip, image_shape=image_shape, graph=graph)
    values = color if color is not None else (es.metadata[color_by] if color_by is not None else None)
    if values is not None:
        values = pd.Series(values).reset_index(drop=True)
    encoded = encode_map(
        xy,
        labels=es.labels,
        color=values,
        color_title=color_by,
        color_scale=color_scale,
        color_range=color_range,
        knn=graph,
    )
    key = map_key(
        es,
        xy,
        color_by=color_by,
        tooltip=tooltip,
        k=k,
        image_shape=image_shape,
        color_scale=color_scale,
        color_range=color_range,
        color=color,
    )
    return MapData(encoded=encoded, ids=es.ids, details=details, key=key)
