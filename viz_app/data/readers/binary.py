"""Binary files for :mod:`viz_app.data.io`: ``.npy`` (one array), ``.npz`` (several named arrays) and
parquet (a table, read by pyarrow; its columns get the roles of :func:`~viz_app.data.readers.table.table_to_raw`).

Nothing is ever unpickled: unpickling an uploaded file can run arbitrary code. The ``.npy``
header is parsed by NumPy (``numpy.lib.format.read_array_header_1_0``/``_2_0``) and checked
before any array memory exists: dtype (numeric only; object dtype means pickled Python objects
and is refused), shape, the float32 size against :attr:`~viz_app.data.limits.Limits.max_matrix_bytes`,
and that the file really holds the bytes the header declares (else it is truncated). The data
is then viewed in place with ``numpy.frombuffer`` and copied once, to ``float32``.

An ``.npz`` is a zip archive (``zipfile``): the member count is read from the end-of-central-
directory record, the declared uncompressed sizes from the central directory and each member's
``.npy`` header from its first few hundred inflated bytes, all before any member is inflated
(a 150 kB zip of zeros can declare 160 MB; it is refused with ``ResourceLimitError``).
"""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from tokenize import TokenError

import numpy as np
import pandas as pd

from viz_app.data.limits import Limits, get_limits
from viz_app.data.readers.common import RawData, ReadOptions, checked_float32, empty_frame, row_labels, to_labels
from viz_app.data.readers.mapfile import GRAPH_COLUMNS, is_map_schema, stored_map
from viz_app.data.readers.table import check_unique_names, table_to_raw
from viz_app.errors import DataFormatError, VizAppError

__all__ = [
    "NPZ_LABEL_NAMES",
    "NPZ_VECTOR_NAMES",
    "NpyHeader",
    "read_npy",
    "read_npy_header",
    "read_npz",
    "read_parquet",
    "read_parquet_parts",
]

#: ``.npz`` member holding the vectors, by name (case-insensitive, first match in this order).
NPZ_VECTOR_NAMES = ("vectors", "embeddings", "x", "data", "arr_0")
#: ``.npz`` member holding the labels, by name (case-insensitive, first match in this order).
NPZ_LABEL_NAMES = ("labels", "label", "y", "words", "ids", "targets")
_PICKLE_MSG = (
    "holds Python objects (pickled data), which are refused for safety; "
    "save a numeric array, e.g. np.save(f, np.asarray(x, dtype=np.float32))"
)
_COLUMN_KINDS = frozenset("biufUSMm")  # dtypes of 1-D members that become metadata columns
_HEADER_READ = 1 << 16  # bytes of a member inflated to read its .npy header (v1 headers < 64 KiB)
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    OverflowError,
    IndexError,
)


@dataclass(frozen=True)
class NpyHeader:
    """What a ``.npy`` header declares.

    Attributes
    ----------
    shape : tuple of int
    fortran_order : bool
    dtype : numpy.dtype
    offset : int
        Byte where the array data starts.
    """

    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype
    offset: int

    @property
    def nbytes(self) -> int:
        """Bytes of array data the header declares (a Python int: never overflows)."""
        return int(np.prod(self.shape, dtype=object)) * self.dtype.itemsize


def read_npy_header(head: bytes, *, file: str, what: str) -> NpyHeader:
    """Parse the ``.npy`` header at the start of ``head`` (NumPy's reader, nothing allocated).

    Raises
    ------
    DataFormatError
        Not a ``.npy`` (bad magic or version), a damaged header, a negative dimension.
    """
    from numpy.lib import format as npf

    fp = io.BytesIO(head)
    try:
        version = npf.read_magic(fp)
        with warnings.catch_warnings():  # "created on Python 2": headers numpy has to repair
            warnings.simplefilter("ignore", UserWarning)
            if version == (1, 0):
                shape, fortran, dtype = npf.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, fortran, dtype = npf.read_array_header_2_0(fp)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f".npy format version {version[0]}.{version[1]} is not supported (1.0, 2.0 are)")
    except (ValueError, TypeError, SyntaxError, RecursionError, OverflowError, KeyError, TokenError) as exc:
        raise DataFormatError(f"{what} is not a readable .npy array: {_short(exc)}", file=file) from None
    if any(d < 0 for d in shape):
        raise DataFormatError(f"{what} is not a readable .npy array: shape {shape}", file=file)
    return NpyHeader(tuple(int(d) for d in shape), bool(fortran), dtype, fp.tell())


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "..."


