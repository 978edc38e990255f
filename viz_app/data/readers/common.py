"""Shared pieces of the file readers behind :mod:`viz_app.data.io`.

:class:`RawData` (what a reader found), :class:`ReadOptions` (the caller's column choices) and
small helpers that turn parsed columns into labels and checked ``float32`` vectors (numeric
columns, list columns). Public code
imports these names from :mod:`viz_app.data.io`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.errors import DataFormatError

_F32_MAX = float(np.finfo(np.float32).max)

__all__ = [
    "ColumnRole",
    "RawData",
    "ReadOptions",
    "as_numbers",
    "checked_float32",
    "empty_frame",
    "is_missing",
    "list_vectors",
    "numeric_vectors",
    "row_labels",
    "to_labels",
    "vector_notices",
]


@dataclass(frozen=True)
class ColumnRole:
    """The role of one table column.

    Attributes
    ----------
    column : str
        Column name as in the file (``col1..colN`` for a table without a header).
    kind : {"numeric", "list", "mostly_numeric", "text", "empty"}
        What the cells hold (:func:`column_kind`).
    role : {"vector", "label", "text", "metadata"}
        ``vector``: one dimension (or, for a list column, the whole vector); ``label``: the
        display labels; ``text``: the texts embedded (tables without vectors) or the item text;
        ``metadata``: kept for colour, filters and tables. Label and text columns stay in the
        metadata table too.
    reason : str
        Why, in a few words, for the user.
    """

    column: str
    kind: str
    role: str
    reason: str


@dataclass(frozen=True, eq=False)
class RawData:
    """What a reader found in a file, before any embedding.

    Attributes
    ----------
    name : str
        File name shown to the user (e.g. ``"words.csv"``).
    format : {"csv", "tsv", "projector", "txt", "word2vec", "npy", "npz", "parquet"}
        Format decided from the file's content (see :data:`viz_app.data.io.FORMATS`).
    vectors : ndarray of shape (n_samples, n_features), dtype float32, or None
        Finite vectors; ``None`` when the file holds texts to embed.
    texts : list of str of length n_samples, or None
        Texts to embed when ``vectors`` is None, else None.
    labels : list of str of length n_samples
        Display labels (may repeat).
    metadata : DataFrame of shape (n_samples, n_columns)
        The non-vector columns (may include the label/text column); index ``0..n-1``.
    text_column : str or None
        Metadata column holding the text of each item, if any.
    notices : tuple of str
        Human-readable notes for the user, e.g. ``"decoded as Latin-1"``.
    roles : tuple of ColumnRole
        Tables only: the role of every column and why
        (:func:`~viz_app.data.readers.roles.propose_roles`); empty for other formats.
    stored_map : viz_app.data.readers.mapfile.StoredMap or None
        The finished map of a map file (``embedding-lens map``), else None.
    """

    name: str
    format: str
    vectors: NDArray[np.float32] | None
    texts: list[str] | None
    labels: list[str]
    metadata: pd.DataFrame
    text_column: str | None
    notices: tuple[str, ...] = ()
    roles: tuple[ColumnRole, ...] = ()
    stored_map: Any = None

    def __post_init__(self) -> None:
        n = len(self.labels)
        if (self.vectors is None) == (self.texts is None):
            raise DataFormatError("exactly one of vectors and texts must be set", file=self.name)
        got = self.vectors.shape[0] if self.vectors is not None else len(self.texts or ())
        if got != n or len(self.metadata) != n:
            raise DataFormatError(
                f"inconsistent reader output: {got} items, {n} labels, {len(self.metadata)} metadata rows",
                file=self.name,
            )

    @property
    def n_samples(self) -> int:
        """Number of items (rows)."""
        return len(self.labels)


@dataclass(frozen=True)
class ReadOptions:
    """Column choices the caller may force (all optional; ``None`` means automatic).

    Attributes
    ----------
    text_column : str or None
        Column of texts to embed (tables without vectors) or to remember as the item text.
    label_column : str or None
        Column whose values become the display labels.
    vector_columns : tuple of str or None
        Columns holding the vector: several numeric columns, or one list column.
    metadata_columns : tuple of str or None
        Columns that are never vector dimensions (the others are decided from the content).
    """

    text_column: str | None = None
    label_column: str | None = None
    vector_columns: tuple[str, ...] | None = None
    metadata_columns: tuple[str, ...] | None = None


def row_labels(n: int) -> list[str]:
    """Labels ``"0" .. "n-1"`` for files without a label column (the same as the ids)."""
    return [str(i) for i in range(n)]


def to_labels(values: pd.Series | Sequence[object]) -> list[str]:
    """Display labels as ``str``; missing values (None, NaN) become ``""``.

    Parameters
    ----------
    values : Series or sequence of length n_samples
        Any dtype; integers print without a decimal point.
    """
    s = pd.Series(values).astype(object)
    return ["" if is_missing(v) else str(v) for v in s]


def is_missing(value: object) -> bool:
    """True for ``None`` and float NaN (a missing cell after pandas parsing)."""
    return value is None or (isinstance(value, float) and np.isnan(value))


def empty_frame(n: int) -> pd.DataFrame:
    """A metadata frame with ``n`` rows and no columns."""
    return pd.DataFrame(index=pd.RangeIndex(n))


#: Largest |value| accepted in a vector: 1e16 squared is 1e32, so a sum of squares over a million
#: dimensions stays below float32's 3.4e38 (values near 3e38 made PCA fail with a LinAlgError).
MAX_ABS_VALUE = 1e16


def checked_float32(
    values: NDArray[np.floating],
    *,
    file: str,
    row_of: Callable[[int], int],
    column_of: Callable[[int], str | int],
) -> NDArray[np.float32]:
    """Cast parsed vectors to ``float32``; refuse one dimension, NaN, infinities, float32 overflow.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_features), any float dtype
    file : str
        File name for the error message.
    row_of : callable
        Maps a 0-based row index to the 1-based row (line) number shown to the user.
    column_of : callable
        Maps a 0-based column index to the column name or 1-based number shown to the user.

    Returns
    -------
    ndarray of shape (n_samples, n_features), dtype float32, C-contiguous

    Raises
    ------
    DataFormatError
        Fewer than 2 columns (a 1-dimensional "embedding" has no map); a cell is missing
        (empty), NaN, infinite, beyond float32 range (|x| > 3.4e38) or above
        :data:`MAX_ABS_VALUE` (|x| > 1e16, whose squares overflow float32): names the first
        such row and column.
    """
    if values.ndim == 2 and values.shape[1] < 2:
        raise DataFormatError(
            f"the vectors have {values.shape[1]} dimension (column {column_of(0)!r}); an embedding needs "
            "at least 2 numbers per item: >= 2 numeric columns, a list column '[0.1, 0.2, ...]', or "
            "a 2-D array (n_samples, n_features >= 2)",
            file=file,
        )
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.ascontiguousarray(values, dtype=np.float32)
    bad = ~np.isfinite(out)
    if bad.any():
        r, c = (int(i) for i in np.argwhere(bad)[0])
        v = float(values[r, c])
        if np.isnan(v):
            what = "is empty or NaN"
        elif np.isinf(v):
            what = f"is {v!r} (infinite)"
        else:
            what = f"is {v:g}, beyond the float32 range (|x| <= {_F32_MAX:.4g}) in which vectors are stored"
        raise DataFormatError(
            f"vector value {what}; every vector cell must be a finite number",
            file=file,
            row=row_of(r),
            column=column_of(c),
        )
    big = np.abs(out) > MAX_ABS_VALUE
    if big.any():
        r, c = (int(i) for i in np.argwhere(big)[0])
        raise DataFormatError(
            f"vector value is {float(values[r, c]):g}, too large to work with: squares and sums of "
            f"such values overflow float32, so distances and projections would be NaN (every "
            f"|x| must be <= {MAX_ABS_VALUE:g}; rescale the vectors)",
            file=file,
            row=row_of(r),
            column=column_of(c),
        )
    return out


def vector_notices(vectors: NDArray[np.float32]) -> tuple[str, ...]:
    """Notes on vectors that load but make a poor map: all identical, or zero rows (cosine).

    Parameters
    ----------
    vectors : ndarray of shape (n_samples, n_features), dtype float32, finite

    Returns
    -------
    tuple of str
        Empty when there is nothing to say. Costs four reductions over the matrix, no copy.
    """
    n = vectors.shape[0]
    notes = []
    if n > 1 and bool(np.all(vectors.min(axis=0) == vectors.max(axis=0))):
        notes.append(
            f"all {n:,} vectors are identical: every projection puts them on one spot and every "
            "neighbour list is a tie, so the map carries no information"
        )
        return tuple(notes)
    zero = int(np.count_nonzero((vectors.max(axis=1) == 0) & (vectors.min(axis=1) == 0)))
    if zero:
        notes.append(
            f"{zero:,} of {n:,} vectors are all zeros: they have no direction, so their cosine "
            "similarity to every item is taken as 0"
        )
    return tuple(notes)


def as_numbers(s: pd.Series, decimal: str = ".") -> pd.Series:
    """Cells as float64, NaN where a cell is not a number (or is missing). With ``decimal=","``
    a text cell is a number only when written with a decimal comma (``1,5``) or without any
    decimal mark, so a ``1.5`` in such a file is reported instead of read."""
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(np.float64)

    def text(v: object) -> object:
        if isinstance(v, (int, float, np.number)):
            return v
        v = str(v)
        if decimal == ",":
            return "x" if "." in v else v.replace(",", ".")
        return v

    out = pd.to_numeric(s.astype(object).map(text), errors="coerce")
    return out.astype(np.float64) if pd.api.types.is_numeric_dtype(out) else pd.Series(np.nan, index=s.index)


def numeric_vectors(
    df: pd.DataFrame,
    cols: list,
    *,
    file: str,
    row_of: Callable[[int], int],
    hint: str = "",
    decimal: str = ".",
) -> np.ndarray:
    """Vectors ``(n_rows, len(cols)) float32`` from numeric columns; names the first bad cell
    (``hint`` is appended to that message)."""
    values = np.empty((len(df), len(cols)), dtype=np.float64)
    for j, c in enumerate(cols):
        s = df[c]
        nums = as_numbers(s, decimal)
        bad = np.flatnonzero((nums.isna() & s.notna()).to_numpy())
        if bad.size:
            raise DataFormatError(
                f"{s.iloc[bad[0]]!r} is not a finite number; every cell of a vector column must be one{hint}",
                file=file,
                row=row_of(int(bad[0])),
                column=c,
            )
        values[:, j] = nums.to_numpy(dtype=np.float64, na_value=np.nan)
    return checked_float32(values, file=file, row_of=row_of, column_of=lambda j: cols[j])


def list_vectors(s: pd.Series, *, file: str, row_of: Callable[[int], int]) -> np.ndarray:
    """Vectors from one column of lists/arrays or strings ``"[0.1, 0.2]"`` / ``"[0.1 0.2]"``."""
    rows: list[np.ndarray] = []
    for i, v in enumerate(s.astype(object)):
        if is_missing(v):
            raise DataFormatError("vector cell is empty", file=file, row=row_of(i), column=s.name)
        try:
            if isinstance(v, str):
                toks = [t for t in re.split(r"[,\s]+", v.strip()[1:-1]) if t]
                arr = np.array(toks, dtype=np.float64)
            else:
                arr = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataFormatError(
                f"vector list is not all numbers ({exc})", file=file, row=row_of(i), column=s.name
            ) from None
        if arr.ndim != 1 or (rows and arr.size != rows[0].size) or arr.size == 0:
            want = f"{rows[0].size} numbers as in row {row_of(0)}" if rows else "a flat list of numbers"
            raise DataFormatError(
                f"vector has {arr.size} numbers, expected {want}",
                file=file,
                row=row_of(i),
                column=s.name,
            )
        rows.append(arr)
    return checked_float32(np.stack(rows), file=file, row_of=row_of, column_of=lambda j: f"{s.name}[{j}]")
