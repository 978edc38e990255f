"""Colours and labels of the live map: the palette policy, legends, and one-line label text.

The policy is the one the plotly map used: a numeric column with more than ``MAX_CATEGORIES``
distinct values is continuous (Viridis colour bar); anything else is categorical, the
``MAX_CATEGORIES`` most frequent values get the palette colours (numeric-looking categories in
numeric order, a pandas Categorical in its own order), the rest fold into a grey ``"(other)"``,
and HDBSCAN's ``"noise"`` category is grey too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.errors import ParameterError

__all__ = [
    "MAX_CATEGORIES",
    "MAX_LABEL_CHARS",
    "OTHER_COLOR",
    "PALETTE",
    "VIRIDIS",
    "clean_label",
    "encode_colors",
    "rgba",
]

MAX_CATEGORIES = 24
MAX_LABEL_CHARS = 80
PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#7f7f7f",
    "#393b79",
    "#e7969c",
    "#637939",
    "#d6616b",
    "#8ca252",
    "#7b4173",
    "#ce6dbd",
    "#3182bd",
    "#e6550d",
    "#31a354",
    "#756bb1",
    "#636363",
    "#fd8d3c",
    "#74c476",
]
OTHER_COLOR = "#c7c7c7"
DEFAULT_COLOR = "#1f77b4"
NOISE = "noise"
#: Viridis (van der Walt & Smith, matplotlib; CC0), 9 evenly spaced stops.
VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"]


def rgba(color: str | tuple | list, alpha: int = 255) -> list[int]:
    """``"#rrggbb"``, ``"#rrggbbaa"`` or an RGB(A) sequence of 0-255 ints -> ``[r, g, b, a]``.

    Raises
    ------
    ParameterError
        Anything else.
    """
    if isinstance(color, str):
        s = color.lstrip("#")
        if len(s) in (6, 8) and all(c in "0123456789abcdefABCDEF" for c in s):
            vals = [int(s[i : i + 2], 16) for i in range(0, len(s), 2)]
            return vals + [alpha] if len(vals) == 3 else vals
    elif isinstance(color, (tuple, list)) and len(color) in (3, 4):
        vals = [int(v) for v in color]
        if all(0 <= v <= 255 for v in vals):
            return vals + [alpha] if len(vals) == 3 else vals
    raise ParameterError(f"colour {color!r}: use '#rrggbb', '#rrggbbaa' or (r, g, b[, a]) with 0-255 values")


def clean_label(value: Any, max_chars: int = MAX_LABEL_CHARS) -> str:
    """``str(value)`` on one line (control characters become spaces), cut to ``max_chars``
    characters with a trailing ellipsis. Text only: the page draws it on a canvas or with
    ``textContent``, never as HTML, so nothing is escaped."""
    s = "".join(" " if (c < " " or c == "\x7f") else c for c in str(value))
    return s if len(s) <= max_chars else s[: max_chars - 1] + "…"


def _is_continuous(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values) or isinstance(values.dtype, pd.CategoricalDtype):
        return False
    return bool(pd.api.types.is_numeric_dtype(values) and values.nunique(dropna=True) > MAX_CATEGORIES)


def _viridis(t: NDArray[np.float64]) -> NDArray[np.uint8]:
    stops = np.array([rgba(c)[:3] for c in VIRIDIS], dtype=np.float64)
    x = np.linspace(0, 1, len(stops))
    return np.stack([np.interp(t, x, stops[:, j]) for j in range(3)], axis=1).round().astype(np.uint8)


def _categories(values: pd.Series) -> tuple[dict[str, NDArray], dict[str, Any], dict[str, Any]]:
    cats = values.astype("string").fillna("(missing)").to_numpy(dtype=object)
    counts = pd.Series(cats).value_counts(sort=True)
    keep = list(counts.index[:MAX_CATEGORIES])
    if isinstance(values.dtype, pd.CategoricalDtype):  # the column's own category order
        rank = {str(c): i for i, c in enumerate(values.cat.categories)}
        keep.sort(key=lambda c: rank.get(c, len(rank)))
    else:
        try:  # numeric-looking categories read best in numeric order (digits 0..9, years)
            keep.sort(key=float)
        except ValueError:
            pass
    other = len(counts) > MAX_CATEGORIES
    names = keep + (["(other)"] if other else [])
    code_of = {c: i for i, c in enumerate(keep)}
    codes = pd.Series(cats).map(code_of).fillna(len(keep)).to_numpy(dtype=np.uint8 if len(names) < 256 else np.uint16)
    palette = [rgba(OTHER_COLOR if c in ("(other)", NOISE) else PALETTE[i % len(PALETTE)]) for i, c in enumerate(names)]
    n_other = int(counts.iloc[MAX_CATEGORIES:].sum()) if other else 0
    items = [
        {"label": clean_label(c, 40), "color": palette[i], "count": int(counts.get(c, n_other))}
        for i, c in enumerate(names)
    ]
    return {"codes": codes}, {"kind": "codes", "palette": palette}, {"kind": "categories", "items": items}


def encode_colors(
    color: Any, n: int, *, title: str | None = None, scale: str = "auto", value_range: tuple[float, float] | None = None
) -> tuple[dict[str, NDArray], dict, dict | None]:
    """Colour sections, the header's ``color`` entry and the legend for ``n`` points.

    Parameters
    ----------
    color : None, array-like of shape (n,), or ndarray of shape (n, 3|4) dtype uint8
        None: one colour. ``(n,)``: a column (categorical or continuous, see the module
        docstring). ``(n, 3|4) uint8``: RGB(A) per point, no legend.
    n : int
    title : str, optional
        Legend title (the column's name).
    scale : {"auto", "continuous"}, default="auto"
        ``"continuous"``: a numeric column gets the colour bar whatever its number of distinct
        values (e.g. a Jaccard@10 score takes only 11 values); ``"auto"``: the module's policy.
    value_range : (low, high), optional
        Ends of the colour bar (default: the column's finite minimum and maximum).

    Returns
    -------
    sections : dict
        ``{"codes": (n,) uint8|uint16}``, ``{"rgba": (n, 4) uint8}`` or ``{}``.
    header : dict
        ``{"kind": "codes", "palette": [[r, g, b, a], ...]}``, ``{"kind": "rgba"}`` or
        ``{"kind": "constant", "rgba": [...]}``.
    legend : dict or None
        ``{"kind": "categories", "title", "items": [{"label", "color", "count"}]}`` or
        ``{"kind": "colorbar", "title", "min", "max", "stops": [[t, [r, g, b]], ...]}``.

    Raises
    ------
    ParameterError
        Wrong length or shape; an unknown ``scale``; ``scale="continuous"`` for a non-numeric
        column; ``value_range`` not increasing.
    """
    if scale not in ("auto", "continuous"):
        raise ParameterError(f"colour scale {scale!r} not in auto, continuous")
    if value_range is not None and not float(value_range[0]) < float(value_range[1]):
        raise ParameterError(f"colour range {value_range!r} must be (low, high) with low < high")
    if color is None:
        return {}, {"kind": "constant", "rgba": rgba(DEFAULT_COLOR)}, None
    if isinstance(color, np.ndarray) and color.ndim == 2:
        if color.shape not in ((n, 3), (n, 4)) or color.dtype != np.uint8:
            raise ParameterError(
                f"RGBA colours must be a uint8 array of shape ({n}, 3|4), got {color.dtype} {color.shape}"
            )
        full = np.full((n, 4), 255, dtype=np.uint8)
        full[:, : color.shape[1]] = color
        return {"rgba": full}, {"kind": "rgba"}, None
    values = (
        color
        if isinstance(color, pd.Series)
        else pd.Series(np.asarray(color, dtype=object) if not isinstance(color, np.ndarray) else color)
    )
    if len(values) != n:
        raise ParameterError(f"the colour column has {len(values)} values for {n} points")
    values = values.reset_index(drop=True)
    if scale == "continuous" and not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
        raise ParameterError(f"a continuous colour needs a numeric column, got {values.dtype}")
    if scale == "continuous" or _is_continuous(values):
        v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        lo, hi = (float(np.nanmin(v)), float(np.nanmax(v))) if np.isfinite(v).any() else (0.0, 1.0)
        if value_range is not None:
            lo, hi = float(value_range[0]), float(value_range[1])
        t = np.clip((v - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
        col = np.full((n, 4), 255, dtype=np.uint8)
        col[:, :3] = _viridis(np.nan_to_num(t, nan=0.0))
        col[~np.isfinite(v)] = rgba(OTHER_COLOR)
        stops = [[round(i / (len(VIRIDIS) - 1), 4), rgba(c)[:3]] for i, c in enumerate(VIRIDIS)]
        return (
            {"rgba": col},
            {"kind": "rgba"},
            {"kind": "colorbar", "title": title, "min": lo, "max": hi, "stops": stops},
        )
    sections, header, legend = _categories(values)
    legend["title"] = None if title is None else clean_label(title, 40)
    return sections, header, legend
