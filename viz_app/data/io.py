"""Reading embedding files: CSV/TSV, Embedding Projector TSV, word2vec/GloVe text, plain text,
``.npy``/``.npz`` and parquet.

``read`` finds out what a file holds (:class:`RawData`); ``to_embedding_set`` turns that into an
:class:`~viz_app.data.model.EmbeddingSet`, embedding texts with :func:`viz_app.embed.encoders.encode` when the
file has no vectors; ``load`` does both. The format is decided from the content, the extension
only breaks ties:

1. magic bytes: ``\\x93NUMPY`` -> npy, ``PK\\x03\\x04`` (zip) -> npz, ``PAR1`` -> parquet; gzip,
   pickle, PDF, images, HDF5 are refused by name;
2. otherwise text: UTF-8 (BOM allowed), UTF-16 with BOM, else Latin-1 (with a notice);
3. first line tab-separated numbers only -> Embedding Projector tensors (no header);
4. first line ``word v1 v2 ...`` (single spaces) or ``N D`` -> word2vec/GloVe text (gensim);
5. same field count (>= 2) on >= 80 % of the first 50 lines under tab, comma or semicolon, or a
   ``.csv``/``.tsv`` name -> table (pandas); the first line is a header unless it is numeric.
   Decimal commas: a tab- or semicolon-separated table whose numbers are mostly written ``1,5``
   is read with ``decimal=","`` (``1,5`` is 1.5, with a notice); in a comma-separated file an
   unquoted ``1,5`` is two fields and the row is refused as having too many fields;
6. anything else -> plain text, one item per non-blank line, to embed.

Every problem raises :class:`~viz_app.errors.DataFormatError` naming the file and, when known,
the 1-based row (the line number in a text file) and the column. Among what is refused: a
record with too few or too many fields (pandas would pad or shift it silently), an unclosed
quote, a repeated column name (pandas would rename it ``x.1``), NUL bytes, UTF-16 without a
byte-order mark, a cell that is empty, NaN, infinite or beyond float32 range in a vector
column, vectors of different lengths or of one dimension, pickled ``.npy``/``.npz`` content
(never unpickled), a truncated ``.npy``.

Budgets (:mod:`viz_app.data.limits`) are checked before memory is allocated: file size; rows x
columns of a table counted by the csv module before pandas parses it; shapes declared by
``.npy`` headers; the zip directory and member headers of an ``.npz``; parquet footer row
counts and sizes; texts to embed. Over budget raises :class:`~viz_app.errors.ResourceLimitError`.

Some files load with a notice in :attr:`RawData.notices` instead: Latin-1 text, UTF-16/32,
decimal commas, all vectors identical (the map is one spot), all-zero vectors (cosine
similarity 0 to everything). Repeated labels are fine: ids are row numbers. No Streamlit here.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from viz_app.data.limits import Limits, get_limits
from viz_app.data.model import EmbeddingSet
from viz_app.data.readers.binary import read_npy, read_npz, read_parquet, read_parquet_parts
from viz_app.data.readers.common import RawData, ReadOptions, to_labels, vector_notices
from viz_app.data.readers.table import (
    read_projector_metadata,
    read_projector_tensors,
    read_table,
)
from viz_app.data.readers.text import decode, read_lines, read_word2vec, sniff_text
from viz_app.embed.encoders import DEFAULT_MODEL, encode
from viz_app.errors import DataFormatError, ParameterError

__all__ = [
    "FORMATS",
    "MAX_FILE_BYTES",
    "FormatInfo",
    "RawData",
    "load",
    "part_files",
    "part_name",
    "read",
    "to_embedding_set",
]

Source = str | os.PathLike | bytes | IO[bytes]

#: Default largest file :func:`read` accepts, in bytes (1 GiB); the limit in force is
#: :attr:`viz_app.data.limits.Limits.max_upload_bytes` (``EMBEDDING_LENS_MAX_UPLOAD_MB``).
MAX_FILE_BYTES = Limits().max_upload_bytes


@dataclass(frozen=True)
class FormatInfo:
    """One accepted file format, for help texts.

    Attributes
    ----------
    format : str
        The :attr:`RawData.format` value.
    title, extensions, description : str
    example : str
        Two lines of the file (or, for binary formats, two lines of Python that write one).
    """

    format: str
    title: str
    extensions: str
    description: str
    example: str


FORMATS: tuple[FormatInfo, ...] = (
    FormatInfo(
        "csv",
        "CSV/TSV table with vector columns",
        ".csv .tsv",
        "Header row; the numeric columns (>= 2) are the vector, except those that look like "
        "metadata (named id/rank/count/year..., an integer rank or id, a column on a much larger "
        "scale); the Data page shows every column's role and lets you change it.",
        "label,rank,dim0,dim1,dim2\nking,691,0.50451,0.68607,-0.59517",
    ),
    FormatInfo(
        "csv",
        "CSV/TSV table with a list column",
        ".csv .tsv",
        "Header row; one column holds each vector as a list of numbers.",
        'label,vector\nking,"[0.50451, 0.68607, -0.59517]"',
    ),
    FormatInfo(
        "csv",
        "CSV/TSV table of texts",
        ".csv .tsv",
        "Header row, no vectors: the longest text column is embedded.",
        "text,category\nThe storm forced hundreds to leave their homes.,news",
    ),
    FormatInfo(
        "projector",
        "Embedding Projector TSV (+ metadata TSV)",
        ".tsv",
        "Tab-separated numbers, no header; optional metadata file with one row per vector "
        "(a header line when it has several columns).",
        "0.50451\t0.68607\t-0.59517\n0.37854\t1.8233\t-1.2648",
    ),
    FormatInfo(
        "word2vec",
        "word2vec / GloVe text",
        ".txt .vec",
        "One word and its numbers per line, single spaces; word2vec adds an 'N D' line.",
        "king 0.50451 0.68607 -0.59517\nqueen 0.37854 1.8233 -1.2648",
    ),
    FormatInfo(
        "txt",
        "Plain text",
        ".txt",
        "One text per line, embedded with a sentence-transformers model.",
        "The storm forced hundreds to leave their homes.\nA gripping, funny film.",
    ),
    FormatInfo(
        "npy",
        "NumPy .npy",
        ".npy",
        "One 2-D float/int array (n_samples, n_features); pickled objects are refused.",
        "import numpy as np\nnp.save('vectors.npy', X.astype(np.float32))",
    ),
    FormatInfo(
        "npz",
        "NumPy .npz",
        ".npz",
        "Arrays 'vectors' (2-D) and optional 'labels' (1-D strings); pickles refused.",
        "import numpy as np\nnp.savez('data.npz', vectors=X, labels=np.array(words))",
    ),
    FormatInfo(
        "parquet",
        "Parquet table",
        ".parquet",
        "Same column rules as CSV; a list<float> column or numeric columns.",
        "import pandas as pd\npd.DataFrame({'label': words, 'vector': list(X)}).to_parquet('w.parquet')",
    ),
)

_KNOWN_BINARY = {
    b"\x1f\x8b": "gzip-compressed data (decompress it first)",
    b"\x80\x02": "a Python pickle (refused for safety)",
    b"\x80\x03": "a Python pickle (refused for safety)",
    b"\x80\x04": "a Python pickle (refused for safety)",
    b"\x80\x05": "a Python pickle (refused for safety)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x89HDF": "an HDF5 file",
}
_ACCEPTED = "accepted: CSV, TSV, Embedding Projector TSV, word2vec/GloVe text, plain text, .npy, .npz, .parquet"
_BLANK = re.compile(rb"\s*\Z")


def _read_source(source: Source, *, name: str | None, default: str, limits: Limits) -> tuple[bytes, str]:
    """All bytes of a path, bytes object or binary file-like (read once), and its file name.

    The name is ``name`` if given, else the path's or the object's ``.name`` (its last path part),
    else ``default``.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        fname = name or path.name
        try:
            st = path.stat()
            if not stat.S_ISREG(st.st_mode):  # /dev/zero would be read forever, a FIFO would hang
                raise DataFormatError("is not a regular file (a device, FIFO, socket or folder)", file=fname)
            limits.check_upload(st.st_size, file=fname)
            return path.read_bytes(), fname
        except OSError as exc:
            raise DataFormatError(f"cannot be opened: {exc.strerror or exc}", file=fname) from None
    if isinstance(source, (bytes, bytearray, memoryview)):
        limits.check_upload(len(source), file=name or default)
        return bytes(source), name or default
    fname = name or Path(str(getattr(source, "name", "") or default)).name
    size = getattr(source, "size", None)
    if isinstance(size, int):
        limits.check_upload(size, file=fname)
    if hasattr(source, "getvalue"):  # io.BytesIO, Streamlit's UploadedFile
        data = source.getvalue()
    else:
        if getattr(source, "seekable", lambda: False)():
            source.seek(0)
        data = source.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    limits.check_upload(len(data), file=fname)
    return bytes(data), fname


