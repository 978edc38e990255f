"""The live map as a Streamlit component (``st.components.v2``): mount it, read what the user did.

How the ~650 kB bundle reaches the browser once. Streamlit 1.67 offers two ways to give a v2
component its JavaScript: an inline ``js=`` string, or a file under an ``asset_dir`` declared in
a ``pyproject.toml`` shipped inside an installed package (found by scanning installed
distributions; served at ``/_stcore/bidi-components/<name>/<file>`` with ``Cache-Control:
public`` and no validator, so it is fetched again on each page load). An inline string is copied
into the element's protobuf (``js_content``) and crosses the websocket on every rerun: a 650 kB
bundle inline would make every click a 650 kB message. The asset_dir route needs the package to
be pip-installed (and listed as depending on streamlit); from the source tree it is not found.
So the inline ``js=`` here is a ~300-byte loader that ``import()``s the bundle from this app's
own route (``viz_app.ui.map.server``), whose URL holds the bundle's hash and is served
``immutable``: the browser downloads the bundle once, keeps it across page loads, and the same
code path works from the source tree and installed. The map's data crosses the same way (by URL,
once per map); ``data`` carries only the small per-rerun view (:mod:`viz_app.map.view`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st
from numpy.typing import NDArray

from viz_app.errors import ParameterError
from viz_app.map.prepare import MapData
from viz_app.map.rowsets import decode_rows
from viz_app.map.view import MapView, check_camera, view_payload
from viz_app.ui.map.server import STORE, bundle_url, put_file, serve_map

__all__ = ["MapEvent", "live_map", "map_event"]

_LOADER = """const url = new URL(%s, window.location.href).href;
export default async function (args) {
  try { return (await import(url)).default(args); }
  catch (e) {
    const p = document.createElement("p");
    p.textContent = "The map's script could not be loaded from " + url + " (" + e + "): "
      + "start the app with 'streamlit run streamlit_app.py'.";
    args.parentElement.append(p);
  }
}
"""
_component: Any = None


def _mount() -> Any:
    global _component
    if _component is None:
        _component = st.components.v2.component("embedding_lens.live_map", js=_LOADER % json.dumps(bundle_url()))
    return _component


@dataclass(frozen=True)
class MapEvent:
    """What the user did in the map, as seen on this rerun.

    Attributes
    ----------
    focus_row : int or None
        The row last clicked in the map (kept across reruns), None before any click.
    focus_id : str or None
        ``MapData.ids[focus_row]``.
    clicked : bool
        True on the rerun that a new click caused.
    selection_rows : ndarray of int64 or None
        Rows of the last box or lasso selection, sorted; None before any, empty once cleared.
    selection_ids : ndarray of object or None
        Their ids.
    selection_how : str
        ``"box"``, ``"lasso"`` or ``""`` (cleared).
    selected : bool
        True on the rerun that a new selection (or clearing it) caused.
    camera : dict or None
        The camera the user left the map at (reported once it rests after a pan, zoom or
        rotation, or after a zoom button), in the map's data coordinates: ``target``,
        ``zoom`` and, in 3-D, ``rotationOrbit``/``rotationX`` (see
        :func:`viz_app.map.view.check_camera`); None until then, or when it was reported for
        another map.
    """

    focus_row: int | None = None
    focus_id: str | None = None
    clicked: bool = False
    selection_rows: NDArray[np.int64] | None = None
    selection_ids: NDArray[np.object_] | None = None
    selection_how: str = ""
    selected: bool = False
    camera: dict | None = None


def _state(result: Any, name: str) -> dict:
    value = result.get(name) if isinstance(result, dict) else getattr(result, name, None)
    return value if isinstance(value, dict) else {}


def _event(result: Any, data: MapData, key: str, *, mark: bool) -> MapEvent:
    focus, sel = _state(result, "focus"), _state(result, "selection")
    seen_key = f"_lens_map_seen_{key}"
    seen = st.session_state.get(seen_key, {})
    row = focus.get("row")
    row = int(row) if isinstance(row, int) and 0 <= row < data.n else None
    ev: dict[str, Any] = {"focus_row": row, "focus_id": None if row is None else str(data.ids[row])}
    ev["clicked"] = bool(focus) and focus.get("seq") != seen.get("focus")
    if sel:
        rows = decode_rows(sel, data.n)
        ev.update(selection_rows=rows, selection_ids=data.ids[rows], selection_how=str(sel.get("how", "")))
        ev["selected"] = sel.get("seq") != seen.get("selection")
    cam = _state(result, "camera")
    if cam.get("map") == data.encoded.key[:32]:
        try:
            ev["camera"] = check_camera({k: v for k, v in cam.items() if k not in ("map", "seq")}, data.encoded.dims)
        except ParameterError:
            pass
    if mark:
        st.session_state[seen_key] = {"focus": focus.get("seq"), "selection": sel.get("seq")}
    return MapEvent(**ev)


def map_event(data: MapData, *, key: str) -> MapEvent:
    """The user's last actions in the map ``key``, before it is drawn on this rerun.

    Lets a page build the :class:`MapView` from the latest click (e.g. ``MapView(focus=
    map_event(data, key=k).focus_row)``) so the map and the panels agree on one rerun.
    :attr:`MapEvent.clicked` and :attr:`MapEvent.selected` are the same as :func:`live_map` will
    return on this rerun.
    """
    return _event(st.session_state.get(key), data, key, mark=False)


def live_map(data: MapData, view: MapView | None = None, *, key: str, height: int = 600) -> MapEvent:
    """Draw ``data`` in the page (deck.gl, WebGL) with ``view`` on top; return the user's actions.

    The map's files are fetched by the page once per map (by URL, see
    :mod:`viz_app.ui.map.server`); each rerun sends only ``view`` as a few hundred bytes of JSON,
    and a rerun whose view did not change touches nothing in the page. A click highlights the
    clicked point and its ``view.k`` neighbours at once (from the shipped kNN graph) and then
    reruns the enclosing fragment with :attr:`MapEvent.clicked` set; a box or lasso selection
    does the same with :attr:`MapEvent.selected`. Put the call in an ``@st.fragment`` with the
    panels that follow the map, so a click does not rerun the whole page.

    Parameters
    ----------
    data : MapData
        From :func:`viz_app.ui.map.map_data` (cached) or :func:`viz_app.map.prepare.prepare_map`.
    view : MapView, optional
        Focus, highlights, arrows, markers, labels, options. ``view.zoom_to`` is applied once
        per call that passes it (``zoom_seq`` is managed here).
    key : str
        Widget key; keeps the map (camera, fetched data) across reruns.
    height : int, default=600
        CSS pixels, 200-4000.

    Returns
    -------
    MapEvent

    Raises
    ------
    ParameterError
        A row, colour or option of ``view`` out of range (see :func:`viz_app.map.view.view_payload`).
    """
    view = view or MapView()
    zkey = f"_lens_map_zoom_{key}"
    if view.zoom_to is not None:
        st.session_state[zkey] = st.session_state.get(zkey, 0) + 1
    view = dataclasses.replace(view, zoom_seq=st.session_state.get(zkey, 0))
    payload = view_payload(view, data.encoded, serve_map(data), height=height, put=put_file)
    result = _mount()(
        key=key,
        data=payload,
        height=height,
        on_focus_change=lambda: None,
        on_selection_change=lambda: None,
        on_camera_change=lambda: None,
    )
    return _event(result, data, key, mark=True)


def store_stats() -> dict[str, int]:
    """Entries and bytes held by the process's map store (for diagnostics and benchmarks)."""
    return {"entries": len(STORE), "bytes": STORE.nbytes}
