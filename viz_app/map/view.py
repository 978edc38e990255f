"""What the live map shows on one rerun, as plain data ("prepare, then render").

A :class:`MapView` names the focus, the highlighted row sets, arrows, markers, labels, the
display options and a one-off "zoom to" request; :func:`view_payload` turns it, for one
:class:`~viz_app.map.encode.EncodedMap` whose files are served at known URLs, into the small
JSON the component receives on each rerun. Positions are given in the map's data coordinates
(the projection's) and sent normalised; row sets are sent compactly
(:mod:`viz_app.map.rowsets`). The page compares each payload with the last and touches the GPU
only for what changed (``frontend/src/map.ts``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from viz_app.errors import ParameterError
from viz_app.map.colors import clean_label, rgba
from viz_app.map.encode import MAX_KNN_K, EncodedMap
from viz_app.map.rowsets import encode_rows
from viz_app.map.ticks import MapAxes, axes_payload

__all__ = [
    "Arrow",
    "Highlight",
    "Label",
    "MapAxes",
    "MapUrls",
    "MapView",
    "Marker",
    "check_camera",
    "view_payload",
]

Color = str | tuple[int, ...]
_SHAPES = ("star", "diamond", "cross", "circle", "square")
_CAMERA_KEYS = ("target", "zoom", "rotationOrbit", "rotationX")


def check_camera(camera: Any, dims: int | None = None) -> dict[str, Any]:
    """A camera of the live map, validated: the map's view state in its data coordinates.

    Parameters
    ----------
    camera : mapping
        ``target``: the point at the centre of the view, 2 (2-D map) or 3 (3-D) numbers in the
        projection's coordinates; ``zoom``: log2 of the screen pixels per data unit (each +1
        doubles the size); 3-D maps also ``rotationOrbit`` (degrees around the vertical axis)
        and ``rotationX`` (degrees of tilt, -90..90), as deck.gl's ``OrbitView`` names them.
    dims : {2, 3}, optional
        The map's dimensions; default: the length of ``target``.

    Returns
    -------
    dict
        The same keys, as floats (rotations only for 3-D maps).

    Raises
    ------
    ParameterError
        Not a mapping, unknown keys, a target of the wrong length, or a value that is not a
        finite number in range (zoom -60..60).
    """
    if not isinstance(camera, Mapping):
        raise ParameterError(f"a camera is an object with {', '.join(_CAMERA_KEYS)}, got {type(camera).__name__}")
    unknown = sorted(set(camera) - set(_CAMERA_KEYS))
    _check(not unknown, f"unknown camera keys {unknown}; allowed: {list(_CAMERA_KEYS)}")
    target = camera.get("target")
    if not isinstance(target, (list, tuple)) or len(target) not in (2, 3):
        raise ParameterError("camera target must be 2 or 3 numbers")
    dims = len(target) if dims is None else dims
    _check(len(target) == dims, f"camera target has {len(target)} numbers; the map is {dims}-D")

    def num(x: Any, what: str, lo: float = -1e30, hi: float = 1e30) -> float:
        ok = isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and lo <= x <= hi
        _check(ok, f"camera {what} must be a finite number in [{lo:g}, {hi:g}], got {x!r:.40}")
        return float(x)

    out: dict[str, Any] = {
        "target": [num(x, "target") for x in target],
        "zoom": num(camera.get("zoom"), "zoom", -60, 60),
    }
    if dims == 3:
        out["rotationOrbit"] = num(camera.get("rotationOrbit", 30.0), "rotationOrbit")
        out["rotationX"] = num(camera.get("rotationX", 20.0), "rotationX", -90, 90)
    return out


@dataclass(frozen=True)
class Highlight:
    """A named set of rows drawn over the map (search matches, cluster members, ...).

    Attributes
    ----------
    name : str
        Unique within a view.
    rows : sequence of int or boolean mask of length n
    color : str or tuple, default="#9467bd"
        ``"#rrggbb[aa]"`` or ``(r, g, b[, a])``.
    style : {"ring", "fill", "halo"}, default="ring"
    size : float, default=1.0
        Radius multiplier over the view's point size, in (0, 8].
    label : bool, default=False
        Label the rows (the first 300, by ``priority``) with their labels.
    priority : float, default=600
        Label priority; the focus is 900, its neighbours 800-790, arrows 700.
    """

    name: str
    rows: Any
    color: Color = "#9467bd"
    style: Literal["ring", "fill", "halo"] = "ring"
    size: float = 1.0
    label: bool = False
    priority: float = 600


@dataclass(frozen=True)
class Arrow:
    """An arrow between two data-space positions (e.g. a vector-arithmetic operand)."""

    start: Sequence[float]
    end: Sequence[float]
    color: Color = "#555555"
    label: str | None = None
    width: float = 2.0


@dataclass(frozen=True)
class Marker:
    """A symbol at a data-space position that is not a point of the data (e.g. the result of
    ``king - man + woman`` placed on the map); ``size`` is its radius in pixels."""

    position: Sequence[float]
    shape: Literal["star", "diamond", "cross", "circle", "square"] = "star"
    color: Color = "#d62728"
    size: float = 11.0
    label: str | None = None
    priority: float = 1000


@dataclass(frozen=True)
class Label:
    """A label at a row (its own label unless ``text`` is given) or at a data-space position
    (``style="cluster"``: centred there, larger, when there is room)."""

    text: str | None = None
    row: int | None = None
    position: Sequence[float] | None = None
    priority: float = 500
    style: Literal["point", "cluster"] = "point"
    color: Color | None = None


@dataclass(frozen=True)
class MapView:
    """Everything the map shows on top of its points, for one rerun.

    Attributes
    ----------
    focus : int or None
        Row shown as the focus (a server-side choice, e.g. from a search box); a click in the
        page sets the focus without waiting for this. Changing it never moves the camera.
    k : int, default=10
        Neighbours highlighted around the focus, 0..50 (at most the shipped graph's k).
    highlights : sequence of Highlight
    arrows : sequence of Arrow
    markers : sequence of Marker
    labels : sequence of Label
    selection : rows or None
        The selection the map shows; None leaves the page's own (box/lasso) selection alone,
        an empty set clears it.
    zoom_to : {"focus", "selection", "all"}, rows, a camera mapping, or None
        A one-off camera request, applied once per :attr:`zoom_seq`: fit the focus and its
        neighbours, the selection, everything or these rows; or set the camera (a mapping
        with ``target`` and ``zoom``, see :func:`check_camera`: a restored view).
    zoom_seq : int
        Increase it to repeat a request (``viz_app.ui.map.live_map`` does this for you).
    point_size : float, default=4
        Point diameter, CSS pixels (0.5-40).
    opacity : float, default=0.85
    dim : float or None
        Multiplies the opacity of all points (not of highlights). None: 0.25 while a selection
        is shown (selected points keep their colours at full opacity), else 1.
    auto_labels : int, default=0
        Up to this many extra labels for visible points, in row order (a frequency-ordered
        vocabulary labels its commonest words first).
    label_max_px : int, default=220
        Longer labels are shortened with an ellipsis (measured in the page).
    font_px : int, default=12
    tooltip : bool, default=True
    focus_color, neighbor_color : colour
    axes : MapAxes or None
        Numbered axes (tick marks, tick labels, titles) along the bottom and left edges, for
        2-D maps whose coordinates mean something, e.g. semantic axes
        (:mod:`viz_app.map.ticks`); None (PCA, t-SNE, UMAP maps) draws no scale.
    """

    focus: int | None = None
    k: int = 10
    highlights: Sequence[Highlight] = ()
    arrows: Sequence[Arrow] = ()
    markers: Sequence[Marker] = ()
    labels: Sequence[Label] = ()
    selection: Any = None
    zoom_to: Any = None
    zoom_seq: int = 0
    point_size: float = 4.0
    opacity: float = 0.85
    dim: float | None = None
    auto_labels: int = 0
    label_max_px: int = 220
    font_px: int = 12
    tooltip: bool = True
    focus_color: Color = "#d62728"
    neighbor_color: Color = "#ff7f0e"
    axes: MapAxes | None = None


@dataclass(frozen=True)
class MapUrls:
    """Where the page fetches one map's files (see ``viz_app.ui.map.server``)."""

    points: str
    labels: str | None = None
    knn: str | None = None
    details: str | None = None
    extra: dict = field(default_factory=dict)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ParameterError(message)


def _sets(view: MapView, m: EncodedMap, put: Callable[[bytes], str] | None) -> list[dict]:
    names = [h.name for h in view.highlights]
    _check(len(set(names)) == len(names), f"highlight names must be unique, got {names}")
    out = []
    for h in view.highlights:
        _check(h.style in ("ring", "fill", "halo"), f"highlight {h.name!r}: style {h.style!r} not in ring, fill, halo")
        _check(0 < h.size <= 8, f"highlight {h.name!r}: size {h.size} not in (0, 8]")
        out.append(
            {
                "name": clean_label(h.name, 60),
                "rows": encode_rows(h.rows, m.n, put=put, what=f"highlight {h.name!r}"),
                "color": rgba(h.color),
                "style": h.style,
                "size": float(h.size),
                "label": bool(h.label),
                "priority": float(h.priority),
            }
        )
    return out


def _labels(view: MapView, m: EncodedMap) -> list[dict]:
    out = []
    for lab in view.labels:
        d: dict[str, Any] = {
            "priority": float(lab.priority),
            "style": lab.style,
            "color": None if lab.color is None else rgba(lab.color),
        }
        _check(lab.style in ("point", "cluster"), f"label style {lab.style!r} not in point, cluster")
        if lab.row is not None:
            _check(0 <= int(lab.row) < m.n, f"label row {lab.row} outside 0..{m.n - 1}")
            d["row"] = int(lab.row)
        elif lab.position is not None:
            d["at"] = m.to_normalised(lab.position)
        else:
            raise ParameterError("a label needs a row or a position")
        if lab.text is not None:
            d["text"] = clean_label(lab.text)
        out.append(d)
    return out


def _axes(axes: MapAxes, m: EncodedMap) -> dict[str, Any]:
    _check(isinstance(axes, MapAxes), f"axes must be a MapAxes, got {type(axes).__name__}")
    extent = [list(e) for e in m.extent] or [[-1.0, 1.0]] * m.dims
    return axes_payload(axes, center=m.center, scale=m.scale, extent=extent)


def view_payload(
    view: MapView, m: EncodedMap, urls: MapUrls, *, height: int, put: Callable[[bytes], str] | None = None
) -> dict[str, Any]:
    """The JSON the component receives for ``view`` on map ``m`` (see ``frontend/src/types.ts``).

    Parameters
    ----------
    view : MapView
    m : EncodedMap
    urls : MapUrls
        Where ``m``'s files are served.
    height : int
        Component height, CSS pixels (200-4000).
    put : callable, optional
        Stores a file, returns its URL: large row sets go by URL (:func:`encode_rows`).

    Returns
    -------
    dict
        JSON-serialisable; a few hundred bytes plus the inlined row sets (at most ~4 kB each).

    Raises
    ------
    ParameterError
        A row, colour, style, size or option out of range, naming it; axes on a 3-D map.
    """
    _check(view.focus is None or 0 <= int(view.focus) < m.n, f"focus row {view.focus} outside 0..{m.n - 1}")
    _check(0 <= view.k <= MAX_KNN_K, f"k={view.k} not in 0..{MAX_KNN_K}")
    _check(0.5 <= view.point_size <= 40, f"point_size={view.point_size} not in [0.5, 40] px")
    _check(0 < view.opacity <= 1 and (view.dim is None or 0 < view.dim <= 1), "opacity and dim must be in (0, 1]")
    _check(200 <= height <= 4000, f"height={height} not in 200..4000 px")
    _check(0 <= view.auto_labels <= 500, f"auto_labels={view.auto_labels} not in 0..500")
    for mk in view.markers:
        _check(mk.shape in _SHAPES, f"marker shape {mk.shape!r} not in {', '.join(_SHAPES)}")
        _check(0 < mk.size <= 60, f"marker size {mk.size} not in (0, 60] px")
    zoom = None
    if isinstance(view.zoom_to, Mapping):
        cam = check_camera(view.zoom_to, m.dims)
        cam["target"] = m.to_normalised(cam["target"])
        cam["zoom"] = round(cam["zoom"] + math.log2(m.scale), 7)  # pixels per normalised unit
        zoom = {"to": {"camera": cam}, "seq": int(view.zoom_seq)}
    elif view.zoom_to is not None:
        to = view.zoom_to if isinstance(view.zoom_to, str) else encode_rows(view.zoom_to, m.n, put=put, what="zoom_to")
        _check(
            not isinstance(to, str) or to in ("focus", "selection", "all"),
            f"zoom_to={to!r} not in focus, selection, all",
        )
        zoom = {"to": to, "seq": int(view.zoom_seq)}
    return {
        "v": 1,
        "map": {
            "id": m.key[:32],
            "n": m.n,
            "dims": m.dims,
            "points": urls.points,
            "labels": urls.labels,
            "knn": urls.knn,
            "knn_k": m.knn_k if urls.knn else 0,
            "details": urls.details,
            "center": [round(c, 9) for c in m.center],
            "scale": m.scale,
        },
        "focus": None if view.focus is None else int(view.focus),
        "k": int(view.k if urls.knn is None else min(view.k, m.knn_k)),
        "sets": _sets(view, m, put),
        "arrows": [
            {
                "from": m.to_normalised(a.start),
                "to": m.to_normalised(a.end),
                "color": rgba(a.color),
                "label": None if a.label is None else clean_label(a.label),
                "width": float(a.width),
            }
            for a in view.arrows
        ],
        "markers": [
            {
                "at": m.to_normalised(mk.position),
                "shape": mk.shape,
                "color": rgba(mk.color),
                "size": float(mk.size),
                "label": None if mk.label is None else clean_label(mk.label),
                "priority": float(mk.priority),
            }
            for mk in view.markers
        ],
        "labels": _labels(view, m),
        "selection": None if view.selection is None else encode_rows(view.selection, m.n, put=put, what="selection"),
        "zoom": zoom,
        "point_size": float(view.point_size),
        "opacity": float(view.opacity),
        "dim": None if view.dim is None else float(view.dim),
        "auto_labels": int(view.auto_labels),
        "label_max_px": int(view.label_max_px),
        "font_px": int(view.font_px),
        "height": int(height),
        "tooltip": bool(view.tooltip),
        "colors": {"focus": rgba(view.focus_color), "neighbors": rgba(view.neighbor_color)},
        "axes": None if view.axes is None else _axes(view.axes, m),
    }