#: Most part files of a partitioned parquet folder :func:`read` accepts.
MAX_PARTS = 10_000
_DIGITS = re.compile(r"(\d+)")


def part_name(j: int) -> str:
    """File name of part ``j`` of the partitioned parquet this package writes:
    ``part-00000.parquet``, ``part-00001.parquet``, ... (read back in that order)."""
    return f"part-{j:05d}.parquet"


def part_files(folder: Path, *, file: str) -> list[Path]:
    """The ``*.parquet`` part files of a partitioned parquet folder, in natural name order
    (``part.2`` before ``part.10``); names starting with ``.`` or ``_`` (``_metadata``,
    ``_SUCCESS``) are skipped.

    Raises
    ------
    DataFormatError
        The folder cannot be listed, holds no part file or more than :data:`MAX_PARTS`, or a part
        is not a regular file (``file`` names the folder in the message).
    """
    fname = file
    try:
        files = [p for p in folder.iterdir() if p.suffix == ".parquet" and not p.name.startswith((".", "_"))]
    except OSError as exc:
        raise DataFormatError(f"cannot be opened: {exc.strerror or exc}", file=fname) from None
    if not files:
        raise DataFormatError("is a folder without .parquet part files", file=fname)
    if len(files) > MAX_PARTS:
        raise DataFormatError(f"holds {len(files):,} part files; at most {MAX_PARTS:,} are read", file=fname)
    files.sort(key=lambda p: [int(t) if t.isdigit() else t for t in _DIGITS.split(p.name)])
    for p in files:
        if not p.is_file():
            raise DataFormatError(f"part {p.name} is not a regular file", file=fname)
    return files


