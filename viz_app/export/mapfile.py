"""Map files (``embedding-lens map``): compute a finished map once, in a batch job, and open it
in the app or the CLI without projecting again. The file layout is described in
:mod:`viz_app.data.readers.mapfile`; this module builds and writes it (:func:`build_map`,
:func:`write_map`) and reads it back as a set plus its projection (:func:`load_map`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.data.io import part_name, read, to_embedding_set
from viz_app.data.model import EmbeddingSet
from viz_app.data.readers.mapfile import COORD_COLUMNS, MAP_KEY, SETTINGS_KEY
from viz_app.errors import DataFormatError, ParameterError
from viz_app.explore.clusters import cluster, cluster_table
from viz_app.explore.engine import LocalEngine
from viz_app.explore.trust import DEFAULT_K as TRUST_K
from viz_app.explore.trust import trust_metrics
from viz_app.export.settings import check_fingerprint, params_from_settings, settings_for, validate_settings
from viz_app.progress import Progress, null_progress, scaled
from viz_app.reduce.project import Projection
from viz_app.reduce.registry import ProjectionParams

__all__ = [
    "MAP_VERSION",
    "MapResult",
    "build_map",
    "load_map",
    "map_key_value",
    "map_table",
    "part_folder",
    "write_map",
    "write_table",
]

MAP_VERSION = 1
_RESERVED = ("id", "label", "vector", *COORD_COLUMNS, "cluster", "cluster_label", "knn", "knn_distance")


@dataclass(frozen=True, eq=False)
class MapResult:
    """A finished map: the set, its projection and what was computed around it.

    Attributes
    ----------
    es : EmbeddingSet
    projection : Projection
    knn : ndarray of shape (n_samples, k), dtype int32, or None
        Row numbers of each row's nearest neighbours (original space), nearest first.
    knn_distance : ndarray of shape (n_samples, k), dtype float32, or None
    clusters : ndarray of shape (n_samples,), dtype int64, or None
        Cluster number per row (-1 = noise), numbered by decreasing size.
    cluster_labels : dict of int to str
        A label per cluster (:func:`viz_app.explore.clusters.cluster_table`).
    info : dict
        The description stored in the file (kNN settings, clusters, trust figures, engine).
    settings : dict
        The settings record (:func:`viz_app.export.settings.settings_for`).
    """

    es: EmbeddingSet
    projection: Projection
    knn: NDArray[np.int32] | None = None
    knn_distance: NDArray[np.float32] | None = None
    clusters: NDArray[np.int64] | None = None
    cluster_labels: dict[int, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def cluster_names(self) -> NDArray[np.object_] | None:
        """The cluster label of every row (``"noise"`` for -1), or None without clusters."""
        if self.clusters is None:
            return None
        return np.array([self.cluster_labels.get(int(c), "noise") for c in self.clusters], dtype=object)


def build_map(
    es: EmbeddingSet,
    params: ProjectionParams,
    *,
    k: int = 15,
    n_clusters: int | None = None,
    engine: Any = None,
    progress: Progress | None = None,
    dataset_ref: Any = None,
) -> MapResult:
    """Project ``es``, build its kNN graph, optionally cluster it and measure trust.

    Parameters
    ----------
    es : EmbeddingSet
    params : ProjectionParams
        From :func:`viz_app.reduce.registry.make_params` (``fit_sample`` fits on a seeded sample
        and places the rest with the reducer's ``transform``).
    k : int, default=15
        Neighbours per row in the kNN graph (cosine, or euclidean for a euclidean map).
    n_clusters : int, optional
        KMeans clusters of the map coordinates (contiguous regions, as datamapplot draws them; seed
        ``params.random_state``), labelled from the original space by
        :func:`viz_app.explore.clusters.cluster_table`; None: no clusters.
    engine : LocalEngine or DaskEngine, optional
        Where the projection and the graph run; default in this process.
    progress : callable(fraction, text), optional

    Returns
    -------
    MapResult
        ``info["trust"]`` holds the map's trust summary
        (:meth:`viz_app.explore.trust.TrustReport.summary`: trustworthiness and continuity,
        Venna & Kaski 2006, preservation@10, Lee & Verleysen 2009, and chance, at k=10, from
        this kNN graph), empty for fewer than 22 points or a graph of fewer than 10 neighbours.

    Raises
    ------
    ParameterError, PointBudgetError
        Bad ``k``/``n_clusters`` or a reducer budget exceeded.
    """
    engine = engine or LocalEngine()
    report = progress or null_progress
    metric = "euclidean" if params.spec.uses_metric and params.metric == "euclidean" else "cosine"
    proj = engine.project(es.vectors, params, fingerprint=es.fingerprint, progress=scaled(report, 0.0, 0.7, ""))
    report(0.7, f"kNN graph (k={k}, {metric})")
    knn, dist = engine.knn(
        es, k=k, metric=metric, projection=proj, random_state=params.random_state, progress=scaled(report, 0.7, 0.85)
    )
    labels_, names, cinfo = None, {}, None
    if n_clusters is not None:
        report(0.85, f"KMeans, {n_clusters} clusters")
        seed = params.random_state
        c = cluster(es, method="kmeans", k=n_clusters, space="projection", coords=proj, random_state=seed)
        table = cluster_table(es, c)
        labels_, names = c.labels_, {int(r.cluster): str(r.label) for r in table.itertuples()}
        cinfo = {"method": "kmeans", "k": n_clusters, "space": "projection", "random_state": params.random_state}
    report(0.95, "trust metrics")
    trust: dict[str, Any] = {}
    if es.n_samples >= 2 * TRUST_K + 2 and knn.shape[1] >= TRUST_K:
        trust = trust_metrics(
            es.vectors,
            proj.coords,
            knn,
            k=TRUST_K,
            metric=metric,
            random_state=params.random_state,
            graph_source=f"kNN graph (k={k})",
        ).summary()
    info = {
        "version": MAP_VERSION,
        "coords": list(COORD_COLUMNS[: params.n_components]),
        "knn": {"k": k, "metric": metric},
        "clusters": cinfo,
        "trust": trust,
        "quality": {key: float(v) for key, v in proj.quality.items()},
        "elapsed_s": proj.elapsed_s,
        "engine": engine.name,
        "name": es.name,
        "model_name": es.model_name,
        "text_column": es.text_column,
    }
    settings = settings_for(es, proj, dataset_ref=dataset_ref)
    report(1.0, "done")
    return MapResult(es, proj, knn, dist, labels_, names, info, settings)


def _table(m: MapResult) -> Any:
    return map_table(
        m.es,
        m.projection.coords,
        knn=m.knn,
        knn_distance=m.knn_distance,
        clusters=m.clusters,
        cluster_names=m.cluster_names,
        key_value=map_key_value(m.info, m.settings),
    )


def map_key_value(info: dict[str, Any], settings: dict[str, Any]) -> dict[bytes, bytes]:
    """The parquet key-value metadata of a map file: the map description and the settings record."""
    return {MAP_KEY: json.dumps(info).encode(), SETTINGS_KEY: json.dumps(settings).encode()}


def map_table(
    es: EmbeddingSet,
    coords: NDArray[np.float32],
    *,
    knn: NDArray[np.integer] | None,
    knn_distance: NDArray[np.floating] | None,
    clusters: NDArray[np.int64] | None = None,
    cluster_names: NDArray[np.object_] | None = None,
    key_value: dict[bytes, bytes],
) -> Any:
    """The rows of a map file as a pyarrow ``Table`` (layout: :mod:`viz_app.data.readers.mapfile`):
    ``id``, ``label``, metadata, ``vector``, coordinates, clusters, ``knn``, ``knn_distance``.
    Also used for one part of a partitioned map (``es`` is then that part's rows, with the
    whole set's ids; ``knn`` holds row numbers of the whole set).

    Parameters
    ----------
    es : EmbeddingSet
        n rows.
    coords : ndarray of shape (n, 2|3), dtype float32
    knn : ndarray of shape (n, k), integer, or None
    knn_distance : ndarray of shape (n, k), float, or None
    clusters, cluster_names : ndarray of shape (n,), or None
    key_value : dict of bytes to bytes
        The schema's key-value metadata (:func:`map_key_value`).
    """
    import pyarrow as pa

    cols: dict[str, Any] = {"id": pa.array(es.ids.astype(str)), "label": pa.array(es.labels.astype(str))}
    for name in es.metadata.columns:
        if str(name) not in _RESERVED:
            cols[str(name)] = pa.array(es.metadata[name].to_numpy(), from_pandas=True)
    d = es.n_features
    cols["vector"] = pa.FixedSizeListArray.from_arrays(pa.array(es.vectors.reshape(-1)), d)
    for j in range(coords.shape[1]):
        cols[COORD_COLUMNS[j]] = pa.array(np.ascontiguousarray(coords[:, j], dtype=np.float32))
    if clusters is not None and cluster_names is not None:
        cols["cluster"] = pa.array(clusters.astype(np.int32))
        cols["cluster_label"] = pa.array(cluster_names.astype(str))
    for name, arr, dtype in (("knn", knn, np.int32), ("knn_distance", knn_distance, np.float32)):
        if arr is not None:
            flat = np.ascontiguousarray(arr, dtype=dtype).reshape(-1)
            cols[name] = pa.FixedSizeListArray.from_arrays(pa.array(flat), arr.shape[1])
    return pa.table(cols).replace_schema_metadata(key_value)


def write_map(m: MapResult, path: str | os.PathLike[str], *, rows_per_part: int | None = None) -> Path:
    """Write ``m`` as a map file (parquet, zstd; see :mod:`viz_app.data.readers.mapfile`).

    With ``rows_per_part``, ``path`` becomes a folder of part files of at most that many rows
    (partitioned parquet, :func:`write_table`), each carrying the same key-value metadata;
    :func:`viz_app.load`, :func:`load_map`, the app and the CLI read the folder as one map.
    Returns the path.
    """
    return write_table(_table(m), path, rows_per_part=rows_per_part)


def write_table(table: Any, path: str | os.PathLike[str], *, rows_per_part: int | None = None) -> Path:
    """Write a pyarrow ``Table`` as one parquet file (zstd) or, with ``rows_per_part``, as a
    folder of part files ``part-00000.parquet``, ... of at most ``rows_per_part`` rows each, in
    row order, each with the table's key-value metadata.

    Written next to ``path`` and renamed into place, so a reader never sees half a file or
    folder. An existing file at ``path`` is replaced; an existing folder only when it holds
    nothing but ``part-*.parquet`` files (a folder written here).

    Raises
    ------
    ParameterError
        ``rows_per_part`` < 1, or ``path`` is a folder that holds other files.
    """

    import pyarrow.parquet as pq

    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    if rows_per_part is None:
        pq.write_table(table, tmp, compression="zstd")
        if path.is_dir():
            _remove_parts(path)
        os.replace(tmp, path)
        return path
    if rows_per_part < 1:
        raise ParameterError(f"rows_per_part must be >= 1, got {rows_per_part}")
    with part_folder(path) as tmp:
        n = max(table.num_rows, 1)
        for j, start in enumerate(range(0, n, rows_per_part)):
            pq.write_table(table.slice(start, rows_per_part), tmp / part_name(j), compression="zstd")
    return path


@contextlib.contextmanager
def part_folder(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A fresh folder next to ``path`` (``path.part``) to write part files into (named by
    :func:`part_name`, by this process or by Dask workers sharing its file system); renamed to
    ``path`` when the block ends, replacing a file or a folder of parts there; removed if the
    block raises. So a reader never sees half a folder.

    Raises
    ------
    ParameterError
        ``path`` is a folder that holds other files than ``part-*.parquet`` (checked first).
    """
    import shutil

    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    if path.is_dir():
        _check_parts(path)
    if tmp.exists():
        shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.is_dir():
        _remove_parts(path)
    elif path.exists():
        path.unlink()
    os.replace(tmp, path)


def _check_parts(folder: Path) -> None:
    others = [p.name for p in folder.iterdir() if not (p.name.startswith("part-") and p.suffix == ".parquet")]
    if others:
        raise ParameterError(f"{str(folder)!r} is a folder holding other files ({others[0]}); not overwritten")


def _remove_parts(folder: Path) -> None:
    _check_parts(folder)
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()


def map_result(es: EmbeddingSet, raw_map: Any, *, file: str) -> MapResult:
    """The :class:`MapResult` of a map file's set and its :class:`StoredMap` (no reducer runs).

    Raises
    ------
    DataFormatError
        Invalid settings record, or the vectors are not those the map was computed from.
    """
    settings = validate_settings(raw_map.settings, file=file)
    try:
        check_fingerprint(es, settings)
        params = params_from_settings(settings)
    except (ParameterError, ValueError) as exc:
        raise DataFormatError(f"map file: {exc}", file=file) from None
    info = raw_map.info
    proj = Projection(raw_map.coords, params, es.fingerprint, info.get("quality") or {}, info.get("elapsed_s") or 0.0)
    clusters, names = None, {}
    if "cluster" in es.metadata.columns and "cluster_label" in es.metadata.columns:
        clusters = es.metadata["cluster"].to_numpy(dtype=np.int64)
        pairs = pd.DataFrame({"c": clusters, "l": es.metadata["cluster_label"].astype(str)}).drop_duplicates("c")
        names = {int(c): str(lab) for c, lab in zip(pairs["c"], pairs["l"])}
    return MapResult(es, proj, raw_map.knn, raw_map.knn_distance, clusters, names, info, settings)


def load_map(path: str | os.PathLike[str]) -> MapResult:
    """Open a map file: the set (as :func:`viz_app.load` gives it) and its stored projection.

    Raises
    ------
    DataFormatError
        Not a map file (a plain parquet table has no stored map), or a damaged one.
    """
    raw = read(path)
    if raw.stored_map is None:
        raise DataFormatError("not a map file (no stored map); make one with `embedding-lens map`", file=raw.name)
    return map_result(to_embedding_set(raw), raw.stored_map, file=raw.name)