def _check_vector_header(h: NpyHeader, *, file: str, what: str, limits: Limits) -> None:
    """Refuse, from the header alone, anything that cannot be a vector matrix in the budget."""
    if h.dtype.hasobject:
        raise DataFormatError(f"{what} {_PICKLE_MSG}", file=file)
    if h.dtype.kind not in "fiu" or h.dtype.names:
        raise DataFormatError(
            f"{what} has dtype {h.dtype} ({_KIND_NAMES.get(h.dtype.kind, 'not numbers')}); expected a "
            "float or integer array",
            file=file,
        )
    if len(h.shape) == 1:
        raise DataFormatError(
            f"{what} is a 1-D array of length {h.shape[0]}, expected 2-D (n_samples, n_features)", file=file
        )
    if len(h.shape) != 2 or h.shape[0] == 0 or h.shape[1] == 0:
        raise DataFormatError(
            f"{what} has shape {h.shape}, expected 2-D (n_samples, n_features) with n >= 1", file=file
        )
    limits.check_matrix(h.shape[0], h.shape[1], file=file, what=what)


_KIND_NAMES = {
    "U": "text",
    "S": "bytes",
    "b": "booleans",
    "c": "complex numbers",
    "M": "dates",
    "m": "time spans",
    "V": "raw or structured records",
}


def _array(data: bytes | memoryview, h: NpyHeader, *, file: str, what: str) -> np.ndarray:
    """The array the header declares, viewed in ``data`` (no copy); refuses short data."""
    have = len(data) - h.offset
    if have < h.nbytes:
        raise DataFormatError(
            f"{what} is truncated: its header declares shape {h.shape} of {h.dtype} ({h.nbytes:,} bytes "
            f"of data) but only {max(have, 0):,} bytes follow",
            file=file,
        )
    count = h.nbytes // h.dtype.itemsize if h.dtype.itemsize else 0
    arr = np.frombuffer(data, dtype=h.dtype, count=count, offset=h.offset)
    return arr.reshape(h.shape, order="F" if h.fortran_order else "C")


def read_npy(data: bytes, *, file: str, limits: Limits | None = None) -> RawData:
    """A ``.npy`` array of shape (n_samples, n_features), float or integer dtype.

    Returns
    -------
    RawData
        ``format="npy"``; labels are row numbers; metadata has no columns.

    Raises
    ------
    DataFormatError
        Object dtype (pickle), text/other non-numeric dtype, 1-D, >2-D or empty array,
        truncated or damaged file, NaN/inf (row and column named).
    ResourceLimitError
        The declared shape needs more than ``max_matrix_bytes`` as float32 (checked from the
        header, before reading the data).
    """
    limits = limits or get_limits()
    what = "the array"
    h = read_npy_header(data[:_HEADER_READ], file=file, what=what)
    _check_vector_header(h, file=file, what=what, limits=limits)
    arr = _array(data, h, file=file, what=what)
    vectors = checked_float32(arr, file=file, row_of=lambda r: r + 1, column_of=lambda c: c + 1)
    n = vectors.shape[0]
    return RawData(file, "npy", vectors, None, row_labels(n), empty_frame(n), None)


# ---------------------------------------------------------------------------------------------
# .npz


def _zip_entry_count(data: bytes) -> int | None:
    """Members declared by the zip's end-of-central-directory record (None if not found)."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 0xFFFF))
    if at < 0 or at + 22 > len(data):
        return None
    return struct.unpack("<H", data[at + 10 : at + 12])[0]


def _open_zip(data: bytes, file: str, limits: Limits) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The archive and its members, after the member-count and declared-size budgets."""
    declared = _zip_entry_count(data)
    if declared is not None:
        limits.check_npz_members(declared, file=file)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in zf.infolist() if not i.is_dir()]
    except _ZIP_ERRORS as exc:
        raise DataFormatError(f"is not a readable .npz archive ({_short(exc)})", file=file) from None
    limits.check_npz_members(len(infos), file=file)
    if not infos:
        raise DataFormatError("the .npz archive has no arrays", file=file)
    others = [i.filename for i in infos if not i.filename.endswith(".npy")]
    if others:
        raise DataFormatError(
            f"is a zip archive but not an .npz (member {others[0]!r} is not a NumPy array); "
            "accepted: .npz written by numpy.savez / savez_compressed",
            file=file,
        )
    limits.check_inflated(sum(i.file_size for i in infos), file=file, what="the .npz archive")
    return zf, infos


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, size: int, file: str) -> bytes:
    """Inflate at most ``size`` bytes of a member (zipfile stops at the declared size)."""
    try:
        with zf.open(info) as fh:
            return fh.read(size)
    except _ZIP_ERRORS as exc:
        raise DataFormatError(f"member {info.filename[:-4]!r} is damaged ({_short(exc)})", file=file) from None