def _read_parts(folder: Path, *, name: str | None, options: ReadOptions, limits: Limits) -> RawData:
    """A folder of parquet part files (:func:`part_files`) read as one table, parts in natural
    name order. The size budget is over all parts."""
    fname = name or folder.name
    files = part_files(folder, file=fname)
    total = 0
    for p in files:
        total += p.stat().st_size
        limits.check_upload(total, file=fname)
    try:
        parts = [p.read_bytes() for p in files]
    except OSError as exc:
        raise DataFormatError(f"cannot be opened: {exc.strerror or exc}", file=fname) from None
    for p, data in zip(files, parts):
        if not data.startswith(b"PAR1"):
            raise DataFormatError(f"part {p.name} is not a parquet file", file=fname)
    return read_parquet_parts(parts, file=fname, options=options, limits=limits, part_names=[p.name for p in files])


def _dispatch(data: bytes, fname: str, options: ReadOptions, limits: Limits) -> RawData:
    """Pick the reader from the content (magic bytes, then text sniffing) and run it."""
    if _BLANK.match(data):
        raise DataFormatError("file is empty", file=fname)
    if data.startswith(b"\x93NUMPY"):
        return read_npy(data, file=fname, limits=limits)
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return read_npz(data, file=fname, limits=limits)
    if data.startswith(b"PAR1"):
        return read_parquet(data, file=fname, options=options, limits=limits)
    for magic, what in _KNOWN_BINARY.items():
        if data.startswith(magic):
            raise DataFormatError(f"is {what}; {_ACCEPTED}", file=fname)
    limits.check_line_lengths(data, file=fname)
    text, notices = decode(data, file=fname)
    if not text.strip():
        raise DataFormatError("file is empty", file=fname)
    kind = sniff_text(text, ext=Path(fname).suffix.lower())
    if kind.format == "projector":
        raw = read_projector_tensors(text, file=fname, limits=limits)
    elif kind.format == "word2vec":
        raw = read_word2vec(text, file=fname, header=kind.header, limits=limits)
    elif kind.format in ("csv", "tsv"):
        raw = read_table(
            text,
            sep=kind.sep or ",",
            header=kind.header,
            file=fname,
            fmt=kind.format,
            options=options,
            decimal=kind.decimal,
            limits=limits,
        )
    else:
        raw = read_lines(text, file=fname)
    return replace(raw, notices=notices + raw.notices) if notices else raw


