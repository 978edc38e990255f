"""On-disk cache of vectors the app computes for its bundled samples (e.g. the 10,000 GloVe words
embedded with all-MiniLM-L6-v2, a few minutes on 2 CPU cores), so they are computed once per
machine: at install warm-up (``python -m viz_app.warmup``) or on first use.

Files are plain ``.npy`` written with ``np.save(..., allow_pickle=False)`` and read with
``allow_pickle=False``; a file whose shape, dtype or values are not what was asked for is
ignored and computed again. Default folder: ``$XDG_CACHE_HOME/embedding-lens/vectors`` (or
``~/.cache/...``); ``EMBEDDING_LENS_VECTOR_CACHE`` overrides it, and an empty value disables it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["cached_vectors", "content_key", "vector_cache_dir"]

log = logging.getLogger(__name__)


def vector_cache_dir() -> Path | None:
    """The cache folder, or None when ``EMBEDDING_LENS_VECTOR_CACHE`` is set to an empty string."""
    env = os.environ.get("EMBEDDING_LENS_VECTOR_CACHE")
    if env is not None:
        return Path(env) if env else None
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "embedding-lens" / "vectors"


def content_key(recipe: str, texts: Sequence[str]) -> str:
    """SHA-256 hex digest of a recipe (method, model, parameters) and the texts it is applied to.

    Parameters
    ----------
    recipe : str
        Everything besides the texts that defines the vectors, e.g. ``"minilm|all-MiniLM-L6-v2"``.
    texts : sequence of str

    Returns
    -------
    str
        64 hex characters.
    """
    h = hashlib.sha256()
    for part in (recipe, *texts):  # each part length-prefixed: no two lists of texts hash alike
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


def _read(path: Path, shape: tuple[int, int | None]) -> NDArray[np.float32] | None:
    try:
        v = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    ok = v.dtype == np.float32 and v.ndim == 2 and v.shape[0] == shape[0] and shape[1] in (None, v.shape[1])
    return v if ok and np.isfinite(v).all() else None


def cached_vectors(
    name: str,
    key: str,
    n_rows: int,
    compute: Callable[[], NDArray[np.float32]],
    *,
    n_features: int | None = None,
    folder: str | os.PathLike[str] | None = "default",
) -> NDArray[np.float32]:
    """Vectors read from ``<folder>/<name>-<key[:24]>.npy``, else computed and written there.

    Parameters
    ----------
    name : str
        File-name prefix (letters, digits, ``-``), e.g. ``"glove-minilm"``.
    key : str
        Content key (:func:`content_key`) of what defines the vectors.
    n_rows : int
        Rows the vectors must have; a cached file of another shape is ignored.
    compute : callable () -> ndarray of shape (n_rows, n_features)
        Called on a miss; its result is cast to float32.
    n_features : int or None
        Columns the vectors must have, when known in advance.
    folder : path-like or None, optional
        Default :func:`vector_cache_dir`; None disables the cache (always computes).

    Returns
    -------
    ndarray of shape (n_rows, n_features), dtype float32
        Read-only.
    """
    where = vector_cache_dir() if folder == "default" else (Path(folder) if folder else None)
    path = where / f"{name}-{key[:24]}.npy" if where is not None else None
    v = _read(path, (n_rows, n_features)) if path is not None else None
    if v is None:
        v = np.ascontiguousarray(compute(), dtype=np.float32)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npy", delete=False) as f:
                    np.save(f, v, allow_pickle=False)
                os.replace(f.name, path)
            except OSError as exc:  # an unwritable cache only costs a recomputation next time
                log.warning("vector cache not written (%s): %s", path, exc)
    v.setflags(write=False)
    return v
