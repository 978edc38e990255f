"""Search the items of an embedding set by label and text columns (substring or regex)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError

__all__ = ["MAX_PATTERN_CHARS", "rank_matches", "search"]

log = logging.getLogger(__name__)

MAX_PATTERN_CHARS = 200


def search(
    es: EmbeddingSet,
    pattern: str,
    *,
    regex: bool = False,
    case: bool = False,
    columns: Sequence[str] | None = None,
) -> NDArray[np.intp]:
    r"""Rows whose label (or a text metadata column) contains ``pattern``.

    Matching is done by Apache Arrow's ``match_substring`` / ``match_substring_regex`` kernels;
    regular expressions use Google RE2 semantics (https://github.com/google/re2/wiki/Syntax):
    matching time is linear in the text, so a pattern such as ``^(\w+\s?)*$`` cannot stall the
    server (Python's backtracking ``re`` takes exponential time on it). RE2 has no
    backreferences or look-arounds: such a pattern is refused with a message.

    Parameters
    ----------
    pattern : str
        Substring, or an RE2 regular expression when ``regex=True``; at most 200 characters.
        An empty pattern matches nothing.
    regex : bool, default=False
    case : bool, default=False
        Case-sensitive when True.
    columns : sequence of str, optional
        Metadata columns searched besides the label; default: every text (string/object) column.

    Returns
    -------
    ndarray of shape (n_matches,), dtype intp
        Matching row indices in row order.

    Raises
    ------
    ParameterError
        Pattern too long, an invalid regex (the message gives the position), or an unknown column.
    """
    if not pattern:
        return np.empty(0, dtype=np.intp)
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ParameterError(f"search pattern is {len(pattern)} characters; at most {MAX_PATTERN_CHARS}")
    kernel = pc.match_substring_regex if regex else pc.match_substring
    if regex:
        try:
            kernel(pa.array([""]), pattern=pattern, ignore_case=not case)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            msg = str(exc).split("Invalid regular expression:", 1)[-1].strip() or str(exc)
            raise ParameterError(
                f"invalid regular expression (RE2 syntax: no backreferences or look-arounds): {msg}"
            ) from None
    if columns is None:
        columns = [
            c
            for c in es.metadata.columns
            if pd.api.types.is_string_dtype(es.metadata[c]) or es.metadata[c].dtype == object
        ]
    unknown = [c for c in columns if c not in es.metadata.columns]
    if unknown:
        raise ParameterError(f"unknown column(s) {unknown}; columns: {list(es.metadata.columns)}")
    hit = np.zeros(es.n_samples, dtype=bool)
    for values in [pd.Series(es.labels, dtype="string")] + [es.metadata[c].astype("string") for c in columns]:
        arr = pa.array(values.to_numpy(dtype=object, na_value=None), type=pa.large_string())
        found = kernel(arr, pattern=pattern, ignore_case=not case)
        hit |= found.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    return np.flatnonzero(hit).astype(np.intp)


def rank_matches(es: EmbeddingSet, rows: NDArray[np.integer], pattern: str, *, case: bool = False) -> NDArray[np.intp]:
    """Matching rows (from :func:`search`) ordered for a person: labels equal to ``pattern``
    first, then labels starting with it, then labels with a word starting with it, then the
    rest (a match inside a label or only in a text column); row order within each group.

    ``king`` ranks ``king`` before ``kingdom`` before ``making``. Plain text comparisons (no
    regular expression), linear in the number of rows.

    Parameters
    ----------
    es : EmbeddingSet
    rows : array-like of int, shape (n_matches,)
    pattern : str
        The search text (a regex pattern ranks its matches the same way, as plain text).
    case : bool, default=False
        Compare case-sensitively.

    Returns
    -------
    ndarray of shape (n_matches,), dtype intp
    """
    r = np.asarray(rows, dtype=np.intp)
    if r.size == 0 or not pattern:
        return r
    p = pattern if case else pattern.lower()
    labels = pd.Series(es.labels[r], dtype="string")
    if not case:
        labels = labels.str.lower()
    tier = np.full(r.size, 3, dtype=np.int8)
    words = labels.str.split().map(lambda ws: any(w.startswith(p) for w in ws) if isinstance(ws, list) else False)
    tier[words.to_numpy(dtype=bool)] = 2
    tier[labels.str.startswith(p).fillna(False).to_numpy(dtype=bool)] = 1
    tier[(labels == p).fillna(False).to_numpy(dtype=bool)] = 0
    return r[np.argsort(tier, kind="stable")]
