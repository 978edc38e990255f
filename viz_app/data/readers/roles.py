"""Column roles of a table, decided from the content and explained: which columns are the vector,
which one gives the labels, which text is embedded, and what stays metadata.

Every column of a CSV/TSV/parquet table gets one :class:`ColumnRole` with a one-line reason the
user can read ("integer, strictly increasing: looks like a rank or row number") and change
(``vector_columns=`` / ``metadata_columns=`` / ``label_column=`` / ``text_column=`` of
:func:`viz_app.data.io.read`, or the role table on the Data page).

Why content and not only names: a column ``freq_rank`` (1..400,000) next to 50 GloVe dimensions
(|x| < 5) is not a dimension, whatever its name; taken as one it dominates every distance (all
cosine similarities become about 1). The rules, applied to numeric columns only when at least
three are numeric (so there is a "rest" to compare with), are

- a name that is, or contains as a ``_``/``-``/space/camelCase part, one of
  :data:`METADATA_NAMES` (``id``, ``rank``, ``count``, ``year``, ...), or pandas' ``Unnamed: N``;
- integer-valued and strictly increasing or decreasing (>= 3 rows): a rank, row number, time;
- integer-valued with every value distinct (>= 20 rows): an id;
- integer-valued while most other numeric columns (>= 75 %) hold decimals: a count, flag, code;
- a typical magnitude (root mean square) at least 100 times the median of the numeric columns':
  it would dominate every distance.

Integer columns are kept as dimensions when most columns are integers (pixel intensities, counts
of a bag of words), and a decimal column sorted in increasing order is kept (a file sorted by its
first dimension). When the content rules would leave fewer than 2 vector columns, they are not
applied (the name rule still is). No Streamlit here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from viz_app.data.readers.common import ColumnRole, as_numbers
from viz_app.errors import DataFormatError

__all__ = [
    "LABEL_NAMES",
    "METADATA_NAMES",
    "ROLES",
    "TEXT_NAMES",
    "ColumnRole",
    "RolesError",
    "choice_from_roles",
    "column_kind",
    "is_metadata_name",
    "propose_roles",
    "roles_table",
]

#: The roles a column can have.
ROLES = ("vector", "label", "text", "metadata")
#: Numeric columns named so (case-insensitive, whole name or one part of it) are metadata.
METADATA_NAMES = frozenset(
    {
        "id",
        "ids",
        "index",
        "idx",
        "row",
        "rank",
        "count",
        "freq",
        "frequency",
        "year",
        "label",
        "labels",
        "target",
        "targets",
        "class",
        "category",
        "cluster",
        "digit",
    }
)
#: Label column by name (case-insensitive; the first such column in file order wins).
LABEL_NAMES = frozenset({"label", "word", "token", "name", "title", "text"})
#: Columns remembered as the item text of a vector table (case-insensitive).
TEXT_NAMES = frozenset({"text", "sentence", "document", "content"})
#: Mean words per cell at or below which a text column holds labels, not texts to embed.
LABEL_WORDS = 1.5
_LIST_RE = re.compile(r"^\s*\[.*\]\s*$", re.DOTALL)
_NAME_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_SCALE_RATIO = 100.0


class RolesError(DataFormatError):
    """A table whose automatic roles give nothing to load (no vectors, and no text that is more
    than labels); :attr:`roles` holds the roles found so far, for the user to change."""

    def __init__(self, message: str, *, file: str, roles: tuple[ColumnRole, ...]) -> None:
        super().__init__(message, file=file)
        self.roles = roles


def column_kind(s: pd.Series, decimal: str = ".") -> str:
    """Role a column can play: ``"numeric"``, ``"list"``, ``"mostly_numeric"``, ``"text"``,
    ``"empty"``.

    ``numeric``: numeric dtype (not bool). ``list``: every non-missing cell is a list/array or a
    string ``"[...]"``. ``mostly_numeric``: text where more than half of the non-missing cells
    (and at least 2) are numbers, or all but one in a column of 2-4 cells, i.e. a vector column
    with a bad cell. ``empty``: all missing.
    """
    values = s.dropna()
    if values.empty:
        return "empty"
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return "numeric"
    vals = values.astype(object)
    if all(isinstance(v, (list, tuple, np.ndarray)) for v in vals):
        return "list"
    if all(isinstance(v, str) and _LIST_RE.match(v) for v in vals):
        return "list"
    nums = int(as_numbers(vals, decimal).notna().sum())
    tiny = len(vals) <= 4 and nums >= max(1, len(vals) - 1)  # 2-4 rows: one bad cell is a typo
    return "mostly_numeric" if (nums >= 2 and nums > 0.5 * len(vals)) or tiny else "text"


def _name_hit(column: object) -> str | None:
    """The part of the name that is in :data:`METADATA_NAMES`, or ``"Unnamed"``; else None."""
    name = str(column)
    if name.startswith("Unnamed: "):
        return "Unnamed"
    if name.lower() in METADATA_NAMES:
        return name.lower()
    parts = [p.lower() for p in _NAME_PARTS.findall(name)]
    return next((p for p in parts if p in METADATA_NAMES), None)


def is_metadata_name(column: object) -> bool:
    """A numeric column that is never a vector dimension by its name: one of :data:`METADATA_NAMES`
    (case-insensitive; also as a part, ``freq_rank``, ``wordId``) or pandas' ``"Unnamed: 0"``
    (an index written by ``DataFrame.to_csv``)."""
    return _name_hit(column) is not None


@dataclass(frozen=True)
class _Stats:
    integer: bool
    increasing: bool
    decreasing: bool
    distinct: bool
    rms: float
    max_abs: float
    n: int


def _stats(s: pd.Series, decimal: str) -> _Stats:
    v = as_numbers(s, decimal).dropna().to_numpy(dtype=np.float64)
    if v.size == 0:
        return _Stats(False, False, False, False, 0.0, 0.0, 0)
    d = np.diff(v)
    return _Stats(
        integer=bool(np.all(v == np.round(v))),
        increasing=v.size >= 3 and bool(np.all(d > 0)),
        decreasing=v.size >= 3 and bool(np.all(d < 0)),
        distinct=v.size >= 20 and np.unique(v).size == v.size,
        rms=float(np.sqrt(np.mean(v * v))),
        max_abs=float(np.max(np.abs(v))),
        n=int(v.size),
    )


def _content_reason(st: _Stats, mostly_decimal: bool, ref_rms: float) -> str | None:
    """Why a numeric column looks like metadata from its values, or None."""
    if st.integer and (st.increasing or st.decreasing):
        way = "increasing" if st.increasing else "decreasing"
        return f"integer, strictly {way}: looks like a rank or row number"
    if st.integer and st.distinct:
        return "integer, every value different: looks like an id"
    if ref_rms > 0 and st.rms >= _SCALE_RATIO * ref_rms:
        return (
            f"values up to {st.max_abs:,.4g}, {st.rms / ref_rms:,.0f}x the typical scale of the other "
            "columns: would dominate every distance"
        )
    if st.integer and mostly_decimal:
        return "integer while the other columns hold decimals: looks like a count or code"
    return None


def _mean_words(s: pd.Series) -> float:
    vals = s.dropna().astype(str)
    return float(vals.str.split().str.len().mean()) if len(vals) else 0.0


def _check_names(df: pd.DataFrame, file: str, **chosen: Sequence[str] | str | None) -> None:
    cols = [str(c) for c in df.columns]
    for what, val in chosen.items():
        names = [val] if isinstance(val, str) else list(val or ())
        missing = [c for c in names if c not in cols]
        if missing:
            raise DataFormatError(f"{what}={missing[0]!r} is not a column; columns are {cols}", file=file)


def propose_roles(
    df: pd.DataFrame,
    *,
    file: str,
    vector_columns: Sequence[str] | None = None,
    metadata_columns: Sequence[str] | None = None,
    label_column: str | None = None,
    text_column: str | None = None,
    decimal: str = ".",
) -> tuple[ColumnRole, ...]:
    """One :class:`ColumnRole` per column of ``df``, in column order (rules: module docstring).

    Parameters
    ----------
    df : DataFrame of shape (n_rows, n_columns)
        The parsed table; column names are compared as ``str``.
    file : str
        File name for messages.
    vector_columns : sequence of str, optional
        Exactly these columns are the vector (several numeric ones, or one list column).
    metadata_columns : sequence of str, optional
        These columns are never vector dimensions (the others are decided as usual).
    label_column, text_column : str, optional
        The label column; the column of texts to embed (tables without vectors) or item text.
    decimal : {".", ","}
        Decimal mark of text cells (see :func:`~viz_app.data.readers.common.as_numbers`).

    Returns
    -------
    tuple of ColumnRole
        Vectors: the chosen columns; else the first list column; else the numeric columns kept
        by the rules, if >= 2. Without vectors exactly one column has role ``text`` (the texts to
        embed: ``text_column``, else the text column with the most words per cell).

    Raises
    ------
    DataFormatError
        A named column does not exist; a column is both in ``vector_columns`` and
        ``metadata_columns``; no vectors and no text to embed; no vectors, and the only text
        holds short labels (<= 1.5 words per cell) while the table has numeric columns, e.g.
        ``label,x``: refused before any model runs, with what to do (raised only when
        ``text_column`` is not given).
    """
    _check_names(
        df,
        file,
        vector_columns=vector_columns,
        metadata_columns=metadata_columns,
        label_column=label_column,
        text_column=text_column,
    )
    both = sorted(set(vector_columns or ()) & set(metadata_columns or ()))
    if both:
        raise DataFormatError(f"column {both[0]!r} is chosen both as a vector and as metadata", file=file)
    cols = [str(c) for c in df.columns]
    kinds = {str(c): column_kind(df[c], decimal) for c in df.columns}
    series = {str(c): df[c] for c in df.columns}
    role: dict[str, tuple[str, str]] = {}
    forced_meta = {str(c) for c in metadata_columns or ()}
    for c in forced_meta:
        role[c] = ("metadata", "chosen as metadata")

    if vector_columns:
        for c in vector_columns:
            role[str(c)] = ("vector", "chosen as a vector column")
    else:
        _auto_vectors(cols, kinds, series, role, forced_meta, decimal)
    vec = [c for c in cols if role.get(c, ("",))[0] == "vector"]

    text = text_column
    if not vec:
        text = text or _text_to_embed(cols, kinds, series, role, file)
        if text_column:
            role[text] = ("text", "chosen as the text to embed")
        else:
            words = _mean_words(series[text])
            role[text] = ("text", f"no vectors; the longest text column ({words:.1f} words per cell): embedded")
    elif text is None:
        text = next((c for c in cols if c.lower() in TEXT_NAMES and c not in vec), None)
        if text is not None:
            role[text] = ("text", f"named {text!r}: the item text (not embedded; the file has vectors)")
    elif text not in vec:
        role[text] = ("text", "chosen as the item text")

    rest = [c for c in cols if c not in vec]
    named = [c for c in rest if c.lower() in LABEL_NAMES]
    texts = [c for c in rest if kinds[c] == "text"]
    label: str | None = label_column if label_column is not None else next(iter(named or texts), None)
    if label is not None and label in role and role[label][0] in ("text", "vector"):
        role[label] = (role[label][0], role[label][1] + "; also the labels")
    elif label is not None:
        why = (
            "chosen as the label column"
            if label_column is not None
            else f"named {label!r}: the labels"
            if label in named
            else "first text column: the labels"
        )
        role[label] = ("label", why)
    out = []
    for c in cols:
        r, why = role.get(c, ("metadata", _meta_reason(kinds[c])))
        out.append(ColumnRole(c, kinds[c], r, why))
    return tuple(out)


def _meta_reason(kind: str) -> str:
    return {
        "text": "text: kept as metadata",
        "empty": "every cell empty",
        "list": "another list column (only the first is the vector)",
    }.get(kind, "kept as metadata")


def _auto_vectors(
    cols: list[str],
    kinds: dict[str, str],
    series: dict[str, pd.Series],
    role: dict[str, tuple[str, str]],
    forced_meta: set[str],
    decimal: str,
) -> None:
    """Vector columns by the module's rules, written into ``role``."""
    lists = [c for c in cols if kinds[c] == "list" and c not in forced_meta]
    if lists:
        role[lists[0]] = ("vector", "a list of numbers in every cell: the vector")
        return
    nums = [c for c in cols if kinds[c] in ("numeric", "mostly_numeric") and c not in forced_meta]
    by_name = {c: _name_hit(c) for c in nums}
    cand = [c for c in nums if by_name[c] is None]
    content: dict[str, str] = {}
    numeric = [c for c in nums if kinds[c] == "numeric"]
    if len(numeric) >= 3:
        stats = {c: _stats(series[c], decimal) for c in numeric}
        decimals = sum(not s.integer for s in stats.values())
        nonzero = [s.rms for c, s in stats.items() if s.rms > 0 and by_name[c] is None]
        ref = float(np.median(nonzero)) if nonzero else 0.0
        for c, st in stats.items():
            others_decimal = (decimals - (not st.integer)) >= 0.75 * (len(numeric) - 1)
            why = _content_reason(st, others_decimal, ref)
            if why is not None:
                content[c] = why
        if len([c for c in cand if c not in content]) < 2:
            content = {c: w for c, w in content.items() if by_name[c] is not None}
    for c, hit in by_name.items():
        if hit is not None:
            what = "like an index written by pandas" if hit == "Unnamed" else f"{hit!r}"
            role[c] = ("metadata", f"{content[c]}; named {what}" if c in content else f"named {what}: an id/rank/count")
    for c, why in content.items():
        if by_name[c] is None:
            role[c] = ("metadata", why)
    kept = [c for c in cand if c not in content]
    if len(kept) >= 2:
        for c in kept:
            extra = " (some cells are not numbers: reported)" if kinds[c] == "mostly_numeric" else ""
            role[c] = ("vector", f"numeric: a vector dimension{extra}")
    elif kept:
        role[kept[0]] = ("metadata", "the only numeric column (a vector needs >= 2)")


