"""The live map (deck.gl in the page, data sent once by URL): the only Streamlit-aware part.

Usage in a page or a ``viz_app.ui`` view::

    from viz_app.ui.map import Highlight, MapView, live_map, map_data

    data = map_data(es, projection, color_by="kind", tooltip=["kind"])   # cached per content
    event = live_map(data, MapView(focus=row, k=10, highlights=[Highlight("search", rows)]),
                     key="explore_map", height=620)
    if event.clicked: ...        # event.focus_row / event.focus_id
    if event.selected: ...       # event.selection_rows / event.selection_ids

The app's entry script must serve the map's routes: ``app = st.App(__file__,
routes=map_routes())`` (see ``streamlit_app.py``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.map.prepare import MapData, map_key, prepare_map
from viz_app.map.view import Arrow, Highlight, Label, MapView, Marker
from viz_app.reduce import Projection
from viz_app.ui.map.component import MapEvent, live_map, map_event, store_stats
from viz_app.ui.map.server import map_routes

__all__ = [
    "Arrow",
    "Highlight",
    "Label",
    "MapData",
    "MapEvent",
    "MapView",
    "Marker",
    "live_map",
    "map_data",
    "map_event",
    "map_routes",
    "store_stats",
]


@st.cache_resource(max_entries=8, show_spinner="Preparing the map…")
def _prepare(key: str, _es: EmbeddingSet, _coords, color_by, tooltip, k, image_shape, scale, vrange, _color) -> MapData:
    return prepare_map(
        _es,
        _coords,
        color_by=color_by,
        tooltip=tooltip,
        k=k,
        image_shape=image_shape,
        color_scale=scale,
        color_range=vrange,
        color=_color,
    )


#: map_key() per (set, coordinates, options) object identity: hashing 1M labels on every rerun
#: would cost ~0.1 s a click. Holds the objects (so ids are not reused), 8 at most.
_KEYS: OrderedDict[tuple, tuple[str, object, object, object]] = OrderedDict()
_KEYS_LOCK = threading.Lock()


def _key(es: EmbeddingSet, coords: object, xy: NDArray, options: tuple, color: pd.Series | None) -> str:
    ident = (id(es), id(coords), id(color), options)
    with _KEYS_LOCK:
        hit = _KEYS.get(ident)
        if hit is not None and hit[1] is es and hit[2] is coords and hit[3] is color:
            _KEYS.move_to_end(ident)
            return hit[0]
    color_by, tooltip, k, image_shape, scale, vrange = options
    key = map_key(
        es,
        xy,
        color_by=color_by,
        tooltip=tooltip,
        k=k,
        image_shape=image_shape,
        color_scale=scale,
        color_range=vrange,
        color=color,
    )
    with _KEYS_LOCK:
        _KEYS[ident] = (key, es, coords, color)
        while len(_KEYS) > 8:
            _KEYS.popitem(last=False)
    return key


def map_data(
    es: EmbeddingSet,
    coords: NDArray[np.floating] | Projection,
    *,
    color_by: str | None = None,
    tooltip: Sequence[str] = (),
    k: int = 20,
    image_shape: tuple[int, int] | None = None,
    color_scale: str = "auto",
    color_range: tuple[float, float] | None = None,
    color: pd.Series | None = None,
) -> MapData:
    """:func:`viz_app.map.prepare.prepare_map`, cached per content (:func:`~viz_app.map.prepare.map_key`)
    for the process (8 maps; sessions holding the same data share one). A rerun with the same
    ``es`` and ``coords`` objects costs a dictionary lookup.

    Parameters and errors: see :func:`~viz_app.map.prepare.prepare_map`.
    """
    xy = coords.coords if isinstance(coords, Projection) else np.asarray(coords)
    options = (
        color_by,
        tuple(tooltip),
        int(k),
        None if image_shape is None else tuple(image_shape),
        color_scale,
        None if color_range is None else (float(color_range[0]), float(color_range[1])),
    )
    key = _key(es, coords, xy, options, color)
    return _prepare(key, es, coords, *options, color)
