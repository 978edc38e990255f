"""Export a :class:`~viz_app.explore.compare.Comparison`'s per-item table as CSV or parquet.

Written by :func:`viz_app.export.projector.write_table` (pandas; parquet through pyarrow; CSV text
cells that a spreadsheet would run as a formula get a leading ``'``, as OWASP recommends). The
neighbour-id lists are JSON arrays in CSV and ``list<string>`` columns in parquet.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO

import pandas as pd

from viz_app.explore.compare import Comparison
from viz_app.export.projector import write_table

__all__ = ["comparison_table", "export_comparison"]

_LISTS = ("neighbors_a", "neighbors_b")


def comparison_table(comparison: Comparison, *, fmt: str = "parquet") -> pd.DataFrame:
    """The table as written: for ``fmt="csv"`` the neighbour lists become JSON array strings.

    Returns
    -------
    DataFrame of shape (n_matched, 11)
        The columns of :attr:`Comparison.table`.
    """
    df = comparison.table.copy()
    if fmt == "csv":
        for c in _LISTS:
            df[c] = df[c].map(lambda ids: json.dumps([str(i) for i in ids], ensure_ascii=False))
    return df


def export_comparison(
    comparison: Comparison, path_or_buffer: str | os.PathLike[str] | IO[bytes], *, fmt: str | None = None
) -> Path | None:
    """Write the per-item comparison table as CSV (formulas neutralised) or parquet.

    Parameters
    ----------
    comparison : Comparison
    path_or_buffer : path-like or binary file-like
        A path (format from the suffix ``.csv`` / ``.parquet`` / ``.pq``) or a buffer (then
        ``fmt`` is required).
    fmt : {"csv", "parquet"}, optional

    Returns
    -------
    Path or None
        The path written, or None for a buffer.

    Raises
    ------
    ParameterError
        Unknown format.
    """
    kind = fmt
    if kind is None and isinstance(path_or_buffer, (str, os.PathLike)):
        kind = Path(path_or_buffer).suffix.lower().lstrip(".")
    return write_table(comparison_table(comparison, fmt="csv" if kind == "csv" else "parquet"), path_or_buffer, fmt=fmt)