def _text_to_embed(cols: list[str], kinds: dict[str, str], series: dict[str, pd.Series], role: dict, file: str) -> str:
    texts = [c for c in cols if kinds[c] == "text"]
    if not texts:
        raise DataFormatError(
            f"found no vectors (need >= 2 numeric columns or one list column '[0.1, 0.2, ...]') "
            f"and no text column to embed; columns are {cols}",
            file=file,
        )
    best = max(texts, key=lambda c: series[c].dropna().astype(str).str.len().mean())
    nums = [c for c in cols if kinds[c] in ("numeric", "mostly_numeric")]
    words = _mean_words(series[best])
    if nums and words <= LABEL_WORDS:
        shown = ", ".join(repr(c) for c in nums[:5])
        held = [f"{c!r}: {role[c][1]}" for c in nums[:3] if c in role and "only numeric" not in role[c][1]]
        count = f"only {len(nums)} numeric column" if len(nums) == 1 else f"{len(nums)} numeric columns"
        found = {**role, best: ("label", f"short labels ({words:.1f} words per cell): the labels")}
        roles = tuple(ColumnRole(c, kinds[c], *found.get(c, ("metadata", _meta_reason(kinds[c])))) for c in cols)
        raise RolesError(
            f"found no vectors: {count} ({shown}){' kept as metadata (' + '; '.join(held) + ')' if held else ''}, "
            f"and a vector needs >= 2; the text column {best!r} holds short labels ({words:.1f} words per "
            "cell), not texts to embed, so nothing was embedded. Add vector columns, choose the vector "
            f"columns yourself, or choose {best!r} as the text to embed (text_column={best!r}, or role "
            "'text' on the Data page)",
            file=file,
            roles=roles,
        )
    return best