def _headers(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], file: str, limits: Limits) -> dict[str, NpyHeader]:
    """Each member's ``.npy`` header, from its first bytes only; declared sizes within budget."""
    out = {}
    for info in infos:
        key = info.filename[:-4]
        head = _read_member(zf, info, min(info.file_size, _HEADER_READ), file)
        out[key] = read_npy_header(head, file=file, what=f"member {key!r}")
        if out[key].offset + out[key].nbytes > info.file_size:
            raise DataFormatError(
                f"member {key!r} is damaged: its header declares shape {out[key].shape} of "
                f"{out[key].dtype} ({out[key].nbytes:,} bytes of data) but the archive holds "
                f"{max(info.file_size - out[key].offset, 0):,}",
                file=file,
            )
    return out


def _pick_member(names, wanted: tuple[str, ...]) -> str | None:
    lower = {k.lower(): k for k in names}
    return next((lower[n] for n in wanted if n in lower), None)


def _vector_key(headers: dict[str, NpyHeader], file: str) -> str:
    key = _pick_member(headers, NPZ_VECTOR_NAMES)
    if key is not None:
        return key
    two_d = [k for k, h in headers.items() if len(h.shape) == 2 and h.dtype.kind in "fiu" and not h.dtype.names]
    if len(two_d) != 1:
        shapes = {k: ("object" if h.dtype.hasobject else h.shape) for k, h in headers.items()}
        raise DataFormatError(
            f"cannot tell which member holds the vectors (members: {shapes}); name it "
            f"'vectors' or keep a single 2-D numeric array",
            file=file,
        )
    return two_d[0]


def read_npz(data: bytes, *, file: str, limits: Limits | None = None) -> RawData:
    """An ``.npz`` archive (``numpy.savez``) of vectors and, optionally, labels and metadata.

    Vectors: the member named vectors/embeddings/X/data/arr_0 (case-insensitive), else the only
    2-D numeric member. Labels: the 1-D member of length n named labels/label/y/words/ids/targets
    (str, bytes, int or bool dtype), else row numbers. Every 1-D member of length n becomes a
    metadata column. Only those members are inflated; object-dtype (pickled) members never are.

    Returns
    -------
    RawData
        ``format="npz"``.

    Raises
    ------
    DataFormatError
        Not a zip of ``.npy`` members, damaged or truncated member, pickled vectors, no
        recognisable vector member, and everything :func:`read_npy` refuses.
    ResourceLimitError
        More members than ``max_npz_members``; declared uncompressed size over
        ``max_inflated_bytes``; vectors over ``max_matrix_bytes`` as float32 (all checked from
        the zip directory and the ``.npy`` headers, before inflating the data).
    """
    limits = limits or get_limits()
    zf, infos = _open_zip(data, file, limits)
    with zf:
        headers = _headers(zf, infos, file, limits)
        key = _vector_key(headers, file)
        what = f"member {key!r}"
        _check_vector_header(headers[key], file=file, what=what, limits=limits)
        by_key = {i.filename[:-4]: i for i in infos}
        n = headers[key].shape[0]
        cols = [k for k, h in headers.items() if k != key and h.shape == (n,) and h.dtype.kind in _COLUMN_KINDS]
        loaded = {
            k: _array(
                _read_member(zf, by_key[k], by_key[k].file_size, file), headers[k], file=file, what=f"member {k!r}"
            )
            for k in [key, *cols]
        }
    vectors = checked_float32(loaded[key], file=file, row_of=lambda r: r + 1, column_of=lambda c: c + 1)
    meta = pd.DataFrame({k: _column(loaded[k]) for k in cols}, index=pd.RangeIndex(n)) if cols else empty_frame(n)
    label = _pick_member(cols, NPZ_LABEL_NAMES)
    labels = to_labels(meta[label]) if label else row_labels(n)
    skipped = [k for k in headers if k != key and k not in cols]
    notices = (
        (f"members not used (not numeric/text 1-D arrays of length {n}): {', '.join(skipped)}",) if skipped else ()
    )
    return RawData(file, "npz", vectors, None, labels, meta, None, notices)


def _column(v: np.ndarray) -> np.ndarray:
    if v.dtype.kind == "S":
        return np.char.decode(v, "utf-8", errors="replace").astype(object)
    return v.astype(object) if v.dtype.kind == "U" else v


# ---------------------------------------------------------------------------------------------
# parquet


