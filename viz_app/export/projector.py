"""Data exports: the map as a table (CSV, parquet) and the vectors as a TensorFlow Embedding
Projector folder (``tensors.tsv`` + ``metadata.tsv`` + ``projector_config.json``), and reading
such a folder back.

Tables are written with pandas (parquet through pyarrow). CSV cells of text columns and column
names that a spreadsheet would run as a formula (first character ``=``, ``+``, ``-``, ``@``, tab
or carriage return) get a leading single quote, as OWASP recommends against CSV injection;
numeric columns are left as numbers. Records end with CRLF (RFC 4180), so the csv writer quotes
every cell holding a CR or LF and a label with a line break never splits its row. Use parquet for
exact types.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from viz_app.data.io import read, to_embedding_set
from viz_app.data.model import EmbeddingSet
from viz_app.errors import DataFormatError, ParameterError
from viz_app.export.settings import save_settings, sidecar_path
from viz_app.reduce import Projection

__all__ = [
    "TABLE_FORMATS",
    "check_pair",
    "csv_bytes",
    "export_projector",
    "export_table",
    "load_projector",
    "map_table",
    "neutralise_formulas",
    "write_table",
]

TABLE_FORMATS = ("csv", "parquet")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_COORD_NAMES = ("x", "y", "z")


def check_pair(es: EmbeddingSet, projection: Projection) -> None:
    """Raise ``ParameterError`` unless ``projection`` was computed from ``es`` (rows, fingerprint)."""
    if projection.coords.shape[0] != es.n_samples or (
        projection.source_fingerprint and projection.source_fingerprint != es.fingerprint
    ):
        raise ParameterError(f"the projection was not computed from {es.name!r} (different vectors)")


def neutralise_formulas(values: pd.Series) -> pd.Series:
    """Prefix ``'`` to strings that start with ``= + - @``, tab or CR (OWASP CSV injection).

    Parameters
    ----------
    values : Series of length n
        Text (object/string/category) column; other dtypes are returned unchanged.

    Returns
    -------
    Series of length n
        Object dtype for text input; missing values stay missing.
    """
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values
    if not (
        pd.api.types.is_object_dtype(values)
        or pd.api.types.is_string_dtype(values)
        or isinstance(values.dtype, pd.CategoricalDtype)
    ):
        return values
    out = values.astype(object)
    risky = out.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START))
    return out.where(~risky, "'" + out[risky].astype(str))


def csv_bytes(df: pd.DataFrame) -> bytes:
    """``df`` as UTF-8 CSV bytes, safe to open in a spreadsheet: every text cell and every column
    name neutralised (:func:`neutralise_formulas`), records ending in CRLF (RFC 4180) so cells
    holding CR or LF are quoted, no index."""
    safe = df.apply(neutralise_formulas)
    safe.columns = list(neutralise_formulas(pd.Series([str(c) for c in df.columns], dtype=object)))
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def map_table(es: EmbeddingSet, projection: Projection, *, clusters: Sequence[Any] | None = None) -> pd.DataFrame:
    """The map as one row per point: coordinates, id, label, cluster and metadata.

    Returns
    -------
    DataFrame of shape (n_samples, n_components + 2 [+ 1] + n_metadata_columns)
        ``x``, ``y`` [, ``z``] (float32, projection units), ``id``, ``label``, ``cluster`` (when
        given), then the metadata columns; a metadata column whose name is taken gets the
        suffix ``_meta``.

    Raises
    ------
    ParameterError
        ``projection`` was not computed from ``es``, or ``clusters`` has the wrong length.
    """
    check_pair(es, projection)
    cols: dict[str, Any] = dict(zip(_COORD_NAMES, projection.coords.T))
    cols["id"] = es.ids
    cols["label"] = es.labels
    if clusters is not None:
        cl = np.asarray(clusters)
        if cl.shape != (es.n_samples,):
            raise ParameterError(f"clusters has shape {cl.shape}; expected ({es.n_samples},)")
        cols["cluster"] = cl
    df = pd.DataFrame(cols)
    for c in es.metadata.columns:
        name = str(c)
        while name in df.columns:
            name = f"{name}_meta"
        df[name] = es.metadata[c].to_numpy()
    return df


def export_table(
    es: EmbeddingSet,
    projection: Projection,
    path_or_buffer: str | os.PathLike[str] | IO[bytes],
    *,
    clusters: Sequence[Any] | None = None,
    fmt: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Path | None:
    """Write :func:`map_table` as CSV (UTF-8, formulas neutralised) or parquet (pyarrow).

    Parameters
    ----------
    path_or_buffer : path-like or binary file-like
        A file path (format from the suffix: ``.csv``, ``.parquet``/``.pq``) or a buffer such
        as ``io.BytesIO`` for a download button (then ``fmt`` is required).
    clusters : sequence of length n_samples, optional
        Cluster label of each point (e.g. -1 for HDBSCAN noise).
    fmt : {"csv", "parquet"}, optional
        Overrides the suffix.
    settings : mapping, optional
        Written to ``<path>.settings.json`` (paths only).

    Returns
    -------
    Path or None
        The path written, or None for a buffer.

    Raises
    ------
    ParameterError
        Unknown format, or see :func:`map_table`.
    """
    out = write_table(map_table(es, projection, clusters=clusters), path_or_buffer, fmt=fmt)
    if out is not None and settings:
        save_settings(settings, sidecar_path(out))
    return out


def write_table(
    df: pd.DataFrame, path_or_buffer: str | os.PathLike[str] | IO[bytes], *, fmt: str | None = None
) -> Path | None:
    """Write a table as CSV (UTF-8, formulas neutralised, no index) or parquet (pyarrow).

    Parameters
    ----------
    df : DataFrame
    path_or_buffer : path-like or binary file-like
        A file path (format from the suffix: ``.csv``, ``.parquet``/``.pq``) or a buffer (then
        ``fmt`` is required).
    fmt : {"csv", "parquet"}, optional
        Overrides the suffix.

    Returns
    -------
    Path or None
        The path written, or None for a buffer.

    Raises
    ------
    ParameterError
        Unknown format.
    """
    is_path = isinstance(path_or_buffer, (str, os.PathLike))
    if fmt is None and is_path:
        fmt = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(Path(path_or_buffer).suffix.lower())  # type: ignore[arg-type]
    if fmt not in TABLE_FORMATS:
        raise ParameterError(f"table format must be one of {TABLE_FORMATS} (from fmt= or the file suffix), got {fmt!r}")
    if fmt == "csv":
        data = csv_bytes(df)
    else:
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        data = buf.getvalue()
    if not is_path:
        path_or_buffer.write(data)  # type: ignore[union-attr]
        return None
    out = Path(path_or_buffer)  # type: ignore[arg-type]
    out.write_bytes(data)
    return out


# --- TensorFlow Embedding Projector -----------------------------------------------------------


def _tsv_cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return str(v).replace("\t", " ").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def _write_tensors(path: Path, values: np.ndarray) -> None:
    """Rows of tab-separated numbers; ``%.9g`` gives back the very float32 values when read."""
    with path.open("w", encoding="utf-8", newline="\n") as f:
        np.savetxt(f, np.asarray(values, dtype=np.float32), fmt="%.9g", delimiter="\t")


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, or ``(name)``, ``((name))``... : the first not in ``taken``."""
    while name in taken:
        name = f"({name})"
    return name


