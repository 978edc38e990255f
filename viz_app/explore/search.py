"""Search the items of an embedding set by label and text columns (substring or regex)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError

__all__ = ["MAX_PATTERN_CHARS", "search"]

MAX_PATTERN_CHARS = 200


def search(
    es: EmbeddingSet,
    pattern: str,
    *,
    regex: bool = False,
    case: bool = False,
    columns: Sequence[str] | None = None,
) -> NDArray[np.intp]:
    """Rows whose label (or a text metadata column) contains ``pattern``.

    Matching is done by pandas' vectorised ``Series.str.contains`` (Python ``re`` for regex).

    Parameters
    ----------
    pattern : str
        Substring, or a Python regular expression when ``regex=True``; at most 200 characters.
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
    if regex:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ParameterError(f"invalid regular expression at position {exc.pos}: {exc.msg}") from None
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
        hit |= values.str.contains(pattern, case=case, regex=regex, na=False).to_numpy(dtype=bool)
    return np.flatnonzero(hit).astype(np.intp)
