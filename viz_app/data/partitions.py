"""Partitioned inputs: a large set read by partitions, each by the process that needs it (a Dask
worker), with the library that owns the format; no process reads the whole file.

- **parquet** (one file, or a folder of part files as ``embed --engine dask`` writes them):
  pyarrow reads one row group at a time (``ParquetFile.read_row_group``); the footers give the
  row counts, so the partitions are planned without reading any data. A partition is a row group,
  or a slice of at most ``partition_rows`` rows of a larger one (reading it then decodes the whole
  row group: memory follows the input's row-group size; the files this package writes have row
  groups of at most ``partition_rows`` rows). Column roles are decided once, from the first row
  group, by the reader's own :func:`~viz_app.data.readers.table.table_to_raw`, and forced on every
  partition, so each partition is converted as the single-process reader converts the whole
  table (same vectors, labels and metadata).
- **.npy**: numpy's memory map (``np.load(mmap_mode="r")``): a partition copies its rows only.

Other inputs (CSV, ``.npz``, texts to embed, ...) have no partitions a reader can seek to: read
them whole (:func:`viz_app.data.io.read`), stage them as part files (:func:`stage_table`), and
plan the staged folder. The size limits of :func:`~viz_app.data.io.read` (an upload's budget)
do not apply here: this is for batch jobs, bounded per partition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.data.io import part_files
from viz_app.data.readers.common import ReadOptions, checked_float32, empty_frame
from viz_app.data.readers.mapfile import GRAPH_COLUMNS, is_map_schema
from viz_app.data.readers.table import table_to_raw
from viz_app.errors import DataFormatError

__all__ = ["Layout", "Part", "plan_partitions", "read_part", "stage_table"]


@dataclass(frozen=True)
class Part:
    """One partition: rows ``lo:hi`` of row group ``group`` of the parquet file ``path`` (or rows
    ``lo:hi`` of the ``.npy`` array at ``path``), rows ``start .. start + hi - lo - 1`` of the set."""

    path: str
    kind: str  # "parquet" | "npy"
    group: int
    lo: int
    hi: int
    start: int

    @property
    def n(self) -> int:
        return self.hi - self.lo


@dataclass(frozen=True)
class Layout:
    """A partitioned input: its partitions and how every partition is read.

    Attributes
    ----------
    name : str
        The data set's name (file or folder name), as :func:`viz_app.load` names it.
    parts : tuple of Part
        In row order.
    options : ReadOptions
        Forced column roles (parquet): vector columns, label column (None: labels are row
        numbers), metadata columns, text column.
    n_samples, n_features : int
    model_name, text_column : str or None
        As the single-process :class:`~viz_app.data.model.EmbeddingSet` would have them.
    """

    name: str
    parts: tuple[Part, ...]
    options: ReadOptions
    n_samples: int
    n_features: int
    model_name: str | None = None
    text_column: str | None = None


def read_part(
    part: Part, layout_options: ReadOptions, *, file: str
) -> tuple[NDArray[np.float32], list[str], pd.DataFrame]:
    """The rows of one partition as the single-process reader gives them for the whole input.

    Returns
    -------
    (ndarray of shape (part.n, n_features), dtype float32; list of str; DataFrame)
        Vectors, labels (row numbers of the whole set when the input has no label column) and
        metadata (``part.n`` rows, index ``0..part.n-1``).

    Raises
    ------
    DataFormatError
        Damaged file, non-numeric or non-finite vectors (the message gives the row of the whole
        set, 1-based).
    """
    if part.kind == "npy":
        arr = np.load(part.path, mmap_mode="r", allow_pickle=False)
        block = np.array(arr[part.lo : part.hi])  # a copy of these rows only
        vectors = checked_float32(block, file=file, row_of=lambda r: part.start + r + 1, column_of=lambda c: c + 1)
        return vectors, [str(part.start + i) for i in range(part.n)], empty_frame(part.n)
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(part.path).read_row_group(part.group).slice(part.lo, part.n)
        table = table.drop_columns([c for c in GRAPH_COLUMNS if c in table.column_names])
        df = table.to_pandas().reset_index(drop=True)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataFormatError(f"{Path(part.path).name}: not a readable parquet file ({exc})", file=file) from None
    df.columns = [str(c) for c in df.columns]
    raw = table_to_raw(df, file=file, fmt="parquet", options=layout_options, row_of=lambda r: part.start + r + 1)
    if raw.vectors is None:
        raise DataFormatError(f"rows {part.start + 1:,}.. hold no vectors", file=file)
    labels = list(raw.labels) if layout_options.label_column else [str(part.start + i) for i in range(part.n)]
    return raw.vectors, labels, raw.metadata


def _magic(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(6)


def plan_partitions(
    source: str | Path,
    *,
    partition_rows: int,
    text_column: str | None = None,
    label_column: str | None = None,
    vector_column: str | None = None,
    name: str | None = None,
) -> Layout | None:
    """The partitions of ``source`` (parquet file or folder of part files, ``.npy``), planned from
    the parquet footers or the ``.npy`` header; None for any other input (or a table without
    vectors): stage it first (module docstring).

    Parameters
    ----------
    partition_rows : int
        Most rows per partition.
    text_column, label_column : str, optional
        As for :func:`viz_app.data.io.read`.
    vector_column : str, optional
        The list column of vectors (default: decided from the first row group, as the reader does).
    name : str, optional
        The set's name (default: the file or folder name).

    Raises
    ------
    DataFormatError
        A damaged footer or header, part files with other columns than the first, no rows.
    """
    path = Path(source)
    fname = name or path.name
    if path.is_dir():
        files = part_files(path, file=fname)
    elif path.is_file() and _magic(path) == b"\x93NUMPY":
        return _plan_npy(path, fname, partition_rows)
    elif path.is_file() and _magic(path)[:4] == b"PAR1":
        files = [path]
    else:
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts: list[Part] = []
    schema, start = None, 0
    try:
        for f in files:
            pf = pq.ParquetFile(f)
            if schema is None:
                schema = pf.schema_arrow
            elif not pf.schema_arrow.equals(schema, check_metadata=False):
                raise DataFormatError(f"part file {f.name} has other columns than the first part", file=fname)
            for g in range(pf.metadata.num_row_groups):
                rows = pf.metadata.row_group(g).num_rows
                for lo in range(0, rows, partition_rows):
                    hi = min(rows, lo + partition_rows)
                    parts.append(Part(str(f), "parquet", g, lo, hi, start))
                    start += hi - lo
    except pa.ArrowException as exc:
        raise DataFormatError(f"not a readable parquet file ({exc})", file=fname) from None
    if not parts or schema is None:
        raise DataFormatError("parquet table has no rows", file=fname)
    forced: tuple[str, ...] | None
    if is_map_schema(schema.metadata):  # a map file: its vector and label columns are known
        label_column, forced = label_column or "label", ("vector",)
    else:
        forced = (vector_column,) if vector_column else None
    head = replace(parts[0], hi=min(parts[0].hi, parts[0].lo + 1_000))  # the roles, decided as the reader does
    first = ReadOptions(text_column, label_column, forced)
    try:
        t = pq.ParquetFile(head.path).read_row_group(head.group).slice(head.lo, head.n)
        df = t.drop_columns([c for c in GRAPH_COLUMNS if c in t.column_names]).to_pandas().reset_index(drop=True)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataFormatError(f"not a readable parquet file ({exc})", file=fname) from None
    df.columns = [str(c) for c in df.columns]
    raw = table_to_raw(df, file=fname, fmt="parquet", options=first, row_of=lambda r: r + 1)
    if raw.vectors is None:
        return None  # texts: the caller embeds them
    vec_cols = tuple(r.column for r in raw.roles if r.role == "vector")
    label = label_column or next((r.column for r in raw.roles if r.role == "label"), None) or raw.text_column
    meta_cols = tuple(c for c in df.columns if c not in vec_cols)
    options = ReadOptions(raw.text_column, label, vec_cols, meta_cols)
    return Layout(fname, tuple(parts), options, start, int(raw.vectors.shape[1]), None, raw.text_column)


def _plan_npy(path: Path, fname: str, partition_rows: int) -> Layout:
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"not a readable .npy file ({exc})", file=fname) from None
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1 or arr.dtype.kind not in "fiu":
        raise DataFormatError(
            f"the array must be 2-D numeric (n_samples, n_features); got {arr.shape}, {arr.dtype}", file=fname
        )
    n = int(arr.shape[0])
    parts = tuple(Part(str(path), "npy", 0, a, min(n, a + partition_rows), a) for a in range(0, n, partition_rows))
    return Layout(fname, parts, ReadOptions(), n, int(arr.shape[1]))


def stage_table(labels: Sequence[str], metadata: pd.DataFrame | None, vectors: NDArray[np.float32] | None) -> Any:
    """A pyarrow ``Table`` of an input read whole (``label``, the metadata columns but ``id``,
    ``label`` and ``vector``, then ``vector`` when given), to be written as part files
    (:func:`viz_app.export.mapfile.write_table`) and mapped by partitions with
    ``label_column="label"``."""
    import pyarrow as pa

    cols: dict[str, Any] = {"label": pa.array([str(s) for s in labels])}
    if metadata is not None:
        for col in metadata.columns:
            if str(col) not in ("id", "label", "vector"):
                cols[str(col)] = pa.array(metadata[col].reset_index(drop=True).to_numpy(), from_pandas=True)
    if vectors is not None:
        flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
        cols["vector"] = pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])
    return pa.table(cols)
