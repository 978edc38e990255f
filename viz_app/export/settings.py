"""Reproducibility settings: everything needed to redraw a map, as a small validated JSON object.

A settings object records the dataset (name, reference and the SHA-256 fingerprint of its
vectors), the projection parameters (reducer, its parameters and seed), the view (colour
column), the encoder and the library versions. It travels with every export: as a sidecar file
``<export>.settings.json`` and, where the format allows, inside the file itself (a PNG ``tEXt``
chunk, an SVG ``<metadata>`` element, an HTML ``<script type="application/json">`` element).
:func:`load_settings` reads any of these back and validates it; :func:`params_from_settings`
rebuilds the :class:`~viz_app.data.model.ProjectionParams` through :func:`viz_app.reduce.project.make_params`
so the same bounds apply as in the app. Standard library only (json; the carriers in
:mod:`viz_app.export.carriers`).

Example ::

    s = settings_for(es, proj, dataset_ref={"kind": "sample", "key": "glove"})
    save_settings(s, "map.settings.json")
    s2 = load_settings("map.settings.json")
    check_fingerprint(es, s2)
    proj2 = project_with(es.vectors, params_from_settings(s2), fingerprint=es.fingerprint)
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from viz_app._version import __version__
from viz_app.data.model import EmbeddingSet
from viz_app.errors import DataFormatError, ParameterError
from viz_app.export import carriers
from viz_app.map.view import check_camera
from viz_app.reduce import Projection, ProjectionParams, get_reducer, make_params, reducer_names

__all__ = [
    "HTML_ELEMENT_ID",
    "LIBRARIES",
    "PNG_KEYWORD",
    "SETTINGS_FORMAT",
    "SETTINGS_VERSION",
    "check_fingerprint",
    "embed_in_html",
    "embed_in_png",
    "embed_in_svg",
    "extract_settings",
    "library_versions",
    "load_settings",
    "params_from_settings",
    "save_settings",
    "settings_for",
    "settings_json",
    "settings_record",
    "sidecar_path",
    "validate_settings",
]

SETTINGS_FORMAT = "embedding-lens/settings"
SETTINGS_VERSION = 1
#: Distribution names whose versions are recorded (``None`` when not installed).
LIBRARIES = (
    "numpy",
    "pandas",
    "scikit-learn",
    "umap-learn",
    "openTSNE",
    "plotly",
    "datamapplot",
    "matplotlib",
    "sentence-transformers",
)
HTML_ELEMENT_ID = "embedding-lens-settings"
PNG_KEYWORD = "embedding-lens-settings"
MAX_SETTINGS_BYTES = 1 << 20  # a settings JSON is ~1 kB; refuse anything above 1 MiB
_MAX_FILE_BYTES = 256 << 20  # an export that embeds settings (an HTML page of 100k points is ~15 MB)

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_NONE = type(None)
# key -> (allowed types, required); nested dicts are sub-schemas
_SCHEMA: dict[str, Any] = {
    "format": ((str,), True),
    "version": ((int,), True),
    "created_utc": ((str,), False),
    "dataset": (
        {
            "name": ((str,), False),
            "fingerprint": ((str,), True),
            "n_samples": ((int,), False),
            "n_features": ((int,), False),
            "model_name": ((str, _NONE), False),
            "ref": ((dict, _NONE), False),
        },
        True,
    ),
    "projection": (
        {
            "reducer": ((str,), True),
            "n_components": ((int,), True),
            "random_state": ((int,), True),
            "metric": ((str,), False),
            "fit_sample": ((int,), False),
        },  # + every registered reducer's parameters: see _schema()
        True,
    ),
    "view": (
        {
            "color_by": ((str, _NONE), False),
            "clusters": ((dict, _NONE), False),
            "k": ((int,), False),
            "nn_metric": ((str,), False),
            "search": ((str,), False),
            "search_regex": ((bool,), False),
            "focus": ((str, _NONE), False),
            "selection": ((list, _NONE), False),
            "point_size": ((float, int), False),
            "opacity": ((float, int), False),
            "camera": ((dict, _NONE), False),
        },
        False,
    ),
    "versions": ((dict,), False),
    "trust": ((dict, _NONE), False),
    "extra": ((dict,), False),
}


def _schema() -> dict[str, Any]:
    """:data:`_SCHEMA` with every registered reducer's parameters in ``projection``."""
    projection = dict(_SCHEMA["projection"][0])
    for name in reducer_names():
        for p in get_reducer(name).params:
            projection[p.name] = ((float, int) if p.kind is float else (int,), False)
    return {**_SCHEMA, "projection": (projection, True)}


