"""Numbered axes for maps whose coordinates mean something, as plain data ("prepare, then render").

A PCA, t-SNE or UMAP map has no units a reader could use: its axes are not drawn. A
semantic-axes map (:func:`viz_app.explore.axes.axis_projection`) places every item by its cosine
with a direction, or its scalar projection on it, and a reader wants to read those values off
the map: it gets a :class:`MapAxes` on its :class:`~viz_app.map.view.MapView`, and the live map
draws tick marks, tick labels and the two axis titles along the bottom and left edges of its
2-D view (``frontend/src/axes.ts``), recomputed for the visible range at every pan and zoom.

Tick values come from matplotlib's :class:`matplotlib.ticker.MaxNLocator` with
``nbins=max_ticks - 1`` and ``steps=[1, 2, 5, 10]``: the step is the smallest of 1, 2 or 5 times
a power of ten that is >= ``(hi - lo) / (max_ticks - 1)``, so at most ``max_ticks`` values fall
inside the range. With ``max_ticks >= 6`` that step always leaves at least 2 values in the range
(the ladder's ratios are at most 2.5), so MaxNLocator never falls back to a smaller step (its
``min_n_ticks``), which could give more than ``max_ticks``: hence the bound 6..12. The page
applies the same rule to the range it shows (``frontend/src/axes.ts``), with at most
``min(max_ticks, 1 + axis length // tick_px)`` and at least 6 ticks per axis, so ticks are
about ``tick_px`` pixels apart or more (matplotlib's ``nbins="auto"`` likewise scales with
the axis length); this module gives the values for the whole data range (the view payload,
tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from viz_app.errors import ParameterError
from viz_app.map.colors import clean_label

__all__ = ["MAX_TICKS", "STEPS", "TICK_PX", "MapAxes", "axes_payload", "tick_values"]

#: Default largest number of ticks per axis.
MAX_TICKS = 11
#: Default smallest distance between ticks the page aims for, CSS pixels.
TICK_PX = 60
#: Tick steps per decade (MaxNLocator's ``steps``): 1, 2 or 5 times a power of ten.
STEPS = (1, 2, 5, 10)


@dataclass(frozen=True)
class MapAxes:
    """The numbered axes of a 2-D map whose coordinates have a meaning (not PCA/UMAP/t-SNE).

    Attributes
    ----------
    x_title, y_title : str
        Axis titles, plain text (drawn as text, never as HTML), at most 80 characters shown,
        e.g. ``"man → woman (cosine)"``.
    max_ticks : int, default=11
        At most this many ticks per axis, 6..12 (see :func:`tick_values`).
    tick_px : int, default=60
        The page draws at most ``1 + axis length // tick_px`` ticks (at least 6), 30..200 px.
    """

    x_title: str
    y_title: str
    max_ticks: int = MAX_TICKS
    tick_px: int = TICK_PX


def tick_values(lo: float, hi: float, *, max_ticks: int = MAX_TICKS) -> list[float]:
    """Nice tick values inside ``[lo, hi]``: matplotlib's ``MaxNLocator``.

    Parameters
    ----------
    lo, hi : float
        The range, in data units (e.g. cosine), finite, ``lo < hi``.
    max_ticks : int, default=11
        6..12: at most this many values; ``MaxNLocator(nbins=max_ticks - 1, steps=[1, 2, 5, 10])``.

    Returns
    -------
    list of float
        Increasing multiples of one step (1, 2 or 5 x 10^k), inside ``[lo, hi]`` (a value within
        1e-9 of a step from an end counts as inside), rounded to the step's decimals. At least 2
        whenever the range spans two multiples of the smallest step that fits.

    Raises
    ------
    ParameterError
        A range that is not finite or empty, or ``max_ticks`` out of range.
    """
    from matplotlib.ticker import MaxNLocator

    if not (isinstance(max_ticks, int) and 6 <= max_ticks <= 12):
        raise ParameterError(f"max_ticks={max_ticks!r} not an integer in 6..12")
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ParameterError(f"a tick range needs finite lo < hi, got [{lo!r}, {hi!r}]")
    values = MaxNLocator(nbins=max_ticks - 1, steps=list(STEPS)).tick_values(lo, hi)
    step = float(values[1] - values[0]) if len(values) > 1 else hi - lo
    tol = 1e-9 * step
    decimals = max(0, -math.floor(math.log10(step)) + 1)
    return [round(float(v), decimals) + 0.0 for v in values if lo - tol <= v <= hi + tol]


def axes_payload(
    axes: MapAxes, *, center: tuple[float, ...], scale: float, extent: list[list[float]]
) -> dict[str, Any]:
    """The JSON of ``axes`` for a map normalised with ``center`` and ``scale`` (see
    :func:`viz_app.map.encode.normalise`).

    Parameters
    ----------
    axes : MapAxes
    center : tuple of 2 float
    scale : float
        The encoder's map: ``value = normalised * scale + center`` on each axis.
    extent : list of 2 [lo, hi]
        The points' normalised extent per axis (the whole data range).

    Returns
    -------
    dict
        ``max_ticks``, ``tick_px`` and, for ``"x"`` and ``"y"``: ``title``; ``offset`` and ``scale``
        (``value = normalised * scale + offset``); ``ticks``: :func:`tick_values` of the data
        range (the page recomputes them for the range it shows). About 300 bytes.

    Raises
    ------
    ParameterError
        A map that is not 2-D, or ``max_ticks`` or ``tick_px`` out of range.
    """
    if len(center) != 2 or len(extent) != 2:
        raise ParameterError(f"numbered axes are drawn on 2-D maps only; this map is {len(center)}-D")
    if not (isinstance(axes.max_ticks, int) and 6 <= axes.max_ticks <= 12):
        raise ParameterError(f"max_ticks={axes.max_ticks!r} not an integer in 6..12")
    if not (isinstance(axes.tick_px, int) and 30 <= axes.tick_px <= 200):
        raise ParameterError(f"tick_px={axes.tick_px!r} not an integer in 30..200")
    out: dict[str, Any] = {"max_ticks": axes.max_ticks, "tick_px": axes.tick_px}
    for j, (name, title) in enumerate((("x", axes.x_title), ("y", axes.y_title))):
        lo, hi = (e * scale + center[j] for e in extent[j])
        out[name] = {
            "title": clean_label(title, 80),
            "offset": float(center[j]),
            "scale": float(scale),
            "ticks": tick_values(lo, hi, max_ticks=axes.max_ticks) if hi > lo else [],
        }
    return out
