"""Shareable view state: the URL query string and the settings JSON.

The query string holds the bundled sample, reducer, its parameters, colour and focus, so a
copied link reopens the same view (uploads cannot be fetched from a link: their settings JSON
re-creates the map once the same file is loaded). Values from a URL or a settings file pass
through :func:`viz_app.reduce.project.make_params`; anything invalid is ignored with a notice.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from viz_app.data import samples
from viz_app.data.model import EmbeddingSet
from viz_app.errors import VizAppError
from viz_app.export.settings import check_fingerprint, load_settings, params_from_settings
from viz_app.map.view import check_camera
from viz_app.reduce import DEFAULT_VIEW, ProjectionParams, get_reducer, make_params
from viz_app.ui import safe, state

_PENDING_FOCUS = "_pending_focus"
_PENDING_CAMERA = "_pending_camera"
#: Values for widgets keyed by their session key (search box, regex toggle) from a settings file,
#: set by the page that draws them before it does: Streamlit drops a widget's session value at
#: the end of a run of another page (the Data page, where the file is loaded).
_PENDING_WIDGETS = "_pending_widgets"
#: A settings file's HDBSCAN min_cluster_size, taken by the cluster slider on its next run.
PENDING_MCS = "_pending_mcs"
_APPLIED = "_url_applied"


def _apply_params(p: ProjectionParams, color_by: str | None) -> None:
    values = {state.REDUCER: p.reducer, state.DIMS: p.n_components, state.SEED: p.random_state}
    if p.spec.uses_metric:
        values[state.METRIC] = p.metric
    for name, value in p.options:
        values[state.param_key(p.reducer, name)] = value
    if color_by is not None:
        values[state.COLOR_BY] = color_by
    for key, value in values.items():
        state.put(key, value)
        st.session_state.pop(f"_w_{key}", None)  # widgets re-initialise from the new value


def _number(raw: str) -> int | float:
    """A URL value as a number: an int when it reads as one (``15``), else a float (``0.1``)."""
    try:
        return int(raw)
    except ValueError:
        return float(raw)


def params_from_query(qp: dict[str, str]) -> ProjectionParams:
    """Projection settings from a URL's query values, validated by the reducer registry.

    Raises
    ------
    VizAppError, ValueError
        Unknown reducer, a parameter that does not apply or is out of bounds, a non-number.
    """
    spec = get_reducer(qp.get("reducer", DEFAULT_VIEW.reducer))
    kw: dict[str, Any] = {p.name: _number(qp[p.name]) for p in spec.params if p.name in qp}
    if spec.uses_metric and "metric" in qp:
        kw["metric"] = qp["metric"]
    return make_params(spec.name, n_components=int(qp.get("dims", 2)), random_state=int(qp.get("seed", 0)), **kw)


def apply_query_params() -> None:
    """Once per session: take sample, projection settings, colour, focus, search, neighbour k,
    clusters and the camera from the URL."""
    if state.get(_APPLIED):
        return
    state.put(_APPLIED, True)
    qp = st.query_params
    if not qp:
        return
    if qp.get("shared"):
        state.put(state.DATASET, {"kind": "shared", "key": str(qp["shared"])[:64], "name": "shared upload"})
        return
    if qp.get("upload") and not qp.get("sample"):
        state.put(state.DATASET, {"kind": "missing", "key": qp["upload"][:12], "name": qp.get("file", "")[:200]})
        return
    try:
        if qp.get("sample") in samples.SAMPLES:
            state.put(state.DATASET, {"kind": "sample", "key": qp["sample"]})
            if qp.get("color"):  # the link's colour, not the sample's default
                state.put(state.COLOR_FOR, ("sample", qp["sample"]))
        params = params_from_query(qp.to_dict())
        _apply_params(params, qp.get("color"))
        if qp.get("focus"):
            state.put(_PENDING_FOCUS, qp["focus"])
        camera = camera_from_query(qp.get("cam", ""), params.n_components)
        if camera is not None:  # the link's sample is the set it opens: matched by projection only
            state.put(_PENDING_CAMERA, ((None, params.describe()), camera))
        _apply_view(_view_from_query(qp.to_dict()))
    except (VizAppError, ValueError) as exc:
        st.toast(safe.md(f"The link's projection settings were ignored: {exc}"))


def pending_focus(es: EmbeddingSet) -> str | None:
    """The focus id requested by the URL, once, if it exists in ``es``."""
    fid = st.session_state.pop(_PENDING_FOCUS, None)
    return fid if fid is not None and fid in set(es.ids) else None


def write_query_params(
    params: ProjectionParams, color_by: str | None, focus: str | None, camera: dict[str, Any] | None = None
) -> None:
    """Mirror the current view into the URL. For a sample the link reopens the same view (with
    ``camera``, where the user left the map: ``cam``, see :func:`camera_query`); for an upload the
    link names the file and its fingerprint (``upload=<12 hex>&file=<name>``), so reopening it
    says that the upload is not held instead of silently showing another set."""
    ds = state.get(state.DATASET) or {}
    if ds.get("kind") == "shared":
        if dict(st.query_params) != {"shared": ds["key"]}:
            st.query_params.from_dict({"shared": ds["key"]})
        return
    if ds.get("kind") == "upload":
        fp = str(ds.get("fingerprint") or ds.get("key") or "")[:12]
        up = {"upload": fp, "file": str(ds.get("name") or "")[:200]}
        if dict(st.query_params) != up:
            st.query_params.from_dict(up)
        return
    if ds.get("kind") != "sample":
        if st.query_params:
            st.query_params.clear()
        return
    qp = {
        "sample": ds["key"],
        "reducer": params.reducer,
        "dims": str(params.n_components),
        "seed": str(params.random_state),
    }
    if params.spec.uses_metric:
        qp["metric"] = params.metric
    for k, v in params.options:
        qp[k] = f"{v:g}" if isinstance(v, float) else str(v)
    if color_by:
        qp["color"] = color_by
    if focus:
        qp["focus"] = focus
    if camera:
        qp["cam"] = camera_query(camera)
    qp.update(_view_query())
    if dict(st.query_params) != qp:
        st.query_params.from_dict(qp)


def load_settings_file(data: bytes, current: EmbeddingSet | None) -> str:
    """Apply a settings JSON (or an export that embeds one); returns a message for the user.

    Raises
    ------
    VizAppError
        Invalid settings, or they belong to other data than any sample or the current set.
    """
    s = load_settings(data)
    ref = s["dataset"].get("ref") or {}
    if ref.get("kind") == "sample" and ref.get("key") in samples.SAMPLES:
        state.put(state.DATASET, {"kind": "sample", "key": ref["key"]})
    elif current is not None:
        check_fingerprint(current, s)
    else:
        ds = s["dataset"]
        raise VizAppError(
            f"this view was made from {ds.get('name', 'an uploaded file')} (fingerprint {ds['fingerprint'][:12]}…): "
            "upload that file first"
        )
    p = params_from_settings(s)
    ds = state.get(state.DATASET) or {}
    state.put(state.COLOR_FOR, (ds.get("kind"), ds.get("key")))  # the settings' colour, not the default
    _apply_params(p, (s.get("view") or {}).get("color_by"))
    _apply_view(s.get("view") or {})
    _apply_selection(s.get("view") or {}, s["dataset"]["fingerprint"])
    camera = (s.get("view") or {}).get("camera")
    if isinstance(camera, dict):
        state.put(_PENDING_CAMERA, ((s["dataset"]["fingerprint"], p.describe()), camera))
    state.put(state.FIT_SAMPLE, (s["dataset"]["fingerprint"], p.reducer, p.fit_sample) if p.fit_sample else None)
    return f"Settings loaded for {s['dataset']['name']}: {p.describe()}. Open the map to see it."


def current_view(es: EmbeddingSet, params: ProjectionParams | None = None) -> dict[str, Any]:
    """The view beyond projection and colour, for the settings JSON (see
    :func:`viz_app.export.settings.settings_for`): clusters, neighbour k and metric, search,
    focus, selection, point size and opacity, and the map's camera when the user moved it on
    the map of ``params`` (:func:`keep_camera`)."""
    view: dict[str, Any] = {
        "clusters": state.get(state.CLUSTERS),
        "search": str(state.get(state.SEARCH) or ""),
        "search_regex": bool(state.get(state.SEARCH_REGEX, False)),
        "focus": state.for_set(state.FOCUS, es.fingerprint),
        "selection": list(state.for_set(state.SELECTION, es.fingerprint) or []) or None,
    }
    for key, name, kind in (
        (state.K, "k", int),
        (state.NN_METRIC, "nn_metric", str),
        (state.POINT_SIZE, "point_size", float),
        (state.OPACITY, "opacity", float),
    ):
        if state.get(key) is not None:
            view[name] = kind(state.get(key))
    cam = kept_camera(es, params) if params is not None else None
    if cam is not None:
        view["camera"] = cam
    return view


def apply_pending_widgets() -> None:
    """Give the search box and its regex toggle a loaded settings file's values; call before
    drawing them."""
    for key, value in (st.session_state.pop(_PENDING_WIDGETS, None) or {}).items():
        st.session_state[key] = value


def keep_camera(es: EmbeddingSet, params: ProjectionParams, camera: dict[str, Any] | None) -> None:
    """Remember where the user left the camera of the map of ``es`` with ``params``."""
    if camera is not None:
        state.put(state.CAMERA, (es.fingerprint, (params.describe(), dict(camera))))


def kept_camera(es: EmbeddingSet, params: ProjectionParams) -> dict[str, Any] | None:
    """Where the user left the camera of the map of ``es`` with ``params`` (:func:`keep_camera`),
    or None (not moved, or moved on another map)."""
    cam = state.for_set(state.CAMERA, es.fingerprint)
    return dict(cam[1]) if cam is not None and cam[0] == params.describe() else None


def pending_camera(es: EmbeddingSet, params: ProjectionParams) -> dict[str, Any] | None:
    """The camera of a loaded settings file or of a sample's link, once, for the map it was saved
    on (same set, or the link's sample, and projection); None otherwise."""
    pending = st.session_state.pop(_PENDING_CAMERA, None)
    if (
        not isinstance(pending, tuple)
        or pending[0][1] != params.describe()
        or pending[0][0] not in (None, es.fingerprint)
    ):
        return None
    try:
        return check_camera(pending[1], params.n_components)
    except VizAppError:
        return None


def _apply_view(view: dict[str, Any]) -> None:
    """Put a settings file's view into the session (widgets re-initialise from it)."""
    simple = {
        "k": state.K,
        "nn_metric": state.NN_METRIC,
        "search": state.SEARCH,
        "search_regex": state.SEARCH_REGEX,
        "point_size": state.POINT_SIZE,
        "opacity": state.OPACITY,
    }
    pending: dict[str, Any] = {}
    for name, key in simple.items():
        if name in view:
            state.put(key, view[name])
            st.session_state.pop(f"_w_{key}", None)
            if key in (state.SEARCH, state.SEARCH_REGEX):
                pending[key] = view[name]
    if pending:
        state.put(_PENDING_WIDGETS, pending)
    clusters = view.get("clusters")
    if isinstance(clusters, dict) and clusters.get("method") in ("kmeans", "hdbscan"):
        values = {"cluster_method": clusters["method"], "cluster_space": clusters.get("space", "original")}
        if "k" in clusters:
            values["cluster_k"] = clusters["k"]
        if "min_cluster_size" in clusters:
            state.put(PENDING_MCS, clusters["min_cluster_size"])
        for key, value in values.items():
            state.put(key, value)
            st.session_state.pop(f"_w_{key}", None)
        state.put("_clusters_on", True)
    if view.get("focus"):
        state.put(_PENDING_FOCUS, str(view["focus"]))


def _apply_selection(view: dict[str, Any], fingerprint: str) -> None:
    if view.get("selection"):
        state.put(state.SELECTION, (fingerprint, tuple(str(i) for i in view["selection"])))


def camera_query(camera: dict[str, Any]) -> str:
    """A camera (:func:`viz_app.map.view.check_camera`) as a link's ``cam`` value: target, zoom
    and, for 3-D maps, ``rotationOrbit`` and ``rotationX``, comma-separated with 7 significant
    digits (``cam=1.25,-3.5,2.75``)."""
    values = [*camera["target"], camera["zoom"]]
    if len(camera["target"]) == 3:
        values += [camera.get("rotationOrbit", 30.0), camera.get("rotationX", 20.0)]
    return ",".join(f"{float(v):.7g}" for v in values)


def camera_from_query(value: str, dims: int) -> dict[str, Any] | None:
    """:func:`camera_query`'s text back as a checked camera of a ``dims``-D map; None when it is
    absent, malformed or out of range (a link's bad camera is ignored, the map is fitted)."""
    parts = str(value)[:200].split(",")
    if len(parts) != (3 if dims == 2 else 6):
        return None
    try:
        v = [float(p) for p in parts]
        cam: dict[str, Any] = {"target": v[:dims], "zoom": v[dims]}
        if dims == 3:
            cam.update(rotationOrbit=v[4], rotationX=v[5])
        return check_camera(cam, dims)
    except (ValueError, VizAppError):
        return None


def _view_query() -> dict[str, str]:
    """The view beyond projection, colour and focus, for a sample's URL: ``q`` (search),
    ``nn`` (neighbour k, when not 10) and ``cluster`` (``kmeans:8:original``,
    ``hdbscan:12:projection``)."""
    out: dict[str, str] = {}
    if state.get(state.SEARCH):
        out["q"] = str(state.get(state.SEARCH))[:200]
    if state.get(state.K) not in (None, 10):
        out["nn"] = str(int(state.get(state.K)))
    cl = state.get(state.CLUSTERS)
    if cl and cl.get("method") in ("kmeans", "hdbscan"):
        size = cl.get("k") if cl["method"] == "kmeans" else cl.get("min_cluster_size")
        out["cluster"] = f"{cl['method']}:{size}:{cl.get('space', 'original')}"
    return out


def _view_from_query(qp: dict[str, str]) -> dict[str, Any]:
    """:func:`_view_query`'s values back as a settings-file view (bad values are left out)."""
    view: dict[str, Any] = {}
    if qp.get("q"):
        view["search"] = qp["q"][:200]
    if qp.get("nn", "").isdigit():
        view["k"] = int(qp["nn"])
    parts = qp.get("cluster", "").split(":")
    if (
        len(parts) == 3
        and parts[0] in ("kmeans", "hdbscan")
        and parts[1].isdigit()
        and parts[2] in ("original", "projection")
    ):
        key = "k" if parts[0] == "kmeans" else "min_cluster_size"
        view["clusters"] = {"method": parts[0], key: int(parts[1]), "space": parts[2]}
    return view