def library_versions() -> dict[str, str | None]:
    """Versions of Python, viz_app and :data:`LIBRARIES`, read with ``importlib.metadata``.

    Nothing is imported (no torch, no umap): only the installed distributions' metadata is read.

    Returns
    -------
    dict of str to str or None
        ``{"python": "3.11.9", "viz_app": "0.1.0", "numpy": "2.4.6", ...}``; ``None`` for a
        library that is not installed.
    """
    return dict(_installed_versions())  # a copy: callers may change theirs


@functools.lru_cache(maxsize=1)
def _installed_versions() -> tuple[tuple[str, str | None], ...]:
    """Read once per process: ``settings_for`` runs on every rerun of the explorer."""

    out: dict[str, str | None] = {"python": sys.version.split()[0], "viz_app": __version__}
    for dist in LIBRARIES:
        try:
            out[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            out[dist] = None
    return tuple(out.items())


def settings_for(
    es: EmbeddingSet,
    projection: Projection,
    *,
    dataset_ref: Mapping[str, Any] | str | None = None,
    color_by: str | None = None,
    view: Mapping[str, Any] | None = None,
    trust: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The reproducibility record of one map.

    Parameters
    ----------
    es : EmbeddingSet
        The projected set; its ``fingerprint`` (SHA-256 of the float32 vectors) identifies the data.
    projection : Projection
        Must have been computed from ``es`` (same fingerprint, same number of rows).
    dataset_ref : mapping or str, optional
        How to get the data again, e.g. ``{"kind": "sample", "key": "glove"}``; a str is taken as
        a file name (``{"kind": "file", "name": ...}``). JSON values only.
    color_by : str, optional
        Metadata column the map is coloured by.
    view : mapping, optional
        The rest of the view, so a loaded file shows the same: ``clusters`` (the cluster
        settings, e.g. ``{"method": "hdbscan", "min_cluster_size": 12, "space": "original"}``),
        ``k`` and ``nn_metric`` (neighbour list), ``search`` and ``search_regex``, ``focus`` (an
        id), ``selection`` (ids), ``point_size`` (px), ``opacity``, ``camera`` (where the live
        map's camera rests, in the projection's coordinates: ``target`` (2 or 3 numbers, the
        centre of the view), ``zoom`` (log2 of screen pixels per data unit) and, for 3-D maps,
        ``rotationOrbit`` and ``rotationX`` in degrees; see :func:`viz_app.map.view.check_camera`;
        absent until the user moves the camera, i.e. the whole map). Unknown keys are refused
        by :func:`validate_settings`.
    trust : mapping, optional
        How faithful the map is: :meth:`viz_app.explore.trust.TrustReport.summary`
        (trustworthiness, continuity, preservation@k, chance, k, ...), kept as given under
        ``trust`` (informative: a loaded settings file recomputes it).
    extra : mapping, optional
        Other JSON-serialisable view state (focus id, cluster settings, ...).

    Returns
    -------
    dict
        Keys ``format``, ``version``, ``created_utc`` (ISO 8601, UTC, seconds), ``dataset``
        (``name``, ``fingerprint``, ``n_samples``, ``n_features``, ``model_name``, ``ref``),
        ``projection`` (:meth:`ProjectionParams.as_dict`, whose ``random_state`` is the seed),
        ``view``, ``versions`` (:func:`library_versions`), ``trust`` (when given) and ``extra``. Passes
        :func:`validate_settings`.

    Raises
    ------
    ParameterError
        ``projection`` does not belong to ``es``, or ``dataset_ref``/``extra`` are not JSON.
    """
    if projection.coords.shape[0] != es.n_samples or (
        projection.source_fingerprint and projection.source_fingerprint != es.fingerprint
    ):
        raise ParameterError(f"the projection was not computed from {es.name!r} (different vectors)")
    dataset = {
        "name": es.name,
        "fingerprint": es.fingerprint,
        "n_samples": es.n_samples,
        "n_features": es.n_features,
        "model_name": es.model_name,
    }
    return settings_record(
        dataset, projection.params, dataset_ref=dataset_ref, color_by=color_by, view=view, trust=trust, extra=extra
    )


def settings_record(
    dataset: Mapping[str, Any],
    params: Any,
    *,
    dataset_ref: Mapping[str, Any] | str | None = None,
    color_by: str | None = None,
    view: Mapping[str, Any] | None = None,
    trust: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """:func:`settings_for` from a description of the set instead of the set itself (a set
    written by partitions that no process holds whole).

    Parameters
    ----------
    dataset : mapping
        ``name``, ``fingerprint`` (:func:`viz_app.data.model.fingerprint_vectors` of the whole
        vectors), ``n_samples``, ``n_features``, ``model_name``.
    params : ProjectionParams
        The projection's parameters.

    Other parameters, return value and errors: :func:`settings_for`.
    """
    ref = {"kind": "file", "name": dataset_ref} if isinstance(dataset_ref, str) else dataset_ref
    settings = {
        "format": SETTINGS_FORMAT,
        "version": SETTINGS_VERSION,
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dataset": {
            **{key: dataset[key] for key in ("name", "fingerprint", "n_samples", "n_features", "model_name")},
            "ref": None if ref is None else dict(ref),
        },
        "projection": params.as_dict(),
        "view": {"color_by": color_by, **dict(view or {})},
        "versions": library_versions(),
        **({"trust": dict(trust)} if trust is not None else {}),
        "extra": dict(extra or {}),
    }
    try:
        return json.loads(json.dumps(settings, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"dataset_ref, trust and extra must hold JSON values only: {exc}") from None


def _check(obj: Mapping[str, Any], schema: Mapping[str, Any], where: str, file: str | None) -> None:
    for key in obj:
        if key not in schema:
            raise DataFormatError(f"unknown key '{where}{key}'; allowed: {sorted(schema)}", file=file)
    for key, (kind, required) in schema.items():
        if key not in obj:
            if required:
                raise DataFormatError(f"missing key '{where}{key}'", file=file)
            continue
        value = obj[key]
        types = (dict,) if isinstance(kind, dict) else kind
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            names = " or ".join("null" if t is _NONE else {"dict": "object"}.get(t.__name__, t.__name__) for t in types)
            raise DataFormatError(
                f"key '{where}{key}' must be {names}, got {type(value).__name__} {value!r:.60}", file=file
            )
        if isinstance(kind, dict):
            _check(value, kind, f"{where}{key}.", file)


def validate_settings(settings: Any, *, file: str | None = None) -> dict[str, Any]:
    """Check a settings object against the schema (keys, types, format and version).

    Parameters
    ----------
    settings : any
        Usually the result of ``json.loads``.
    file : str, optional
        Name used in error messages.

    Returns
    -------
    dict
        ``settings`` itself.

    Raises
    ------
    DataFormatError
        Not an object; an unknown or missing key, or a value of the wrong type (the message
        names the key, e.g. ``'projection.n_neighbors'``); another ``format``; a newer
        ``version``; a ``dataset.fingerprint`` that is not 64 hex digits; a version entry that
        is not a string or null; a ``view.camera`` that :func:`viz_app.map.view.check_camera`
        refuses (e.g. a 2-number target for a 3-D map).
    """
    if not isinstance(settings, dict):
        raise DataFormatError(f"settings must be a JSON object, got {type(settings).__name__}", file=file)
    _check(settings, _schema(), "", file)
    if settings["format"] != SETTINGS_FORMAT:
        raise DataFormatError(f"key 'format' must be {SETTINGS_FORMAT!r}, got {settings['format']!r}", file=file)
    if not 1 <= settings["version"] <= SETTINGS_VERSION:
        raise DataFormatError(
            f"key 'version' is {settings['version']}; this app reads versions 1..{SETTINGS_VERSION}", file=file
        )
    if not _HEX64.match(settings["dataset"]["fingerprint"]):
        raise DataFormatError("key 'dataset.fingerprint' must be 64 lowercase hex digits (SHA-256)", file=file)
    for lib, ver in settings.get("versions", {}).items():
        if ver is not None and not isinstance(ver, str):
            raise DataFormatError(f"key 'versions.{lib}' must be str or null, got {ver!r}", file=file)
    camera = (settings.get("view") or {}).get("camera")
    if camera is not None:
        try:
            check_camera(camera, settings["projection"]["n_components"])
        except ParameterError as exc:
            raise DataFormatError(f"key 'view.camera': {exc}", file=file) from None
    return settings


def settings_json(settings: Mapping[str, Any]) -> str:
    """Validated settings as pretty-printed JSON text (UTF-8 safe, 2-space indent)."""
    validate_settings(dict(settings))
    return json.dumps(settings, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """``<path>.settings.json``, e.g. ``map.png`` -> ``map.png.settings.json``."""
    return Path(f"{os.fspath(path)}.settings.json")


def save_settings(settings: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Validate ``settings`` and write them as JSON (UTF-8) to ``path``.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    DataFormatError
        ``settings`` do not pass :func:`validate_settings`.
    """
    text = settings_json(settings)
    out = Path(path)
    out.write_text(text, encoding="utf-8")
    return out


def load_settings(path_or_bytes: str | os.PathLike[str] | bytes) -> dict[str, Any]:
    """Read settings from a JSON file, or from an exported PNG, SVG or HTML that embeds them.

    Parameters
    ----------
    path_or_bytes : path-like or bytes
        A ``.settings.json`` file, its bytes, or an export written with ``settings=`` (PNG
        ``tEXt`` chunk, SVG ``<metadata>``, HTML ``<script type="application/json">``).

    Returns
    -------
    dict
        Validated by :func:`validate_settings`.

    Raises
    ------
    DataFormatError
        Unreadable file, larger than 1 MiB (JSON), not JSON, no embedded settings, or invalid
        settings (the message names the key).
    """
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        data, name = bytes(path_or_bytes), "settings"
    else:
        name = Path(path_or_bytes).name
        try:
            if Path(path_or_bytes).stat().st_size > _MAX_FILE_BYTES:
                raise DataFormatError(f"is larger than {_MAX_FILE_BYTES >> 20} MiB; not a settings file", file=name)
            data = Path(path_or_bytes).read_bytes()
        except OSError as exc:
            raise DataFormatError(f"cannot be opened: {exc.strerror or exc}", file=name) from None
    text = extract_settings(data) if not data.lstrip().startswith(b"{") else data.decode("utf-8", "replace")
    if text is None:
        raise DataFormatError(
            "holds no Embedding Lens settings (neither JSON nor an export that embeds them)", file=name
        )
    if len(text) > MAX_SETTINGS_BYTES:
        raise DataFormatError(f"settings are larger than {MAX_SETTINGS_BYTES >> 20} MiB", file=name)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"is not valid JSON: {exc.msg}", file=name, row=exc.lineno) from None
    except RecursionError:
        raise DataFormatError("is nested too deeply to be a settings file", file=name) from None
    return validate_settings(obj, file=name)


def params_from_settings(settings: Mapping[str, Any]) -> ProjectionParams:
    """The projection parameters recorded in ``settings``, validated by :func:`~viz_app.reduce.project.make_params`.

    Returns
    -------
    ProjectionParams
        Equal to the original's :meth:`~ProjectionParams.as_dict`; with the same vectors,
        :func:`~viz_app.reduce.project.project_with` gives identical coordinates (UMAP is run
        single-threaded for that reason).

    Raises
    ------
    DataFormatError
        ``settings`` fail :func:`validate_settings`.
    ParameterError
        A value out of the app's bounds, a parameter that does not apply to the reducer, or
        (when ``dataset.n_samples`` is recorded) too few samples for it.
    """

    validate_settings(dict(settings))
    p = dict(settings["projection"])
    reducer = p.pop("reducer")
    n = settings["dataset"].get("n_samples")
    return make_params(reducer, n_samples=n, **p)


def check_fingerprint(es: EmbeddingSet, settings: Mapping[str, Any]) -> None:
    """Make sure ``es`` holds the very vectors the settings were saved for.

    Raises
    ------
    ParameterError
        The SHA-256 fingerprints differ. The message names the file the view was made from (to
        upload it again) and what differs: file name, number of points, dimensions, content.
    """
    ds = settings["dataset"]
    if ds["fingerprint"] == es.fingerprint:
        return
    name, n, d = ds.get("name", "?"), ds.get("n_samples"), ds.get("n_features")
    diffs = []
    if name != es.name:
        diffs.append(f"file {es.name!r} instead of {name!r}")
    if n is not None and n != es.n_samples:
        diffs.append(f"{es.n_samples:,} points instead of {n:,}")
    if d is not None and d != es.n_features:
        diffs.append(f"{es.n_features} dimensions instead of {d}")
    diffs.append(f"content fingerprint {es.fingerprint[:12]}… instead of {ds['fingerprint'][:12]}…")
    shape = f", {n:,} x {d}" if n is not None and d is not None else ""
    raise ParameterError(
        f"this view was made from {name}{shape} (fingerprint {ds['fingerprint'][:12]}…); the loaded set "
        f"differs: {'; '.join(diffs)}. Upload {name} to restore the view"
    )


# --- carriers: PNG tEXt chunk, SVG <metadata>, HTML <script type="application/json"> ----------
# (the byte-level work is in viz_app.export.carriers; here the settings are validated first)


def _compact(settings: Mapping[str, Any]) -> str:
    validate_settings(dict(settings))
    return json.dumps(settings, ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def embed_in_png(png: bytes, settings: Mapping[str, Any]) -> bytes:
    """Insert the validated settings as a PNG ``tEXt`` chunk (keyword :data:`PNG_KEYWORD`) after
    ``IHDR`` (:func:`viz_app.export.carriers.png_with_text`). Pillow shows it in ``Image.open(...).text``.

    Raises
    ------
    DataFormatError
        ``png`` is not a PNG, or the settings are not valid.
    """
    return carriers.png_with_text(png, PNG_KEYWORD, _compact(settings))


def embed_in_svg(svg: bytes, settings: Mapping[str, Any]) -> bytes:
    """Insert the validated settings, XML-escaped, as ``<metadata id="embedding-lens-settings">``
    after ``<svg ...>`` (:func:`viz_app.export.carriers.svg_with_metadata`).

    Raises
    ------
    DataFormatError
        ``svg`` has no ``<svg>`` element, or the settings are not valid.
    """
    return carriers.svg_with_metadata(svg, HTML_ELEMENT_ID, _compact(settings))


def embed_in_html(page: str, settings: Mapping[str, Any]) -> str:
    """Insert ``<script type="application/json" id="embedding-lens-settings">`` before
    ``</body>`` (:func:`viz_app.export.carriers.html_with_json`; a label holding ``</script>`` cannot
    close the element)."""
    return carriers.html_with_json(page, HTML_ELEMENT_ID, _compact(settings))


def extract_settings(data: bytes) -> str | None:
    """The settings JSON text embedded in an exported PNG, SVG or HTML file, or None."""
    return carriers.extract(data, png_keyword=PNG_KEYWORD, element_id=HTML_ELEMENT_ID)
