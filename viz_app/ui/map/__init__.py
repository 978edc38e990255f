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

from collections.abc import Sequence

import numpy as np
import streamlit as st
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet, Projection
from viz_app.map.prepare import MapData, map_key, prepare_map
from viz_app.map.view import Arrow, Highlight, Label, MapView, Marker
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
def _prepare(key: str, _es: EmbeddingSet, _coords, color_by, tooltip, k, image_shape) -> MapData:
    return prepare_map(_es, _coords, color_by=color_by, tooltip=tooltip, k=k, image_shape=image_shape)


def map_data(
    es: EmbeddingSet,
    coords: NDArray[np.floating] | Projection,
    *,
    color_by: str | None = None,
    tooltip: Sequence[str] = (),
    k: int = 20,
    image_shape: tuple[int, int] | None = None,
) -> MapData:
    """:func:`viz_app.map.prepare.prepare_map`, cached per content (:func:`~viz_app.map.prepare.map_key`)
    for the process (8 maps; sessions holding the same data share one)."""
    xy = coords.coords if isinstance(coords, Projection) else coords
    key = map_key(es, xy, color_by=color_by, tooltip=tooltip, k=k, image_shape=image_shape)
    return _prepare(key, es, coords, color_by, tuple(tooltip), k, None if image_shape is None else tuple(image_shape))