def _attach_metadata(raw: RawData, metadata: Source, limits: Limits) -> RawData:
    """Join an Embedding Projector metadata TSV (one row per vector) to ``raw``."""
    data, mname = _read_source(metadata, name=None, default="metadata", limits=limits)
    if raw.vectors is None:
        raise DataFormatError(f"a metadata file needs a vectors file, but {raw.name} holds texts", file=mname)
    if _BLANK.match(data):
        raise DataFormatError("metadata file is empty", file=mname)
    limits.check_line_lengths(data, file=mname)
    text, notices = decode(data, file=mname)
    meta = read_projector_metadata(text, file=mname)
    if len(meta) != raw.n_samples:
        raise DataFormatError(
            f"metadata has {len(meta)} rows but {raw.name} has {raw.n_samples} vectors; it needs "
            "one row per vector (after a header line when it has several columns)",
            file=mname,
        )
    own = raw.metadata.drop(columns=[c for c in raw.metadata.columns if c in meta.columns])
    combined = pd.concat([own.reset_index(drop=True), meta.reset_index(drop=True)], axis=1)
    notes = raw.notices + notices + (f"metadata from {mname}: {meta.shape[1]} columns",)
    return replace(raw, metadata=combined, labels=to_labels(meta.iloc[:, 0]), notices=notes)


def _apply_choices(raw: RawData, options: ReadOptions) -> RawData:
    """Apply ``label_column``/``text_column`` to formats whose reader does not choose columns."""
    cols = list(raw.metadata.columns)
    for what, col in (("label_column", options.label_column), ("text_column", options.text_column)):
        if col is not None and col not in cols:
            raise DataFormatError(f"{what}={col!r} is not a metadata column; columns are {cols}", file=raw.name)
    changes: dict = {}
    if options.label_column is not None:
        changes["labels"] = to_labels(raw.metadata[options.label_column])
    if options.text_column is not None:
        changes["text_column"] = options.text_column
    return replace(raw, **changes) if changes else raw


