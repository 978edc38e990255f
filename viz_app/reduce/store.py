"""On-disk cache of projection coordinates, keyed by the vectors' fingerprint and the
projection parameters, so a map computed once is re-shown after a server restart.

Files are plain ``.npy`` (read with ``allow_pickle=False``) plus a JSON sidecar; nothing is
ever unpickled. Default folder: ``$XDG_CACHE_HOME/embedding-lens/projections`` (or
``~/.cache/...``); ``EMBEDDING_LENS_CACHE`` overrides it, and an empty value disables it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from viz_app.reduce.project import Projection
from viz_app.reduce.registry import ProjectionParams

__all__ = ["ProjectionDiskCache", "default_cache_dir"]


def default_cache_dir() -> Path | None:
    """The cache folder, or None when ``EMBEDDING_LENS_CACHE`` is set to an empty string."""
    env = os.environ.get("EMBEDDING_LENS_CACHE")
    if env is not None:
        return Path(env) if env else None
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "embedding-lens" / "projections"


class ProjectionDiskCache:
    """Store and fetch :class:`~viz_app.data.model.Projection` coordinates on disk.

    Parameters
    ----------
    folder : path-like or None
        Where to keep files; default :func:`default_cache_dir`. ``None`` (or an unwritable
        folder) turns the cache into a no-op.
    """

    def __init__(self, folder: str | os.PathLike[str] | None = "default") -> None:
        self.folder = default_cache_dir() if folder == "default" else (Path(folder) if folder else None)

    @staticmethod
    def key(fingerprint: str, params: ProjectionParams) -> str:
        """Hex key of (fingerprint, params and the reducer's revision, when not 0): 64 characters."""
        revision = {"revision": params.spec.revision} if params.spec.revision else {}
        blob = json.dumps({"fp": fingerprint, **params.as_dict(), **revision}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, fingerprint: str, params: ProjectionParams) -> Projection | None:
        """The cached projection, or None if absent or unreadable."""
        if self.folder is None:
            return None
        stem = self.folder / self.key(fingerprint, params)
        try:
            coords = np.load(stem.with_suffix(".npy"), allow_pickle=False)
            meta = json.loads(stem.with_suffix(".json").read_text())
            return Projection(coords, params, fingerprint, meta.get("quality", {}), meta.get("elapsed_s", 0.0))
        except (OSError, ValueError, KeyError):
            return None

    def put(self, proj: Projection) -> None:
        """Write ``proj`` (atomically); silently a no-op if the folder is not writable."""
        if self.folder is None:
            return
        stem = self.folder / self.key(proj.source_fingerprint, proj.params)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.folder, suffix=".npy", delete=False) as f:
                np.save(f, np.asarray(proj.coords))
            meta = {"params": proj.params.as_dict(), "quality": dict(proj.quality), "elapsed_s": proj.elapsed_s}
            stem.with_suffix(".json").write_text(json.dumps(meta))
            os.replace(f.name, stem.with_suffix(".npy"))
        except OSError:
            return
