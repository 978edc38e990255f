"""From an embedding set and its map coordinates to everything the live map needs.

:func:`prepare_map` encodes the points, labels and colours (:func:`~viz_app.map.encode.encode_map`),
adds the original-space kNN graph for sets up to 200,000 points (:func:`knn_graph`: UMAP's own
graph when the map is a cosine UMAP map fitted on every point and has enough neighbours, else
:func:`viz_app.explore.neighbors.knn_indices`, exact below its threshold and pynndescent above), and
wraps the per-row answers the server gives the page (:class:`RowDetails`: the full label, the
chosen metadata columns and an image thumbnail in the tooltip; one row's neighbours above the
shipped-graph size). The result, :class:`MapData`, is keyed by :func:`map_key` over everything
that defines it, so a cache can share it between sessions that hold the same data.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError, UnknownIdError
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

    Raises
    ------
    UnknownIdError
        A tooltip column not in ``es.metadata``.
    ParameterError
        ``image_shape`` does not match ``n_features``.
    """

    def __init__(self, es: EmbeddingSet, *, tooltip: Sequence[str] = (), image_shape: tuple[int, int] | None = None):
        missing = [c for c in tooltip if c not in es.metadata.columns]
        if missing:
            raise UnknownIdError(
                f"tooltip column(s) {missing} not in the metadata; columns: {list(es.metadata.columns)}"
            )
        if image_shape is not None and (len(image_shape) != 2 or int(np.prod(image_shape)) != es.n_features):
            raise ParameterError(f"image_shape {image_shape} does not give {es.n_features} pixels")
        self.es, self.tooltip, self.image_shape = es, list(tooltip), image_shape
        self.n = es.n_samples
        self._lo = float(es.vectors.min()) if image_shape else 0.0
        self._hi = float(es.vectors.max()) if image_shape else 1.0

    @property
    def nbytes(self) -> int:
        """Memory it keeps alive (the vectors and the tooltip columns), bytes."""
        cols = self.es.metadata[self.tooltip].memory_usage(deep=False).sum() if self.tooltip else 0
        return int(self.es.vectors.nbytes + cols)

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
        """Rows of the ``k`` nearest neighbours of row ``i`` (cosine, original space), nearest first."""
        return [int(r) for r in knn_indices(self.es, [i], k=min(k, self.n - 1))[0]]


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
) -> str:
    """SHA-256 over everything that defines a :class:`MapData`: vectors (fingerprint), ids,
    labels, coordinates, the colour and tooltip columns' contents, ``k`` and ``image_shape``."""
    cols = [c for c in [color_by, *tooltip] if c is not None and c in es.metadata.columns]
    meta = pd.util.hash_pandas_object(es.metadata[cols], index=False).to_numpy().tobytes() if cols else b""
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
    )


def knn_graph(es: EmbeddingSet, k: int, *, projection: Projection | None = None) -> NDArray[np.uint32]:
    """The cosine kNN graph of ``es`` in the original space, ``(n, k) uint32``, nearest first.

    Reuses UMAP's graph (``umap.UMAP._knn_indices``, built by pynndescent or exactly below
    4,096 points) when ``projection`` is a UMAP map with the cosine metric fitted on every point
    with ``n_neighbors > k``; otherwise :func:`viz_app.explore.neighbors.knn_indices` over all rows.

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
    p = projection.params if projection is not None else None
    model = getattr(projection, "model", None)
    own = getattr(model, "_knn_indices", None)
    if (
        p is not None
        and p.reducer == "umap"
        and p.metric == "cosine"
        and p.fit_sample is None
        and own is not None
        and own.shape == (n, own.shape[1])
        and own.shape[1] > k
    ):
        g = np.asarray(own)
        return np.ascontiguousarray(g[:, 1 : k + 1] if (g[:, 0] == np.arange(n)).all() else g[:, :k], dtype=np.uint32)
    return knn_indices(es, np.arange(n), k=k).astype(np.uint32)


def prepare_map(
    es: EmbeddingSet,
    coords: NDArray[np.floating] | Projection,
    *,
    color_by: str | None = None,
    tooltip: Sequence[str] = (),
    k: int = 20,
    image_shape: tuple[int, int] | None = None,
) -> MapData:
    """Everything the live map needs for ``es`` drawn at ``coords``.

    Parameters
    ----------
    es : EmbeddingSet
    coords : ndarray of shape (n_samples, 2|3) or Projection
        Map positions (a Projection also lends its UMAP graph to :func:`knn_graph`).
    color_by : str, optional
        Metadata column colouring the points (categorical or continuous).
    tooltip : sequence of str
        Metadata columns shown on hover.
    k : int, default=20
        Neighbours per row in the shipped kNN graph (0: none; above 200,000 points none is
        shipped and the page asks the server).
    image_shape : (height, width), optional
        Draw each vector as a grey-level thumbnail in the tooltip.

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
    if color_by is not None and color_by not in es.metadata.columns:
        raise UnknownIdError(f"colour column {color_by!r} not in the metadata; columns: {list(es.metadata.columns)}")
    details = RowDetails(es, tooltip=tooltip, image_shape=image_shape)
    graph = knn_graph(es, k, projection=proj) if k and es.n_samples <= MAX_KNN_POINTS else None
    color = es.metadata[color_by] if color_by is not None else None
    encoded = encode_map(xy, labels=es.labels, color=color, color_title=color_by, knn=graph)
    key = map_key(es, xy, color_by=color_by, tooltip=tooltip, k=k, image_shape=image_shape)
    return MapData(encoded=encoded, ids=es.ids, details=details, key=key)
