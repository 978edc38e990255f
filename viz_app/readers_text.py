"""Text files for :mod:`viz_app.io`: decoding, telling the text formats apart, word2vec/GloVe
text and plain one-item-per-line text.

Parsing of word vectors is done by gensim (``KeyedVectors.load_word2vec_format``, Řehůřek &
Sojka 2010); tables are left to :mod:`viz_app.readers_table` (pandas).
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from dataclasses import dataclass

import pandas as pd

from viz_app.errors import DataFormatError
from viz_app.readers_common import RawData, checked_float32, empty_frame

__all__ = ["TextKind", "decode", "read_lines", "read_word2vec", "sniff_text"]

_SAMPLE_LINES = 50  # lines looked at to decide the format; the full parse checks every line
_SAMPLE_CHARS = 1 << 20
_TABLE_DELIMITERS = ("\t", ",", ";")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def decode(data: bytes, *, file: str) -> tuple[str, tuple[str, ...]]:
    """Bytes to text: UTF-8 (with or without BOM), UTF-16 (BOM), else Latin-1 with a notice.

    Parameters
    ----------
    data : bytes
        Whole file content.
    file : str
        File name for messages.

    Returns
    -------
    text : str
        Without byte-order mark.
    notices : tuple of str
        ``("decoded as Latin-1 ...",)`` when the bytes are not valid UTF-8.

    Raises
    ------
    DataFormatError
        The content looks like binary data (NUL or many control characters) once decoded.
    """
    notices: tuple[str, ...] = ()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _strict(data, "utf-16", file)
        notices = ("decoded as UTF-16 (byte-order mark found)",)
    elif data.startswith(b"\xef\xbb\xbf"):
        text = _strict(data, "utf-8-sig", file)
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            try:  # Windows-1252 is Latin-1 with printable characters in 0x80-0x9f
                text, enc = data.decode("cp1252"), "Windows-1252"
            except UnicodeDecodeError:
                text, enc = data.decode("latin-1"), "ISO-8859-1"
            note = f"decoded as Latin-1 ({enc}): not valid UTF-8 (first bad byte at {exc.start})"
            notices = (note,)
    head = text[:65536]
    if "\x00" in head or len(_CONTROL.findall(head)) > 0.01 * max(len(head), 1):
        raise DataFormatError(
            "binary data in an unsupported format; accepted: text files (CSV, TSV, word2vec/"
            "GloVe, one text per line) and .npy, .npz, .parquet",
            file=file,
        )
    return text, notices


def _strict(data: bytes, encoding: str, file: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            f"starts with a {encoding.upper()} byte-order mark but byte {exc.start} is not valid {encoding.upper()}",
            file=file,
        ) from None


@dataclass(frozen=True)
class TextKind:
    """Result of :func:`sniff_text`.

    Attributes
    ----------
    format : {"projector", "word2vec", "csv", "tsv", "txt"}
    sep : str or None
        Field delimiter of a table (``","``, ``"\\t"`` or ``";"``).
    header : bool
        A table/word2vec file whose first line is a header (column names, or ``N D``).
    """

    format: str
    sep: str | None = None
    header: bool = False


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return s.strip() != ""


def sniff_text(text: str, *, ext: str) -> TextKind:
    """Decide which text format ``text`` is in, from its first non-blank lines.

    Rules, in order (see :data:`viz_app.io.FORMATS`):

    1. projector tensors: the first line has a tab and every tab-separated field is a number;
    2. word2vec/GloVe: the first line is ``word v1 v2 ...`` (single spaces, >= 2 numbers, no tab),
       or ``N D`` (two integers) followed by such a line;
    3. table: under one of the delimiters tab, comma, semicolon (csv module quoting rules) the
       first line has >= 2 fields and >= 80 % of the next 49 non-blank lines have as many;
       a file named ``.csv``/``.tsv`` is always a table (tab if ``.tsv`` or if the first line
       has a tab, else comma/semicolon). The first line is a header unless all its fields but
       the first are numbers; a first line ``0, 1, 2, ...`` or ``1, 2, 3, ...`` (pandas'/numpy's
       names for unnamed columns) is always a header, also under rule 1;
    4. otherwise plain text, one item per line.
    """
    head = text[:_SAMPLE_CHARS].splitlines()
    if len(text) > _SAMPLE_CHARS and len(head) > 1:
        head = head[:-1]  # possibly cut in the middle
    lines = [ln for ln in head if ln.strip()][:_SAMPLE_LINES]
    first = lines[0]
    tab_fields = first.split("\t")
    if len(tab_fields) > 1 and all(map(_is_number, tab_fields)) and not _is_column_numbers(tab_fields):
        return TextKind("projector")
    if "\t" not in first and _is_w2v_line(first, lines[1:2]):
        return TextKind("word2vec", header=len(first.split()) == 2)
    best: tuple[int, str] | None = None
    for sep in _TABLE_DELIMITERS:
        rows = list(csv.reader(lines, delimiter=sep))
        width = len(rows[0])
        same = sum(len(r) == width for r in rows[1:])
        if width >= 2 and len(rows) > 1 and same >= 0.8 * (len(rows) - 1):
            best = max(best or (0, sep), (width, sep), key=lambda t: t[0])
    if best is None and ext in (".csv", ".tsv"):
        sep = "\t" if ext == ".tsv" or "\t" in first else ";" if first.count(";") > first.count(",") else ","
        best = (0, sep)
    if best is None:
        return TextKind("txt")
    sep = best[1]
    fields = next(csv.reader([first], delimiter=sep))
    header = _is_column_numbers(fields) or not (len(fields) >= 2 and all(_is_number(f) for f in fields[1:]))
    return TextKind("tsv" if sep == "\t" else "csv", sep=sep, header=header)


def _is_column_numbers(fields: list[str]) -> bool:
    """``0,1,2,...`` or ``1,2,3,...`` (>= 3 fields, an empty first field allowed): the column names
    pandas/numpy write for unnamed columns, so a header row, not data."""
    nums = fields[1:] if fields and fields[0] == "" else fields
    if len(nums) < 3 or not all(f.strip().isdigit() for f in nums):
        return False
    start = int(nums[0])
    return start in (0, 1) and [int(f) for f in nums] == list(range(start, start + len(nums)))


def _is_w2v_line(line: str, following: list[str]) -> bool:
    parts = line.rstrip().split(" ")
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return bool(following) and _is_w2v_line(following[0], [])
    return len(parts) >= 3 and all(_is_number(p) for p in parts[1:])


def read_word2vec(text: str, *, file: str, header: bool) -> RawData:
    """Word vectors in word2vec text format (``N D`` first line) or GloVe format (no header).

    Parsing is done by gensim's ``KeyedVectors.load_word2vec_format(binary=False)`` on a
    temporary UTF-8 copy of the text (gensim reads paths, not in-memory buffers).

    Returns
    -------
    RawData
        ``format="word2vec"``; vectors ``(n_words, d) float32``; labels = the words in file
        order (gensim keeps the first of duplicated words, reported in ``notices``).

    Raises
    ------
    DataFormatError
        A line with another number of fields, a value that is not a number (row and column
        named), a header ``N D`` that does not match the lines, or non-finite values.
    """
    from gensim.models import KeyedVectors

    numbered = [(i, ln) for i, ln in enumerate(text.splitlines(), start=1) if ln.strip()]
    body = numbered[int(header) :]
    _check_w2v_widths(numbered, file=file, header=header)
    fd, path = tempfile.mkstemp(suffix=".txt", prefix="viz_app_w2v_")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write("\n".join(ln for _, ln in numbered) + "\n")
        kv = KeyedVectors.load_word2vec_format(path, binary=False, no_header=not header)
    except (ValueError, EOFError, IndexError, UnicodeDecodeError) as exc:
        _find_non_number(body, file=file)
        raise DataFormatError(f"gensim could not read the word vectors: {exc}", file=file) from None
    finally:
        os.unlink(path)
    words = [str(w) for w in kv.index_to_key]
    line_of = {}
    for i, ln in reversed(body):  # first occurrence wins, as in gensim
        line_of[ln.split(" ", 1)[0]] = i
    vectors = checked_float32(
        kv.vectors,
        file=file,
        row_of=lambda r: line_of.get(words[r], r + 1),
        column_of=lambda c: c + 2,
    )
    notices = ()
    if len(words) < len(body):
        notices = (f"{len(body) - len(words)} duplicated words: only the first vector of each was kept",)
    return RawData(file, "word2vec", vectors, None, words, empty_frame(len(words)), None, notices)


def _check_w2v_widths(numbered: list[tuple[int, str]], *, file: str, header: bool) -> None:
    """Check field counts and the ``N D`` header before gensim parses the file.

    gensim would silently ignore lines beyond ``N`` and report bad lines without their number.
    """
    body = numbered[int(header) :]
    if not body:
        raise DataFormatError("has a header line but no word vectors", file=file, row=numbered[0][0])
    width = len(body[0][1].rstrip().split(" "))
    if header:
        n, d = (int(p) for p in numbered[0][1].split())
        if n != len(body) or d != width - 1:
            raise DataFormatError(
                f"header says {n} vectors of {d} numbers, but the file has {len(body)} vector "
                f"lines of {width - 1} numbers",
                file=file,
                row=numbered[0][0],
            )
    for i, line in body:
        parts = line.rstrip().split(" ")
        if len(parts) != width:
            raise DataFormatError(
                f"has {len(parts) - 1} numbers after the word, expected {width - 1} as on the "
                f"first vector line (fields are separated by single spaces)",
                file=file,
                row=i,
            )


def _find_non_number(body: list[tuple[int, str]], *, file: str) -> None:
    """Raise for the first field after the word that is not a number (slow; error path only)."""
    for i, line in body:
        parts = line.rstrip().split(" ")
        bad = next((j for j, p in enumerate(parts[1:]) if not _is_number(p)), None)
        if bad is not None:
            raise DataFormatError(
                f"{parts[bad + 1]!r} is not a number (word vectors are 'word v1 v2 ...')",
                file=file,
                row=i,
                column=bad + 2,
            )


def read_lines(text: str, *, file: str) -> RawData:
    """Plain text: one item per line, stripped; blank lines are dropped.

    Returns
    -------
    RawData
        ``format="txt"``, ``texts`` (to embed) = labels = the lines; metadata has one column
        ``text``; ``text_column="text"``.
    """
    all_lines = text.splitlines()
    texts = [ln.strip() for ln in all_lines if ln.strip()]
    if not texts:
        raise DataFormatError("file is empty (no non-blank line)", file=file)
    notices = ()
    if len(texts) < len(all_lines):
        notices = (f"{len(all_lines) - len(texts)} blank lines skipped",)
    meta = pd.DataFrame({"text": texts})
    return RawData(file, "txt", None, texts, list(texts), meta, "text", notices)
