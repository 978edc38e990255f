"""Text files for :mod:`viz_app.data.io`: decoding, telling the text formats apart, word2vec/GloVe
text and plain one-item-per-line text.

Parsing of word vectors is done by gensim (``KeyedVectors.load_word2vec_format``, Řehůřek &
Sojka 2010); tables are left to :mod:`viz_app.data.readers.table` (pandas).
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from dataclasses import dataclass

import pandas as pd

from viz_app.data.limits import Limits, get_limits
from viz_app.data.readers.common import RawData, checked_float32, empty_frame
from viz_app.errors import DataFormatError

__all__ = ["TextKind", "decode", "read_lines", "read_word2vec", "sniff_text"]

_SAMPLE_LINES = 50  # lines looked at to decide the format; the full parse checks every line
_SAMPLE_CHARS = 1 << 20
_TABLE_DELIMITERS = ("\t", ",", ";")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_ACCEPTED = (
    "accepted: text (UTF-8, UTF-16/32 with byte-order mark, Latin-1) as CSV, TSV, word2vec/GloVe "
    "or one text per line, and .npy, .npz, .parquet"
)


def decode(data: bytes, *, file: str) -> tuple[str, tuple[str, ...]]:
    """Bytes to text: UTF-8 (with or without BOM), UTF-16/UTF-32 (BOM), else Latin-1 with a notice.

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
        ``("decoded as Latin-1 ...",)`` when the bytes are not valid UTF-8; a note on UTF-16/32.

    Raises
    ------
    DataFormatError
        NUL bytes (the line is named; UTF-16 without a byte-order mark is recognised and named),
        or many control characters (binary data) once decoded.
    """
    notices: tuple[str, ...] = ()
    for bom, enc in _BOMS:
        if data.startswith(bom):
            text = _strict(data, enc, file)
            if enc != "utf-8-sig":
                notices = (f"decoded as {enc.upper()} (byte-order mark found)",)
            break
    else:
        _check_nul(data, file)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            try:  # Windows-1252 is Latin-1 with printable characters in 0x80-0x9f
                text, enc = data.decode("cp1252"), "Windows-1252"
            except UnicodeDecodeError:
                text, enc = data.decode("latin-1"), "ISO-8859-1"
            line = data.count(b"\n", 0, exc.start) + 1
            note = f"decoded as Latin-1 ({enc}): not valid UTF-8 (first bad byte at line {line}, byte {exc.start})"
            notices = (note,)
    head = text[:65536]
    if "\x00" in head:
        line = head.count("\n", 0, head.index("\x00")) + 1
        raise DataFormatError(
            f"contains a NUL character (line {line}), which text files cannot hold: binary data in an "
            f"unsupported format or text in an unsupported encoding; {_ACCEPTED}",
            file=file,
        )
    if len(_CONTROL.findall(head)) > 0.01 * max(len(head), 1):
        raise DataFormatError(
            "is binary data in an unsupported format (many control characters); accepted: text "
            "files (CSV, TSV, word2vec/GloVe, one text per line) and .npy, .npz, .parquet",
            file=file,
        )
    return text, notices


_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
)


def _check_nul(data: bytes, file: str) -> None:
    """Refuse NUL bytes in a file without a byte-order mark, naming UTF-16 without BOM."""
    at = data.find(b"\x00", 0, 65536)
    if at < 0:
        return
    head = data[:4096]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if max(even, odd) > 0.4 * (len(head) // 2) and min(even, odd) < 0.05 * (len(head) // 2):
        order = "big-endian" if even > odd else "little-endian"
        raise DataFormatError(
            f"looks like UTF-16 ({order}) text without a byte-order mark, which cannot be told "
            "apart from binary data; save it as UTF-8 (or UTF-16 with a byte-order mark)",
            file=file,
        )
    line = data.count(b"\n", 0, at) + 1
    raise DataFormatError(
        f"contains a NUL byte (line {line}, byte {at}), which text files cannot hold: binary data "
        f"in an unsupported format or text in an unsupported encoding; {_ACCEPTED}",
        file=file,
    )


def _strict(data: bytes, encoding: str, file: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        name = encoding.upper().replace("-SIG", "")
        raise DataFormatError(
            f"starts with a {name} byte-order mark but byte {exc.start} is not valid {name}",
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
    decimal : {".", ","}
        Decimal mark of a table: ``","`` when the delimiter is a tab or semicolon and most
        sampled decimal numbers are written with a decimal comma (``1,5``), as spreadsheet
        software in many European locales exports them.
    """

    format: str
    sep: str | None = None
    header: bool = False
    decimal: str = "."


