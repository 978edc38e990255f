"""Tables for :mod:`viz_app.data.io`: CSV/TSV with a header and Embedding Projector TSV pairs; the
column roles of every table (also parquet, read in :mod:`viz_app.data.readers.binary`).

pandas does the parsing (``read_csv``); the csv module only
counts the fields of each record first, because pandas silently pads short rows with NaN and
turns an extra field into an index. Column roles are then decided by :func:`table_to_raw`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pandas as pd

from viz_app.data.limits import Limits, get_limits
from viz_app.data.readers.common import (
    RawData,
    ReadOptions,
    empty_frame,
    is_missing,
    list_vectors,
    numeric_vectors,
    row_labels,
    to_labels,
)
from viz_app.data.readers.roles import (
    LABEL_NAMES,
    METADATA_NAMES,
    TEXT_NAMES,
    column_kind,
    is_metadata_name,
    propose_roles,
)
from viz_app.errors import DataFormatError

__all__ = [
    "LABEL_NAMES",
    "METADATA_NAMES",
    "TEXT_NAMES",
    "check_unique_names",
    "column_kind",
    "is_metadata_name",
    "read_delimited",
    "read_projector_metadata",
    "read_projector_tensors",
    "read_table",
    "table_to_raw",
]

_SEP_NAMES = {",": "a comma", ";": "a semicolon", "\t": "a tab"}


def _record_lines(text: str, *, sep: str, quoting: int, file: str) -> tuple[list[int], list[str]]:
    """1-based line where each non-blank record starts, and the first record's fields; every
    record must have as many fields as the first one (csv module quoting rules, as pandas').

    The csv module runs in strict mode first, so a quote that is never closed is reported at
    the record where it opens instead of silently swallowing the rest of the file; other
    strict-mode complaints (e.g. ``"ab"c``, which pandas accepts) fall back to normal mode.
    """
    try:
        return _scan_records(text, sep=sep, quoting=quoting, file=file, strict=True)
    except csv.Error:
        pass
    try:
        return _scan_records(text, sep=sep, quoting=quoting, file=file, strict=False)
    except csv.Error as exc:
        raise DataFormatError(f"cannot be split into fields: {exc}", file=file) from None


def _scan_records(text: str, *, sep: str, quoting: int, file: str, strict: bool) -> tuple[list[int], list[str]]:
    starts: list[int] = []
    first: list[str] = []
    prev = 0
    reader = csv.reader(io.StringIO(text), delimiter=sep, quoting=quoting, strict=strict)  # type: ignore[arg-type]
    try:
        for fields in reader:
            start, prev = prev + 1, reader.line_num
            if not fields:
                continue
            if not starts:
                first = fields
            elif len(fields) != len(first):
                raise DataFormatError(_width_message(fields, len(first), starts[0], sep), file=file, row=start)
            starts.append(start)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise DataFormatError(
                f"a cell is longer than {csv.field_size_limit():,} characters, the limit for one "
                "table cell (an unclosed quote can also cause this)",
                file=file,
                row=prev + 1,
            ) from None
        if strict and "unexpected end of data" in str(exc):
            raise DataFormatError(
                f'a quoted cell (starting with ") in the record that starts on this line is never '
                f"closed: it would swallow lines {prev + 1}-{reader.line_num} of the file; close the "
                'quote, and write a quote inside a quoted cell as ""',
                file=file,
                row=prev + 1,
            ) from None
        raise
    return starts, first


def _width_message(fields: list[str], width: int, first_line: int, sep: str) -> str:
    few = "too few" if len(fields) < width else "too many"
    msg = f"{few} fields: {len(fields)} instead of {width} as on line {first_line}"
    if few == "too many" and sep == "," and any(f.strip().isdigit() for f in fields[1:]):
        msg += (
            "; a number with a decimal comma (1,5) splits into two fields in a comma-separated "
            "file: use ';' as the delimiter or '.' as the decimal mark"
        )
    return msg


def read_delimited(
    text: str,
    *,
    sep: str,
    header: bool,
    file: str,
    quoting: int = csv.QUOTE_MINIMAL,
    decimal: str = ".",
    limits: Limits | None = None,
    text_columns: tuple[int, ...] = (),
) -> tuple[pd.DataFrame, list[int]]:
    """Parse delimited text with pandas after checking every record's field count.

    Parameters
    ----------
    decimal : {".", ","}, default="."
        Decimal mark of the numbers (pandas ``decimal``); ``","`` only with another delimiter.
    limits : Limits, optional
        Budgets (default :func:`~viz_app.data.limits.get_limits`): rows x columns as float32 must fit
        ``max_matrix_bytes``, checked on the counted records before pandas parses anything.
    text_columns : tuple of int
        Positions of columns read as text, never as numbers (``007`` stays ``"007"``).

    Returns
    -------
    frame : DataFrame of shape (n_rows, n_columns)
        Numbers parsed by pandas; only empty cells are missing (``"NA"``, ``"null"`` stay text).
        Without a header the columns are ``0 .. n_columns-1``.
    lines : list of int of length n_rows
        1-based line number of each data row in the file.

    Raises
    ------
    DataFormatError
        Empty file, header without data rows, a record with too few/many fields (line named),
        an unclosed quote or an over-long cell (line named), duplicate column names, or a
        pandas parser error.
    ResourceLimitError
        More than ``max_columns`` columns, or the table would need more than
        ``max_matrix_bytes`` as float32.
    """
    starts, first = _record_lines(text, sep=sep, quoting=quoting, file=file)
    if not starts:
        raise DataFormatError("file is empty", file=file)
    lines = starts[1:] if header else starts
    if not lines:
        raise DataFormatError("has a header row but no data rows", file=file, row=starts[0])
    limits = limits or get_limits()
    limits.check_columns(len(first), file=file)
    if header:
        check_unique_names(first, file=file, row=starts[0])
    limits.check_matrix(len(lines), len(first), file=file, what="the table")
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=0 if header else None,
            quoting=quoting,
            decimal=decimal,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=True,
            engine="c",
            dtype={(first[i] if header else i): str for i in text_columns if i < len(first)} or None,
        )
    except (ValueError, csv.Error, OverflowError) as exc:  # pandas.errors.ParserError is a ValueError
        raise DataFormatError(f"could not be parsed as a table: {exc}", file=file) from None
    if len(df) != len(lines):
        raise DataFormatError(
            f"pandas found {len(df)} data rows but the csv module {len(lines)}; check quotes",
            file=file,
        )
    return df, lines


def check_unique_names(names: list[str], *, file: str, row: int | None = None) -> None:
    """Refuse a repeated column name (pandas would silently rename the second ``x`` to ``x.1``).
    Empty names are left to pandas, which calls them ``Unnamed: N``."""
    seen: dict[str, int] = {}
    for j, key in enumerate(names, start=1):
        if key == "":
            continue
        if key in seen:
            raise DataFormatError(
                f"column name {key!r} is used twice (columns {seen[key]} and {j}); every column needs its own name",
                file=file,
                row=row,
            )
        seen[key] = j


def read_table(
    text: str,
    *,
    sep: str,
    header: bool,
    file: str,
    fmt: str,
    options: ReadOptions,
    decimal: str = ".",
    limits: Limits | None = None,
) -> RawData:
    """A CSV/TSV table (header row unless the first row is data): see :func:`table_to_raw`.

    ``decimal=","`` (tab/semicolon tables whose numbers are written ``1,5``) reads ``1,5`` as
    1.5, with a notice; a cell ``1.5`` in such a file is then not a number and is reported.
    """
    limits = limits or get_limits()
    df, lines = read_delimited(text, sep=sep, header=header, file=file, decimal=decimal, limits=limits)
    notices: tuple[str, ...] = ()
    if decimal == ",":
        notices = (f"decimal commas read as decimal points (1,5 = 1.5); the delimiter is {_SEP_NAMES[sep]}",)
    if not header:
        df.columns = [f"col{i + 1}" for i in range(df.shape[1])]
        notices += (f"no header row: columns named col1..col{df.shape[1]}",)
    hint = " (this file writes decimals with a comma, 1,5; use one decimal mark throughout)" if decimal == "," else ""
    return table_to_raw(
        df,
        file=file,
        fmt=fmt,
        options=options,
        row_of=lambda r: lines[r],
        notices=notices,
        number_hint=hint,
        decimal=decimal,
    )


def table_to_raw(
    df: pd.DataFrame,
    *,
    file: str,
    fmt: str,
    options: ReadOptions,
    row_of: Callable[[int], int],
    notices: tuple[str, ...] = (),
    number_hint: str = "",
    decimal: str = ".",
) -> RawData:
    """Decide the roles of a table's columns (:func:`~viz_app.data.readers.roles.propose_roles`)
    and build a :class:`RawData` whose ``roles`` say what each column became and why.

    1. vectors: the columns with role ``vector`` (one list column, or >= 2 numeric columns;
       a column where most cells are numbers but some are not counts as numeric, so the bad
       cell is reported instead of silently becoming metadata);
    2. without vectors, the texts to embed: the column with role ``text``; a table with neither
       vectors nor text, or whose only text is short labels beside numeric columns, is refused;
    3. labels: the ``label`` column, else the ``text`` column, else row numbers ``"0".."n-1"``;
    4. metadata: every column except the vector columns.
    """
    roles = propose_roles(
        df,
        file=file,
        vector_columns=options.vector_columns,
        metadata_columns=options.metadata_columns,
        label_column=options.label_column,
        text_column=options.text_column,
        decimal=decimal,
    )
    df.columns = [str(c) for c in df.columns]
    kinds = {r.column: r.kind for r in roles}
    vec_cols = [r.column for r in roles if r.role == "vector"]
    text_col = next((r.column for r in roles if r.role == "text"), None)
    meta = df.drop(columns=vec_cols).reset_index(drop=True)
    vectors = texts = None
    if len(vec_cols) == 1 and kinds[vec_cols[0]] == "list":
        vectors = list_vectors(df[vec_cols[0]], file=file, row_of=row_of)
    elif vec_cols:
        if any(kinds[c] == "list" for c in vec_cols):
            raise DataFormatError("a list column cannot be combined with other vector columns", file=file)
        vectors = numeric_vectors(df, vec_cols, file=file, row_of=row_of, hint=number_hint, decimal=decimal)
    else:
        assert text_col is not None  # propose_roles raises otherwise
        texts = _texts(df[text_col], file=file, row_of=row_of)
    label = options.label_column or next((r.column for r in roles if r.role == "label"), None) or text_col
    labels = row_labels(len(df)) if label is None else to_labels(df[label])
    notes = list(notices)
    demoted = [r for r in roles if r.role == "metadata" and r.kind in ("numeric", "mostly_numeric")]
    if vectors is not None and len(vec_cols) > 1:
        notes.append(f"{len(vec_cols)} numeric vector columns, {meta.shape[1]} metadata columns")
    for r in demoted[:3]:
        notes.append(f"numeric column {r.column!r} is kept as metadata: {r.reason}")
    if texts is not None:
        notes.append(f"no vectors: the texts of column {text_col!r} are embedded")
    return RawData(file, fmt, vectors, texts, labels, meta, text_col, tuple(notes), roles)


def _texts(s: pd.Series, *, file: str, row_of: Callable[[int], int]) -> list[str]:
    texts = ["" if is_missing(v) else str(v).strip() for v in s.astype(object)]
    empty = next((i for i, t in enumerate(texts) if not t), None)
    if empty is not None:
        raise DataFormatError(
            "empty text; every row needs a text to embed",
            file=file,
            row=row_of(empty),
            column=s.name,
        )
    return texts


def read_projector_tensors(text: str, *, file: str, limits: Limits | None = None) -> RawData:
    """TensorFlow Embedding Projector tensors: tab-separated numbers, no header, one row per item.

    Returns
    -------
    RawData
        ``format="projector"``; labels are row numbers until a metadata file is attached.
    """
    df, lines = read_delimited(text, sep="\t", header=False, file=file, quoting=csv.QUOTE_NONE, limits=limits)
    df.columns = cols = list(range(1, df.shape[1] + 1))  # 1-based column numbers in messages
    vectors = numeric_vectors(df, cols, file=file, row_of=lambda r: lines[r])
    return RawData(file, "projector", vectors, None, row_labels(len(df)), empty_frame(len(df)), None)


def read_projector_metadata(text: str, *, file: str) -> pd.DataFrame:
    """Embedding Projector metadata TSV: one column -> no header (one label per line); several
    columns -> the first line is the header.

    Returns
    -------
    DataFrame of shape (n_rows, n_columns)
        A single column is named ``label``.
    """
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    header = "\t" in first
    # the first column holds the labels: text, never numbers ("007" must not become 7)
    df, _ = read_delimited(text, sep="\t", header=header, file=file, quoting=csv.QUOTE_NONE, text_columns=(0,))
    if not header:
        df.columns = ["label"]
        df["label"] = to_labels(df["label"])
    return df