def _metadata_frame(es: EmbeddingSet) -> pd.DataFrame:
    """Labels first (header ``label``, or ``(label)`` when a metadata column is named ``label``),
    then ids when they are not the row numbers (``id`` / ``(id)``), then every metadata column."""
    taken = {str(c) for c in es.metadata.columns}
    labels = pd.Series(es.labels, dtype=object)
    df = pd.DataFrame({_free_name("label", taken): labels})
    if list(es.ids) != [str(i) for i in range(es.n_samples)] or labels.map(lambda s: not str(s).strip()).any():
        # not the default row numbers: keep them (also keeps blank labels off blank lines)
        df[_free_name("id", taken | set(df.columns))] = es.ids
    for c in es.metadata.columns:
        df[str(c)] = es.metadata[c].to_numpy()
    return df


def export_projector(
    es: EmbeddingSet,
    folder: str | os.PathLike[str],
    *,
    projection: Projection | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Path:
    """Write a folder that the TensorFlow Embedding Projector (projector.tensorflow.org) opens.

    Files: ``tensors.tsv`` (n_samples rows of n_features tab-separated ``%.9g`` numbers, no
    header), ``metadata.tsv`` (``label`` [, ``id`` unless the ids are the row numbers], then the
    metadata columns; a header line when there is more than one column; tabs and newlines in
    cells become spaces), ``projector_config.json`` (``{"embeddings": [{"tensorName",
    "tensorShape": [n, d], "tensorPath", "metadataPath"}]}``). With ``projection``, its
    coordinates are a second embedding (``projection.tsv``, shape [n, 2 or 3]) sharing the
    metadata, so the Projector can show the very same map.

    Parameters
    ----------
    folder : path-like
        Created if needed; the three (four) files are overwritten.
    settings : mapping, optional
        Written to ``projector_config.json.settings.json``.

    Returns
    -------
    Path
        The ``projector_config.json`` written.

    Raises
    ------
    ParameterError
        ``projection`` was not computed from ``es``.
    """
    out = Path(folder)
    if projection is not None:
        check_pair(es, projection)
    out.mkdir(parents=True, exist_ok=True)
    _write_tensors(out / "tensors.tsv", es.vectors)
    meta = _metadata_frame(es)
    with (out / "metadata.tsv").open("w", encoding="utf-8", newline="\n") as f:
        if meta.shape[1] > 1:
            f.write("\t".join(_tsv_cell(c) for c in meta.columns) + "\n")
        for row in meta.itertuples(index=False):
            f.write("\t".join(_tsv_cell(v) for v in row) + "\n")
    embeddings = [
        {
            "tensorName": es.name,
            "tensorShape": [es.n_samples, es.n_features],
            "tensorPath": "tensors.tsv",
            "metadataPath": "metadata.tsv",
        }
    ]
    if projection is not None:
        _write_tensors(out / "projection.tsv", projection.coords)
        embeddings.append(
            {
                "tensorName": f"{es.name} — {projection.params.describe()}",
                "tensorShape": list(projection.coords.shape),
                "tensorPath": "projection.tsv",
                "metadataPath": "metadata.tsv",
            }
        )
    config = out / "projector_config.json"
    config.write_text(json.dumps({"embeddings": embeddings}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if settings:
        save_settings(settings, sidecar_path(config))
    return config


def _inside(folder: Path, rel: Any, key: str, file: str) -> Path:
    if not isinstance(rel, str) or not rel:
        raise DataFormatError(f"{key} must be a non-empty string, got {rel!r}", file=file)
    if "://" in rel:
        raise DataFormatError(f"{key}={rel!r}: only local files next to the config are read, not URLs", file=file)
    path = (folder / rel).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise DataFormatError(f"{key}={rel!r} points outside the config's folder {folder}", file=file)
    return path


def load_projector(config_path: str | os.PathLike[str], *, tensor_name: str | None = None) -> EmbeddingSet:
    """Read an Embedding Projector folder through its ``projector_config.json``.

    Parameters
    ----------
    config_path : path-like
        The config; ``tensorPath``/``metadataPath`` are resolved against its folder and must
        stay inside it (no absolute paths to elsewhere, no ``..`` escapes, no URLs).
    tensor_name : str, optional
        Which embedding to read; default the first.

    Returns
    -------
    EmbeddingSet
        Vectors ``(n, d) float32`` read by :func:`viz_app.data.io.read` with the metadata file;
        ``name`` = ``tensorName``. The first column gives the labels, as text; a unique ``id``
        (or ``(id)``) column restores the ids; the ``label``/``(label)`` and id columns are not
        repeated in ``metadata`` (``(label)`` is written when a metadata column is named
        ``label``, so that column is kept).

    Raises
    ------
    DataFormatError
        Unreadable or malformed config, a path outside the folder, a ``tensorShape`` that does
        not match the file, or any error of :func:`viz_app.data.io.read`.
    """

    cfg_path = Path(config_path)
    folder, fname = cfg_path.parent, cfg_path.name
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataFormatError(f"cannot be opened: {exc.strerror or exc}", file=fname) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"is not valid JSON: {exc}", file=fname) from None
    embs = cfg.get("embeddings") if isinstance(cfg, dict) else None
    if not isinstance(embs, list) or not embs or not all(isinstance(e, dict) for e in embs):
        raise DataFormatError('needs {"embeddings": [{"tensorPath": ...}, ...]}', file=fname)
    names = [e.get("tensorName") for e in embs]
    if tensor_name is not None and tensor_name not in names:
        raise DataFormatError(f"no embedding named {tensor_name!r}; names: {names}", file=fname)
    emb = embs[0] if tensor_name is None else embs[names.index(tensor_name)]
    tensors = _inside(folder, emb.get("tensorPath"), "tensorPath", fname)
    meta = _inside(folder, emb["metadataPath"], "metadataPath", fname) if emb.get("metadataPath") else None
    raw = read(tensors, metadata=meta)
    shape = emb.get("tensorShape")
    width = raw.vectors.shape[1] if raw.vectors is not None else 0
    if shape is not None and list(shape) != [raw.n_samples, width]:
        raise DataFormatError(
            f"tensorShape {shape} does not match {tensors.name} ({raw.n_samples} x {width})", file=fname
        )
    es = to_embedding_set(raw)
    md = es.metadata
    cols = [str(c) for c in md.columns]
    label_col = next((c for c in ("(label)", "label") if c in cols), None)  # "(label)": a column is named label
    id_col = next((c for c in ("(id)", "id") if c in cols), None)
    ids: Any = (
        md[id_col].astype(str).to_numpy(dtype=object)
        if id_col is not None and md[id_col].astype(str).is_unique
        else None
    )
    drop = [c for c in (label_col, id_col) if c is not None and (c == label_col or ids is not None)]
    return EmbeddingSet(
        es.vectors,
        ids=ids,
        labels=es.labels,
        metadata=md.drop(columns=drop),
        name=str(emb.get("tensorName") or tensors.name),
    )