def read(
    source: Source,
    *,
    metadata: Source | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    vector_columns: Sequence[str] | None = None,
    metadata_columns: Sequence[str] | None = None,
    name: str | None = None,
    limits: Limits | None = None,
) -> RawData:
    """Read a file of embeddings or texts; the format comes from the content (module docstring).

    Parameters
    ----------
    source : str, path-like, bytes or binary file-like
        The file. A file-like (``io.BytesIO``, Streamlit's ``UploadedFile``) is read once, from
        the start. A folder path is read as partitioned parquet: its ``*.parquet`` part files
        (e.g. written by ``embedding-lens map --engine dask``) as one table.
    metadata : same kinds as ``source``, optional
        Embedding Projector metadata TSV with one row per vector: one column -> no header (the
        labels); several columns -> header line, labels from the first column.
    text_column : str, optional
        Table column to embed (default: the longest text column when there are no vectors), or
        the column holding each item's text.
    label_column : str, optional
        Column whose values become the labels (default: see :func:`~viz_app.data.readers.table.table_to_raw`).
    vector_columns : sequence of str, optional
        Tables only: exactly these columns are the vector (several numeric ones, or one list
        column). Default: decided from the content (:mod:`viz_app.data.readers.roles`; an
        integer rank, an id, a column on another scale are metadata); ``RawData.roles`` says
        what each column became and why.
    metadata_columns : sequence of str, optional
        Tables only: columns that are never vector dimensions (the rest decided as usual).
    name : str, optional
        File name for messages; default the path's name, the object's ``.name``, or ``"upload"``.
    limits : Limits, optional
        Budgets; default :func:`viz_app.data.limits.get_limits` (defaults and ``EMBEDDING_LENS_*``).

    Returns
    -------
    RawData
        ``notices`` say what was assumed or is odd (encoding, decimal commas, identical or
        zero vectors, ...); show them to the user.

    Raises
    ------
    DataFormatError
        Empty/unreadable/unsupported file or any malformed content; names file, row and column.
    ResourceLimitError
        Over a budget of ``limits`` (file size, vector matrix, decompressed size, ``.npz``
        members, texts to embed), found before the memory is allocated.
    """
    limits = limits or get_limits()
    options = ReadOptions(
        text_column,
        label_column,
        tuple(vector_columns) if vector_columns else None,
        tuple(metadata_columns) if metadata_columns else None,
    )
    if metadata is not None:
        options = replace(options, text_column=None, label_column=None)
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        raw = _read_parts(Path(source), name=name, options=options, limits=limits)
        fname = raw.name
    else:
        data, fname = _read_source(source, name=name, default="upload", limits=limits)
        raw = _dispatch(data, fname, options, limits)
    for what, val in (("vector_columns", vector_columns), ("metadata_columns", metadata_columns)):
        if val and raw.format not in ("csv", "tsv", "parquet"):
            raise ParameterError(f"{what} applies to CSV/TSV/parquet tables; {fname} is {raw.format}")
    if metadata is not None:
        raw = _attach_metadata(raw, metadata, limits)
    if metadata is not None or raw.format not in ("csv", "tsv", "parquet"):
        raw = _apply_choices(raw, ReadOptions(text_column, label_column))
    if raw.texts is not None:
        limits.check_texts(len(raw.texts), file=fname)
    else:
        notes = vector_notices(raw.vectors) if raw.vectors is not None else ()
        raw = replace(raw, notices=raw.notices + notes) if notes else raw
    return raw


def to_embedding_set(
    raw: RawData, *, model: str | None = None, progress: Callable[[int, int], None] | None = None
) -> EmbeddingSet:
    """Build the :class:`EmbeddingSet`; embed ``raw.texts`` first if the file had no vectors.

    Parameters
    ----------
    raw : RawData
    model : str, optional
        Encoder for texts (default :data:`viz_app.embed.encoders.DEFAULT_MODEL`); unused when ``raw``
        already has vectors.
    progress : callable(done, total), optional
        Called by :func:`viz_app.embed.encoders.encode` while embedding.

    Returns
    -------
    EmbeddingSet
        ids ``"0".."n-1"`` (rows; labels may repeat); vectors ``(n, d) float32``, ``(n, 384)``
        for texts embedded by the default sentence-transformers model.
    """
    ids = np.array([str(i) for i in range(raw.n_samples)], dtype=object)
    model_name = None
    vectors = raw.vectors
    if vectors is None:
        vectors = encode(raw.texts or [], model=model, progress=progress)
        model_name = model or DEFAULT_MODEL
    return EmbeddingSet(
        vectors,
        ids=ids,
        labels=np.asarray(raw.labels, dtype=object),
        metadata=raw.metadata,
        name=raw.name,
        model_name=model_name,
        text_column=raw.text_column,
    )


def load(
    source: Source,
    *,
    metadata: Source | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    vector_columns: Sequence[str] | None = None,
    metadata_columns: Sequence[str] | None = None,
    name: str | None = None,
    model: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    limits: Limits | None = None,
) -> EmbeddingSet:
    """``to_embedding_set(read(source, ...), model=model, progress=progress)``; see both."""
    raw = read(
        source,
        metadata=metadata,
        text_column=text_column,
        label_column=label_column,
        vector_columns=vector_columns,
        metadata_columns=metadata_columns,
        name=name,
        limits=limits,
    )
    return to_embedding_set(raw, model=model, progress=progress)