def read_parquet(data: bytes, *, file: str, options: ReadOptions, limits: Limits | None = None) -> RawData:
    """A parquet table (pyarrow reads and fully validates it, e.g. UTF-8 of strings, then converts
    it to pandas); rows are numbered 1..n. See :func:`table_to_raw` and :func:`read_parquet_parts`.

    Budgets: before any data page is read, the footer gives the column names (duplicates are
    refused), the declared uncompressed size (``max_inflated_bytes``) and the row count times
    the numeric leaf columns (``max_matrix_bytes``, as float32). List columns can hold any
    number of values per row, so the numbers are also counted batch by batch (65,536 rows) while
    reading, and reading stops as soon as they pass ``max_matrix_bytes``. Per-column chunk
    metadata is never touched: pyarrow 26 aborts the process on some damaged chunk statistics.
    """
    return read_parquet_parts([data], file=file, options=options, limits=limits)


def read_parquet_parts(
    parts: Sequence[bytes],
    *,
    file: str,
    options: ReadOptions,
    limits: Limits | None = None,
    part_names: Sequence[str] = (),
) -> RawData:
    """A partitioned parquet table: the part files' rows one after the other, as one table (the
    layout ``embedding-lens map --engine dask`` and Dask/Spark write: a folder of part files with
    the same columns). The key-value metadata (a map file's map and settings) is the first part's.
    Budgets as :func:`read_parquet`, over all parts together.

    Raises
    ------
    DataFormatError
        A part is not readable parquet, or its columns differ from the first part's (named).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    limits = limits or get_limits()
    try:
        batches, values, rows, schema, declared, numeric = [], 0, 0, None, 0, 0
        for j, data in enumerate(parts):
            pf = pq.ParquetFile(io.BytesIO(data))
            check_unique_names(list(pf.schema_arrow.names), file=file)
            if schema is None:
                schema = pf.schema_arrow
            elif not pf.schema_arrow.equals(schema, check_metadata=False):
                name = part_names[j] if j < len(part_names) else f"part {j + 1}"
                raise DataFormatError(f"part file {name} has other columns than the first part", file=file)
            md = pf.metadata
            declared += sum(max(md.row_group(i).total_byte_size, 0) for i in range(md.num_row_groups))
            limits.check_inflated(declared, file=file, what="the parquet file")
            numeric = sum(pf.schema.column(i).physical_type in _PARQUET_NUMBERS for i in range(len(pf.schema)))
            limits.check_matrix(rows + max(md.num_rows, 0), numeric, file=file, what="the numeric columns")
            for batch in pf.iter_batches(batch_size=1 << 16):
                batches.append(batch)
                rows += batch.num_rows
                values += sum(_leaf_numbers(col) for col in batch.columns)
                if values * 4 > limits.max_matrix_bytes:
                    limits.check_matrix(rows, -(-values // max(rows, 1)), file=file, what="the numeric values")
        table = pa.Table.from_batches(batches, schema=schema)
        table.validate(full=True)
        is_map = is_map_schema(table.schema.metadata)
        df = table.drop_columns([c for c in GRAPH_COLUMNS if c in table.column_names] if is_map else []).to_pandas()
    except (pa.ArrowException, ValueError, OSError, TypeError, IndexError, KeyError) as exc:
        if isinstance(exc, VizAppError):  # a budget or a duplicate name
            raise
        detail = " ".join(str(exc).split())[:300]
        raise DataFormatError(
            f"not a readable parquet file ({detail}); accepted: parquet written by pandas/pyarrow", file=file
        ) from None
    if len(df) == 0:
        raise DataFormatError("parquet table has no rows", file=file)
    df = df.reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    if is_map:  # a map file (embedding-lens map): its vector and label columns are known
        forced = ReadOptions(options.text_column, options.label_column or "label", ("vector",))
        raw = table_to_raw(df, file=file, fmt="parquet", options=forced, row_of=lambda r: r + 1)
        try:
            return replace(raw, stored_map=stored_map(table, file=file))
        except (pa.ArrowException, TypeError) as exc:
            raise DataFormatError(f"not a readable map file ({' '.join(str(exc).split())[:300]})", file=file) from None
    return table_to_raw(df, file=file, fmt="parquet", options=options, row_of=lambda r: r + 1)


_PARQUET_NUMBERS = frozenset({"INT32", "INT64", "INT96", "FLOAT", "DOUBLE"})


def _leaf_numbers(arr) -> int:
    """Number of numeric leaf values in an Arrow array (lists flattened; no copy)."""
    import pyarrow as pa

    while pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type) or pa.types.is_fixed_size_list(arr.type):
        arr = arr.flatten()
    return len(arr) if (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)) else 0
