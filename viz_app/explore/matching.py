"""Match the items of two embedding sets by id or by label (for :mod:`viz_app.explore.compare`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError

__all__ = ["MATCH_ON", "Matching", "match"]

MATCH_ON = ("auto", "id", "label")


@dataclass(frozen=True)
class Matching:
    """Which rows of two sets hold the same item.

    Attributes
    ----------
    rows_a, rows_b : ndarray of shape (n_matched,), dtype intp
        Matched item i is row ``rows_a[i]`` of A and row ``rows_b[i]`` of B (A's row order).
    on : {"id", "label"}
    unmatched : DataFrame
        ``side`` ("a" / "b"), ``id``, ``label``, ``reason`` ("no partner" / "duplicate label").
    """

    rows_a: NDArray[np.intp]
    rows_b: NDArray[np.intp]
    on: str
    unmatched: pd.DataFrame


def _first_rows(keys: NDArray[np.object_]) -> tuple[pd.Index, NDArray[np.intp], NDArray[np.bool_]]:
    """Index of the keys' first occurrences, their rows, and a mask of the repeated rows."""
    dup = pd.Series(keys).duplicated().to_numpy()
    return pd.Index(keys[~dup]), np.flatnonzero(~dup), dup


def _row_numbers(es: EmbeddingSet) -> bool:
    """True when the ids are the row numbers "0".."n-1" and the labels are something else."""
    rows = np.arange(es.n_samples).astype(str).astype(object)
    return bool((es.ids == rows).all()) and not bool((es.labels == es.ids).all())


def match(a: EmbeddingSet, b: EmbeddingSet, *, on: str = "auto") -> Matching:
    """Match the items of ``a`` and ``b`` by id or by label.

    Parameters
    ----------
    on : {"auto", "id", "label"}, default="auto"
        ``"auto"`` uses whichever matches more items. On a tie it uses ids, unless a set's ids
        are only its row numbers (``"0" .. "n-1"``, what a file without an id column gets) while
        its labels are not: two such files hold different items in row i. By label, a label
        that occurs more than once in a set is matched through its first row; the other rows
        are reported as unmatched ("duplicate label").

    Returns
    -------
    Matching

    Raises
    ------
    ParameterError
        Unknown ``on``, or no item matches.
    """
    if on not in MATCH_ON:
        raise ParameterError(f"on must be one of {MATCH_ON}, got {on!r}")
    if on == "auto":
        by_id = int(pd.Index(a.ids).isin(b.ids).sum())
        by_label = int(pd.Index(pd.unique(a.labels)).isin(b.labels).sum())
        numbered = _row_numbers(a) or _row_numbers(b)
        on = "id" if by_id > by_label or (by_id == by_label and not numbered) else "label"
    ka, kb = (a.ids, b.ids) if on == "id" else (a.labels, b.labels)
    index_a, first_a, dup_a = _first_rows(ka)
    _, first_b, dup_b = _first_rows(kb)
    pos = index_a.get_indexer(kb[first_b])
    rows_b = first_b[pos >= 0]
    rows_a = first_a[pos[pos >= 0]]
    order = np.argsort(rows_a, kind="stable")
    rows_a, rows_b = rows_a[order].astype(np.intp), rows_b[order].astype(np.intp)
    if len(rows_a) == 0:
        raise ParameterError(
            f"no item of {a.name!r} matches an item of {b.name!r} by {on} (first {on}s: "
            f"{list(ka[:3])} and {list(kb[:3])}); items are matched by id or by label"
        )
    frames = []
    for side, es, rows, dup in (("a", a, rows_a, dup_a), ("b", b, rows_b, dup_b)):
        left = np.setdiff1d(np.arange(es.n_samples), rows)
        reason = np.where(dup[left], "duplicate label", "no partner")
        frames.append(pd.DataFrame({"side": side, "id": es.ids[left], "label": es.labels[left], "reason": reason}))
    return Matching(rows_a, rows_b, on, pd.concat(frames, ignore_index=True))