_DECIMAL_COMMA = re.compile(r"\s*[-+]?\d*,\d+(?:[eE][-+]?\d+)?\s*\Z")
_DECIMAL_POINT = re.compile(r"\s*[-+]?\d*\.\d+(?:[eE][-+]?\d+)?\s*\Z")


def _is_number(s: str, sep: str = ",") -> bool:
    """``s`` parses as a float; with a delimiter other than a comma, ``1,5`` counts too."""
    try:
        float(s)
    except ValueError:
        return sep != "," and bool(_DECIMAL_COMMA.match(s))
    return s.strip() != ""


def sniff_text(text: str, *, ext: str) -> TextKind:
    """Decide which text format ``text`` is in, from its first non-blank lines.

    Rules, in order (see :data:`viz_app.data.io.FORMATS`):

    1. projector tensors: the first line has a tab and every tab-separated field is a number;
    2. word2vec/GloVe: the first line is ``word v1 v2 ...`` (single spaces, >= 2 numbers, no tab),
       or ``N D`` (two integers) followed by such a line;
    3. table: under one of the delimiters tab, comma, semicolon (csv module quoting rules) the
       first line has >= 2 fields and >= 80 % of the next 49 non-blank lines have as many;
       a file named ``.csv``/``.tsv`` is always a table (tab if ``.tsv`` or if the first line
       has a tab, else comma/semicolon). When several delimiters fit, the one giving more fields
       wins, then the one giving more numbers in the first two lines (``a;1,5;2,5`` is three
       fields under ``;``, whose decimal commas are numbers). The first line is a header unless
       all its fields but the first are numbers: a first row of numbers is data. The exception
       is a first line ``0, 1, 2, ...`` or ``1, 2, 3, ...`` (pandas'/numpy's names for unnamed
       columns) above rows that hold decimals, or with >= 8 fields; it is a header, also under
       rule 1 (so ``1\t2\t3`` above ``4\t5\t6x`` is two rows of data, and the typo is named). A
       tab/semicolon table whose sample has more decimal-comma numbers than decimal-point ones
       gets ``decimal=","``;
    4. otherwise plain text, one item per line.
    """
    head = text[:_SAMPLE_CHARS].splitlines()
    if len(text) > _SAMPLE_CHARS and len(head) > 1:
        head = head[:-1]  # possibly cut in the middle
    lines = [ln for ln in head if ln.strip()][:_SAMPLE_LINES]
    first = lines[0]
    tab_fields = first.split("\t")
    if len(tab_fields) > 1 and all(map(_is_number, tab_fields)) and not _is_names_row(tab_fields, lines[1:], "\t"):
        return TextKind("projector")
    if "\t" not in first and _is_w2v_line(first, lines[1:2]):
        return TextKind("word2vec", header=len(first.split()) == 2)
    best: tuple[int, int, str] | None = None
    for sep in _TABLE_DELIMITERS:
        try:
            rows = list(csv.reader(lines, delimiter=sep))
        except csv.Error:  # e.g. a field over the csv module's size limit: not this delimiter
            continue
        width = len(rows[0])
        same = sum(len(r) == width for r in rows[1:])
        if width >= 2 and len(rows) > 1 and same >= 0.8 * (len(rows) - 1):
            numbers = sum(_is_number(f, sep) for r in rows[:2] for f in r)
            best = max(best or (0, 0, sep), (width, numbers, sep), key=lambda t: t[:2])
    if best is None and ext in (".csv", ".tsv"):
        sep = "\t" if ext == ".tsv" or "\t" in first else ";" if first.count(";") > first.count(",") else ","
        best = (0, 0, sep)
    if best is None:
        return TextKind("txt")
    sep = best[2]
    try:
        fields = next(csv.reader([first], delimiter=sep))
    except csv.Error:
        fields = first.split(sep)
    header = _is_names_row(fields, lines[1:], sep) or not (
        len(fields) >= 2 and all(_is_number(f, sep) for f in fields[1:])
    )
    decimal = _decimal_mark(lines, sep)
    return TextKind("tsv" if sep == "\t" else "csv", sep=sep, header=header, decimal=decimal)