def roles_table(roles: Sequence[ColumnRole]) -> pd.DataFrame:
    """The roles as a table with columns ``column``, ``kind``, ``role``, ``reason`` (for display)."""
    return pd.DataFrame(
        {
            "column": [r.column for r in roles],
            "kind": [r.kind for r in roles],
            "role": [r.role for r in roles],
            "reason": [r.reason for r in roles],
        }
    )


def choice_from_roles(table: pd.DataFrame) -> dict[str, object]:
    """Keyword arguments of :func:`viz_app.data.io.read` that load a table with the roles of
    ``table`` (columns ``column`` and ``role``, as from :func:`roles_table`, maybe edited).

    Returns
    -------
    dict
        ``vector_columns`` (the ``vector`` rows, or None when there are none), ``metadata_columns``
        (every other column, so nothing else becomes a dimension), ``label_column`` and
        ``text_column`` (the first ``label``/``text`` row, or None).

    Raises
    ------
    DataFormatError
        A role that is not one of :data:`ROLES`.
    """
    cols = [str(c) for c in table["column"]]
    roles = [str(r) for r in table["role"]]
    bad = next((r for r in roles if r not in ROLES), None)
    if bad is not None:
        raise DataFormatError(f"unknown role {bad!r}; roles are {', '.join(ROLES)}", file="roles")
    vec = [c for c, r in zip(cols, roles, strict=True) if r == "vector"]
    return {
        "vector_columns": vec or None,
        "metadata_columns": [c for c, r in zip(cols, roles, strict=True) if r != "vector"] or None,
        "label_column": next((c for c, r in zip(cols, roles, strict=True) if r == "label"), None),
        "text_column": next((c for c, r in zip(cols, roles, strict=True) if r == "text"), None),
    }
