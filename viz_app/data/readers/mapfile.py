"""Map files: a parquet table written by ``embedding-lens map`` (:mod:`viz_app.export.mapfile`)
holding the vectors together with a finished map, so the app and the CLI open it without
projecting again.

Layout (one row per item):

- ``id``, ``label``, the set's metadata columns;
- ``vector``: the embedding, a list of float32 (the usual parquet vector column);
- ``map_x``, ``map_y`` (``map_z`` in 3-D): the map coordinates, float32;
- ``cluster`` (int, -1 = noise) and ``cluster_label`` (str), when clusters were computed;
- ``knn`` (list of int32 row numbers, nearest first) and ``knn_distance`` (list of float32), the
  kNN graph in the original space.

The parquet key-value metadata holds :data:`MAP_KEY` (a JSON description: which columns, the kNN
``k`` and metric, cluster settings, trust figures) and :data:`SETTINGS_KEY` (the settings record
of :func:`viz_app.export.settings.settings_for`: reducer, parameters, seed, fingerprint,
versions). This module only recognises and unpacks them; it never runs a reducer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from viz_app.errors import DataFormatError

__all__ = ["COORD_COLUMNS", "GRAPH_COLUMNS", "MAP_KEY", "SETTINGS_KEY", "StoredMap", "is_map_schema", "stored_map"]

MAP_KEY = b"embedding_lens.map"
SETTINGS_KEY = b"embedding_lens.settings"
COORD_COLUMNS = ("map_x", "map_y", "map_z")
#: Columns of the kNN graph: list columns, never metadata nor vectors.
GRAPH_COLUMNS = ("knn", "knn_distance")
_MAX_JSON = 1 << 20


@dataclass(frozen=True, eq=False)
class StoredMap:
    """A finished map read from a map file.

    Attributes
    ----------
    coords : ndarray of shape (n_samples, 2 or 3), dtype float32
    settings : dict
        The settings record (not yet validated; :func:`viz_app.export.settings.validate_settings`).
    info : dict
        The map description (:data:`MAP_KEY`): ``coords``, ``knn``, ``clusters``, ``trust``, ...
    knn : ndarray of shape (n_samples, k), dtype int32, or None
        Row numbers of each row's nearest neighbours in the original space, nearest first.
    knn_distance : ndarray of shape (n_samples, k), dtype float32, or None
    """

    coords: NDArray[np.float32]
    settings: dict[str, Any]
    info: dict[str, Any]
    knn: NDArray[np.int32] | None = field(default=None, repr=False)
    knn_distance: NDArray[np.float32] | None = field(default=None, repr=False)


def is_map_schema(metadata: dict[bytes, bytes] | None) -> bool:
    """True when a parquet schema's key-value metadata marks a map file."""
    return bool(metadata) and MAP_KEY in metadata  # type: ignore[operator]


def _json(metadata: dict[bytes, bytes], key: bytes, file: str) -> dict[str, Any]:
    raw = metadata.get(key)
    if raw is None or len(raw) > _MAX_JSON:
        raise DataFormatError(f"map file without a readable {key.decode()} entry", file=file)
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataFormatError(f"{key.decode()} is not JSON ({exc})", file=file) from None
    if not isinstance(value, dict):
        raise DataFormatError(f"{key.decode()} is not a JSON object", file=file)
    return value


def _graph(table: Any, name: str, n: int, dtype: type, file: str) -> np.ndarray | None:
    """A list column as an (n, k) array (None if absent); every row must have k entries."""
    if name not in table.column_names:
        return None
    col = table.column(name).combine_chunks()
    flat: np.ndarray = np.asarray(col.flatten().to_numpy(zero_copy_only=False), dtype=dtype)
    if n == 0 or len(flat) % n or col.null_count:
        raise DataFormatError(f"column {name!r} must hold the same number of entries on every row", file=file)
    return flat.reshape(n, len(flat) // n)


def stored_map(table: Any, *, file: str) -> StoredMap:
    """Unpack the map of a map file's pyarrow ``Table`` (see the module docstring).

    Raises
    ------
    DataFormatError
        Metadata missing or not JSON, coordinate columns missing or not finite, kNN rows of
        unequal length or pointing outside the table.
    """
    md = table.schema.metadata or {}
    info, settings = _json(md, MAP_KEY, file), _json(md, SETTINGS_KEY, file)
    cols = info.get("coords")
    if not isinstance(cols, list) or not 2 <= len(cols) <= 3 or any(c not in table.column_names for c in cols):
        raise DataFormatError(f"map file: coordinate columns {cols!r} are missing", file=file)
    coords = np.column_stack([np.asarray(table.column(c).to_numpy(), dtype=np.float32) for c in cols])
    if not np.isfinite(coords).all():
        raise DataFormatError("map file: coordinates must be finite numbers", file=file)
    n = table.num_rows
    knn = _graph(table, "knn", n, np.int32, file)
    if knn is not None and knn.size and (knn.min() < 0 or knn.max() >= n):
        raise DataFormatError(f"map file: column 'knn' holds row numbers outside 0..{n - 1}", file=file)
    dist = _graph(table, "knn_distance", n, np.float32, file)
    return StoredMap(coords, settings, info, knn, dist)