def _decimal_mark(lines: list[str], sep: str) -> str:
    """``","`` when, under a tab/semicolon delimiter, more sampled cells are decimal-comma numbers
    (``1,5``) than decimal-point ones (``1.5``); else ``"."``."""
    if sep == ",":
        return "."
    cells = [f for ln in lines for f in ln.split(sep)]
    commas = sum(bool(_DECIMAL_COMMA.match(f)) for f in cells)
    points = sum(bool(_DECIMAL_POINT.match(f)) for f in cells)
    return "," if commas > points else "."


def _is_names_row(fields: list[str], below: list[str], sep: str) -> bool:
    """A first row ``0,1,2,...``/``1,2,3,...`` that names columns: it has >= 8 fields (a data row
    is never exactly that), or the sampled rows below it hold decimal numbers."""
    if not _is_column_numbers(fields):
        return False
    if len(fields) >= 8:
        return True
    cells = (f for ln in below for f in ln.split(sep))
    return any(_DECIMAL_POINT.match(f) or (sep != "," and _DECIMAL_COMMA.match(f)) for f in cells)


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


def read_word2vec(text: str, *, file: str, header: bool, limits: Limits | None = None) -> RawData:
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
    width = _check_w2v_widths(numbered, file=file, header=header)
    (limits or get_limits()).check_matrix(len(body), width - 1, file=file)
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
    # gensim sizes its table by the line count (or the header's N) and skips a duplicated word,
    # leaving a slot with no word (None) and a zero vector: keep only the slots it filled
    kept = [r for r, w in enumerate(kv.index_to_key) if w is not None]
    words = [str(kv.index_to_key[r]) for r in kept]
    line_of = {}
    for i, ln in reversed(body):  # first occurrence wins, as in gensim
        line_of[ln.split(" ", 1)[0]] = i
    vectors = checked_float32(
        kv.vectors[kept],
        file=file,
        row_of=lambda r: line_of.get(words[r], r + 1),
        column_of=lambda c: c + 2,
    )
    notices: tuple[str, ...] = ()
    if len(words) < len(body):
        notices = (f"{len(body) - len(words)} duplicated words: only the first vector of each was kept",)
    return RawData(file, "word2vec", vectors, None, words, empty_frame(len(words)), None, notices)


def _check_w2v_widths(numbered: list[tuple[int, str]], *, file: str, header: bool) -> int:
    """Check field counts and the ``N D`` header before gensim parses the file; the width
    (the word and its numbers) of the vector lines.

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
    return width


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

    Raises
    ------
    DataFormatError
        No non-blank line; every line is one number, or one word and one number (vectors of
        one dimension, not texts to embed). The number of texts is checked against
        :attr:`~viz_app.data.limits.Limits.max_texts` by :func:`viz_app.data.io.read`.
    """
    all_lines = text.splitlines()
    texts = [ln.strip() for ln in all_lines if ln.strip()]
    if not texts:
        raise DataFormatError("file is empty (no non-blank line)", file=file)
    _refuse_one_number_lines(texts, file=file)
    notices: tuple[str, ...] = ()
    if len(texts) < len(all_lines):
        notices = (f"{len(all_lines) - len(texts)} blank lines skipped",)
    meta = pd.DataFrame({"text": texts})
    return RawData(file, "txt", None, texts, list(texts), meta, "text", notices)


def _refuse_one_number_lines(texts: list[str], *, file: str) -> None:
    """Lines that are all ``number`` or ``word number``: 1-dimensional vectors, not texts."""
    if len(texts) < 2:
        return
    sample = texts[:_SAMPLE_LINES]
    if all(_is_number(t) for t in sample):
        what = "a single number"
    elif all(len(p := t.split()) == 2 and _is_number(p[1]) for t in sample):
        what = "a word and a single number"
    else:
        return
    raise DataFormatError(
        f"every line is {what}: vectors of 1 dimension, which cannot be mapped; an embedding "
        "needs at least 2 numbers per item (e.g. 'king 0.50 0.68' in word2vec/GloVe text, or a "
        "CSV with >= 2 numeric columns)",
        file=file,
        row=1,
    )
