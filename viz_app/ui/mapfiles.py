"""Map files in the app: a file written by ``embedding-lens map`` opens with its stored map (no
projection runs), whether uploaded on the Data page or given to ``embedding-lens serve FILE``.

:func:`adopt` keeps the stored projection in this session's own store (never the shared
projection store: a file's coordinates must not become another session's map of the same
vectors) under the set's content key and the stored parameters, and sets this session's projection controls to those
parameters, so the Explore page finds the map in the store instead of computing it.
"""

from __future__ import annotations

import os
from pathlib import Path

from viz_app.data import io
from viz_app.data.model import EmbeddingSet
from viz_app.errors import VizAppError
from viz_app.export.mapfile import map_result
from viz_app.ui import cache, state, viewstate

__all__ = ["OPEN_ENV", "adopt", "startup_dataset"]

#: Set by ``embedding-lens serve FILE`` (viz_app.cli.OPEN_ENV): the file the app opens first.
OPEN_ENV = "EMBEDDING_LENS_OPEN"


def adopt(es: EmbeddingSet, raw: io.RawData) -> str:
    """Register the stored map of ``raw`` (a map file) for ``es``; returns a note for the user.

    Raises
    ------
    VizAppError
        The stored map does not belong to these vectors or its settings are invalid.
    """
    m = map_result(es, raw.stored_map, file=raw.name)
    cache.put_stored_map(es, m.projection)
    color = "cluster_label" if "cluster_label" in es.metadata.columns else None
    viewstate._apply_params(m.projection.params, color)
    return f"Opened the stored map ({m.projection.params.describe()}); nothing was recomputed."


def _load(path: str) -> tuple[EmbeddingSet, io.RawData]:
    raw = io.read(path)
    return io.to_embedding_set(raw), raw


def startup_dataset() -> dict | None:
    """The dataset dict of the file named by ``EMBEDDING_LENS_OPEN`` (read once per server), for
    a session that has no dataset yet; None when unset or unreadable (the message says why)."""
    path = os.environ.get(OPEN_ENV)
    if not path:
        return None
    try:
        es, raw = cache.datasets().get_or_compute(("file", path), lambda: _load(path))
        key = cache.put_session_set(es)  # the same object for every session, listed as its own
        note = adopt(es, raw) if raw.stored_map is not None else ""
    except VizAppError as exc:
        state.put(state.UPLOAD_MSG, ("error", f"Could not open {Path(path).name}. {exc}"))
        return None
    state.put(state.UPLOAD_MSG, ("success", f"Loaded {es.name}: {es.n_samples:,} points. {note}".strip()))
    return {"kind": "upload", "key": key, "name": es.name}
